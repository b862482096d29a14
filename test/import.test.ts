import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { text } from 'node:stream/consumers';
import zlib from 'node:zlib';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openTestContext, type TestContext } from './helpers/context.js';
import { testDatabases } from './helpers/databases.js';

function write(root: string, files: Record<string, string | Buffer>) {
  for (const [rel, content] of Object.entries(files)) {
    const file = path.join(root, rel);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, content);
  }
}

const sha256 = (data: string | Buffer) => createHash('sha256').update(data).digest('hex');

describe.each(testDatabases())('import on $name', (database) => {
  let ctx: TestContext;
  let src: string;

  beforeEach(async () => {
    ctx = await openTestContext(database);
    await ctx.services.admin.addProject({ slug: 'lab', name: 'Lab', modalities: ['cbct'] });
    src = path.join(ctx.dir, 'incoming');
  });
  afterEach(async () => {
    await ctx?.close();
  });

  const files = () =>
    ctx.database.db
      .selectFrom('files')
      .innerJoin('patients', 'patients.id', 'files.patient_id')
      .innerJoin('modalities', 'modalities.id', 'files.modality_id')
      .innerJoin('folders', 'folders.id', 'patients.folder_id')
      .select(['patients.name as patient', 'folders.path as folder', 'modalities.slug as modality', 'files.kind', 'files.subtype', 'files.original_name', 'files.size_bytes', 'files.sha256', 'files.crc32', 'files.storage', 'files.storage_key', 'files.media_type'])
      .orderBy('files.original_name')
      .execute();

  it('registers patients, folders, tags and files with their checksums, and copies the bytes', async () => {
    const volume = zlib.gzipSync(Buffer.alloc(5000, 7));
    write(src, {
      'Study A/Baseline/P-001/patient.json': JSON.stringify({ name: 'Zoë Ångström', code: 'P-001', tags: ['class-ii', 'consented'], visibility: 'private' }),
      'Study A/Baseline/P-001/cbct/raw/scan.nii.gz': volume,
      'Study A/Baseline/P-001/cbct/processed/seg.nii.gz': 'segmentation',
      'Study A/Baseline/P-001/ios/upper.stl': 'upper mesh',
      'Study A/Baseline/P-001/ios/lower.stl': 'lower mesh',
      'Study A/P 002/intraoral-photo/photo 1.jpg': 'jpeg bytes',
    });
    const report = await ctx.services.importer.importDirectory(src, { projectSlug: 'lab' });
    expect(report).toMatchObject({ patientsCreated: 2, patientsFound: 0, filesAdded: 5, filesUnchanged: 0, problems: [] });
    expect(report.bytesAdded).toBe(volume.length + 12 + 10 + 10 + 10);

    const rows = await files();
    const scan = rows.find((r) => r.original_name === 'scan.nii.gz')!;
    expect(scan).toMatchObject({
      patient: 'Zoë Ångström',
      folder: 'Study A/Baseline',
      modality: 'cbct',
      kind: 'raw',
      subtype: null,
      size_bytes: volume.length,
      sha256: sha256(volume),
      crc32: zlib.crc32(volume),
      storage: 'store',
      media_type: 'application/gzip',
    });
    expect(await text(await ctx.blobs.get(scan.storage_key)).then((t) => t.length)).toBeGreaterThan(0);
    const stored = Buffer.concat(await (await ctx.blobs.get(scan.storage_key)).toArray());
    expect(stored.equals(volume)).toBe(true);
    expect(rows.find((r) => r.original_name === 'seg.nii.gz')).toMatchObject({ kind: 'processed' });
    expect(rows.find((r) => r.original_name === 'upper.stl')).toMatchObject({ modality: 'ios', subtype: 'upper', media_type: 'model/stl' });
    expect(rows.find((r) => r.original_name === 'lower.stl')).toMatchObject({ subtype: 'lower' });
    expect(rows.find((r) => r.original_name === 'photo 1.jpg')).toMatchObject({ patient: 'P 002', folder: 'Study A', modality: 'intraoral-photo' });

    const patient = await ctx.database.db.selectFrom('patients').selectAll().where('code', '=', 'P-001').executeTakeFirstOrThrow();
    expect(patient.visibility).toBe('private');
    const tags = await ctx.database.db.selectFrom('patient_tags').innerJoin('tags', 'tags.id', 'patient_tags.tag_id').select('tags.name').where('patient_id', '=', patient.id).orderBy('tags.name').execute();
    expect(tags.map((t) => t.name)).toEqual(['class-ii', 'consented']);
    // Modalities found in the import are switched on for the project.
    const enabled = await ctx.database.db.selectFrom('project_modalities').innerJoin('modalities', 'modalities.id', 'project_modalities.modality_id').select('slug').execute();
    expect(enabled.map((m) => m.slug).sort()).toEqual(['cbct', 'intraoral-photo', 'ios']);
    expect((await ctx.services.repos.audit.recent({ action: 'import.completed' }))).toHaveLength(1);
  });

  it('adds nothing twice when run again, and reports a file that changed', async () => {
    write(src, { 'S/P1/cbct/a.nii': 'one', 'S/P1/cbct/b.nii': 'two', 'S/P2/patient.json': '{"code":"X-2"}', 'S/P2/cbct/c.nii': 'three' });
    await ctx.services.importer.importDirectory(src, { projectSlug: 'lab' });
    const keysBefore = [];
    for await (const k of ctx.blobs.list('files/')) keysBefore.push(k);

    fs.writeFileSync(path.join(src, 'S/P1/cbct/b.nii'), 'two, but longer now');
    write(src, { 'S/P1/cbct/new.nii': 'four' });
    const again = await ctx.services.importer.importDirectory(src, { projectSlug: 'lab' });
    expect(again).toMatchObject({ patientsCreated: 0, patientsFound: 2, filesAdded: 1, filesUnchanged: 2 });
    expect(again.problems).toEqual([{ path: 'S/P1/cbct/b.nii', message: expect.stringMatching(/differs from the file already registered/) }]);
    const rows = await files();
    expect(rows.map((r) => r.original_name)).toEqual(['a.nii', 'b.nii', 'c.nii', 'new.nii']);
    expect(rows.find((r) => r.original_name === 'b.nii')!.sha256).toBe(sha256('two'));
    const keysAfter = [];
    for await (const k of ctx.blobs.list('files/')) keysAfter.push(k);
    expect(keysAfter.length).toBe(keysBefore.length + 1);
    expect(await ctx.database.db.selectFrom('patients').select('id').execute()).toHaveLength(2);
  });

  it('registers files where they lie with --in-place, copying nothing', async () => {
    write(src, { 'S/P1/cbct/a.nii': 'volume bytes' });
    const report = await ctx.services.importer.importDirectory(src, { projectSlug: 'lab', inPlace: true });
    expect(report.filesAdded).toBe(1);
    const [row] = await files();
    expect(row).toMatchObject({ storage: 'inplace', storage_key: fs.realpathSync(path.join(src, 'S/P1/cbct/a.nii')), sha256: sha256('volume bytes') });
    const keys = [];
    for await (const k of ctx.blobs.list('')) keys.push(k);
    expect(keys).toEqual([]);
  });

  it('reports odd names, unknown modalities, links and bad metadata without stopping', async () => {
    write(src, {
      'S/Good/cbct/scan.nii': 'ok',
      'S/Good/mri/t1.nii': 'unknown modality',
      'S/Good/cbct/notes.txt': 'wrong type',
      'S/Bad\u0001Name/cbct/x.nii': 'control char in folder',
      'S/Good/cbct/we\u0007ird.nii': 'control char in file',
      'S/BadMeta/patient.json': '{"tags": "not a list"}',
      'S/BadMeta/cbct/x.nii': 'skipped with its patient',
      'S/../escape/cbct/x.nii': 'normalised by the OS: lands in S/../escape = escape',
    });
    fs.symlinkSync('/etc/passwd', path.join(src, 'S/Good/cbct/link.nii'));
    const report = await ctx.services.importer.importDirectory(src, { projectSlug: 'lab' });
    expect(report.filesAdded).toBe(2);
    const byPath = Object.fromEntries(report.problems.map((p) => [p.path, p.message]));
    expect(byPath['S/Good/mri']).toMatch(/not a known modality/);
    expect(byPath['S/Good/cbct/notes.txt']).toMatch(/not a CBCT file type/);
    expect(byPath['S/Bad\u0001Name']).toMatch(/control characters/);
    expect(byPath['S/Good/cbct/we\u0007ird.nii']).toMatch(/control/);
    expect(byPath['S/BadMeta/patient.json']).toMatch(/field "tags".*patient skipped/);
    expect(byPath['S/Good/cbct/link.nii']).toMatch(/symbolic link/);
    const rows = await files();
    expect(rows.map((r) => `${r.folder}|${r.patient}|${r.original_name}`).sort()).toEqual(['S|Good|scan.nii', 'incoming|escape|x.nii']);
    expect(await ctx.database.db.selectFrom('folders').select('path').orderBy('path').execute()).toEqual([{ path: 'S' }, { path: 'incoming' }]);
  });

  it('says clearly when the directory or project does not exist', async () => {
    await expect(ctx.services.importer.importDirectory(path.join(ctx.dir, 'missing'), { projectSlug: 'lab' })).rejects.toThrow(/does not exist/);
    write(src, { 'S/P1/cbct/a.nii': 'x' });
    await expect(ctx.services.importer.importDirectory(src, { projectSlug: 'nope' })).rejects.toThrow(/Project "nope" was not found/);
  });
});
