import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ExportWorker } from '../../src/jobs/export-worker.js';
import { makeBinaryStl, makeJpegPhoto, makeNiftiVolume } from '../../src/services/demo/sample-files.js';
import { openTestApp, openTestContext, login, type TestContext } from '../helpers/context.js';
import { testDatabases } from '../helpers/databases.js';
import { addFile, startWorker, waitForStatus } from '../helpers/exports.js';
import { PASSWORD, seedWorld, type World } from '../helpers/world.js';
import { sha256sumCheck, unpack, verifyZipWithTools } from '../helpers/zip-tools.js';

const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');

describe.each(testDatabases())('export from request to download on $name', (database) => {
  let ctx: TestContext;
  let app: FastifyInstance;
  let world: World;
  let worker: ExportWorker;
  let alice: { cookie: string; csrf: string };
  const contents = new Map<string, Buffer>();

  beforeAll(async () => {
    ctx = await openTestContext(database);
    world = await seedWorld(ctx.services);
    const files: Array<[string, string, 'raw' | 'processed', string, Buffer, string | null]> = [
      ['base1', 'cbct', 'raw', 'scan.nii.gz', makeNiftiVolume({ seed: 1 }), null],
      ['base1', 'cbct', 'processed', 'scan.nii.gz', makeNiftiVolume({ seed: 2, dims: [16, 16, 8] }), null],
      ['base1', 'ios', 'raw', 'upper.stl', makeBinaryStl({ seed: 1, arch: 'upper' }), 'upper'],
      ['base1', 'ios', 'raw', 'lower.stl', makeBinaryStl({ seed: 1, arch: 'lower' }), 'lower'],
      ['base2', 'intraoral-photo', 'raw', 'photo 1.jpg', makeJpegPhoto({ seed: 3 }), null],
      ['base2', 'intraoral-photo', 'raw', 'Photo 1.JPG', makeJpegPhoto({ seed: 4 }), null],
      ['base2', 'cbct', 'raw', '../../etc/passwd', Buffer.from('a name that tries to escape'), null],
      ['a1', 'cbct', 'raw', 'Zoë 写真 scan.nii', Buffer.alloc(70_000, 3), null],
      ['follow1', 'cbct', 'raw', 'empty.nii', Buffer.alloc(0), null],
    ];
    for (const [patient, modality, kind, name, content, subtype] of files) {
      await addFile(ctx.services, ctx.blobs, { patientId: world.patients[patient]!, modality, kind, name, content, subtype });
      contents.set(`${patient}/${modality}/${kind}/${name}`, content);
    }
    app = await openTestApp(ctx);
    alice = await login(app, 'alice', PASSWORD);
    worker = startWorker(ctx.services, ctx.blobs, ctx.queue);
    await worker.start();
  });
  afterAll(async () => {
    await worker?.stop();
    await app?.close();
    await ctx?.close();
  });

  const post = (url: string, payload: unknown) => app.inject({ method: 'POST', url, payload: payload as object, headers: { cookie: alice.cookie, 'x-csrf-token': alice.csrf } });
  const get = (url: string, headers: Record<string, string> = {}) => app.inject({ method: 'GET', url, headers: { cookie: alice.cookie, ...headers } });

  it('builds a ZIP that every reader opens, whose metadata and SHA256SUMS match the files', async () => {
    const estimate = await post('/api/alpha/exports/estimate', {
      selection: { folderIds: [world.folders.studyA.id], excludePatientIds: [world.patients.follow1] },
      modalities: ['cbct', 'ios', 'intraoral-photo'],
      include: { raw: true, processed: true },
    });
    expect(estimate.statusCode, estimate.body).toBe(200);
    // Study A minus follow1: a1, base1, base2, baseDebug, basePrivateBob (alice is admin and sees all);
    // only the first three have files, so only they are exported.
    expect(estimate.json()).toMatchObject({ selectedPatientCount: 5, patientCount: 3, fileCount: 8 });

    const created = await post('/api/alpha/exports/create/', {
      name: 'Baseline CBCT + IOS',
      notes: 'for the segmentation study',
      selection: { folderIds: [world.folders.studyA.id], excludePatientIds: [world.patients.follow1] },
      modalities: ['cbct', 'ios', 'intraoral-photo'],
      include: { raw: true, processed: true },
    });
    expect(created.statusCode, created.body).toBe(202);
    const body = created.json();
    expect(body).toMatchObject({ status: 'pending', patientCount: 3, fileCount: 8, totalBytes: estimate.json().totalBytes });

    await waitForStatus(ctx.services, body.id, ['completed', 'failed']);
    const record = (await get(`/api/alpha/exports/${body.id}`)).json();
    expect(record.errorMessage).toBeNull();
    expect(record).toMatchObject({ status: 'completed', progress: { percent: 100, filesDone: 8, filesTotal: 8 }, zipSha256: expect.stringMatching(/^[0-9a-f]{64}$/) });

    const download = await get(`/api/alpha/exports/${body.id}/download`);
    expect(download.statusCode).toBe(200);
    expect(download.headers['content-type']).toBe('application/zip');
    expect(download.headers['content-disposition']).toContain('attachment; filename="Baseline CBCT + IOS.zip"');
    expect(download.headers.etag).toBe(`"${record.zipSha256}"`);
    const zipBytes = download.rawPayload;
    expect(zipBytes.length).toBe(record.zipSize);
    expect(sha256(zipBytes)).toBe(record.zipSha256);

    const zipFile = path.join(ctx.dir, 'download.zip');
    fs.writeFileSync(zipFile, zipBytes);
    const { names } = await verifyZipWithTools(zipFile);
    const root = 'Baseline CBCT + IOS';
    expect(names.every((n) => n.startsWith(`${root}/`) && !n.split('/').includes('..'))).toBe(true);
    expect(names).toContain(`${root}/metadata.json`);
    expect(names).toContain(`${root}/SHA256SUMS`);

    const out = path.join(ctx.dir, 'unpacked');
    await unpack(zipFile, out);
    const exportDir = path.join(out, root);
    expect(await sha256sumCheck(exportDir)).not.toMatch(/FAILED/);

    const metadata = JSON.parse(fs.readFileSync(path.join(exportDir, 'metadata.json'), 'utf8'));
    expect(metadata.export).toMatchObject({ id: body.id, name: root, notes: 'for the segmentation study' });
    expect(metadata.summary).toMatchObject({ patientCount: 3, fileCount: 8 });
    expect(metadata.patients.map((p: { folder: string; name: string }) => `${p.folder} ${p.name}`)).toEqual(['patient_001 a1', 'patient_002 base1', 'patient_003 base2']);
    expect(metadata.files).toHaveLength(8);
    for (const file of metadata.files) {
      const bytes = fs.readFileSync(path.join(exportDir, file.path));
      expect(sha256(bytes)).toBe(file.sha256);
      expect(bytes.length).toBe(file.size);
    }
    // Both kinds included: raw/ and processed/ folders; same name in both stays apart.
    const base1 = metadata.patients.find((p: { name: string }) => p.name === 'base1');
    expect(fs.readFileSync(path.join(exportDir, base1.folder, 'cbct/raw/scan.nii.gz')).equals(contents.get('base1/cbct/raw/scan.nii.gz')!)).toBe(true);
    expect(fs.readFileSync(path.join(exportDir, base1.folder, 'cbct/processed/scan.nii.gz')).equals(contents.get('base1/cbct/processed/scan.nii.gz')!)).toBe(true);
    expect(fs.existsSync(path.join(exportDir, base1.folder, 'ios/raw/upper.stl'))).toBe(true);
    // Names that collide case-insensitively and names that try to escape stay inside, apart.
    const base2 = metadata.patients.find((p: { name: string }) => p.name === 'base2');
    const photos = fs.readdirSync(path.join(exportDir, base2.folder, 'intraoral-photo/raw')).sort();
    expect(photos).toHaveLength(2);
    expect(new Set(photos.map((p) => p.toLowerCase())).size).toBe(2);
    const escaped = fs.readdirSync(path.join(exportDir, base2.folder, 'cbct/raw'));
    expect(escaped).toHaveLength(1);
    expect(escaped[0]).not.toContain('/');
    expect(fs.existsSync(path.join(out, 'etc'))).toBe(false);
    const a1 = metadata.patients.find((p: { name: string }) => p.name === 'a1');
    expect(fs.readdirSync(path.join(exportDir, a1.folder, 'cbct/raw'))).toEqual(['Zoë 写真 scan.nii']);

    const audit = await ctx.services.repos.audit.recent({ action: 'export.downloaded' });
    expect(audit.length).toBeGreaterThanOrEqual(1);
  });

  it('resumes a broken download with Range and If-Range', async () => {
    const created = await post('/api/alpha/exports/create/', {
      selection: { patientIds: [world.patients.base1] },
      modalities: ['cbct'],
      include: { raw: true, processed: false },
      options: { compression: 'store' },
    });
    expect(created.statusCode, created.body).toBe(202);
    const { id } = created.json();
    await waitForStatus(ctx.services, id, ['completed']);
    const whole = (await get(`/api/alpha/exports/${id}/download`)).rawPayload;
    const etag = `"${sha256(whole)}"`;

    const tail = await get(`/api/alpha/exports/${id}/download`, { range: 'bytes=1000-', 'if-range': etag });
    expect(tail.statusCode).toBe(206);
    expect(tail.headers['content-range']).toBe(`bytes 1000-${whole.length - 1}/${whole.length}`);
    expect(Buffer.concat([whole.subarray(0, 1000), tail.rawPayload]).equals(whole)).toBe(true);

    const middle = await get(`/api/alpha/exports/${id}/download`, { range: 'bytes=10-19' });
    expect(middle.rawPayload.equals(whole.subarray(10, 20))).toBe(true);
    const suffix = await get(`/api/alpha/exports/${id}/download`, { range: 'bytes=-5' });
    expect(suffix.rawPayload.equals(whole.subarray(whole.length - 5))).toBe(true);

    const stale = await get(`/api/alpha/exports/${id}/download`, { range: 'bytes=1000-', 'if-range': '"something else"' });
    expect(stale.statusCode).toBe(200);
    expect(stale.rawPayload.length).toBe(whole.length);

    const beyond = await get(`/api/alpha/exports/${id}/download`, { range: `bytes=${whole.length}-` });
    expect(beyond.statusCode).toBe(416);
  });
});
