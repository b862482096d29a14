import { describe, expect, it } from 'vitest';
import { fileExtension, mediaTypeFor, parsePatientMetadata, planImport, type ImportEntry, type ModalityRule } from './import-layout.js';

const MODALITIES: ModalityRule[] = [
  { slug: 'cbct', name: 'CBCT', subtypes: [], extensions: ['nii.gz', 'nii', 'dcm'] },
  { slug: 'ios', name: 'Intraoral scan', subtypes: ['upper', 'lower'], extensions: ['stl', 'ply'] },
  { slug: 'intraoral-photo', name: 'Intraoral photo', subtypes: [], extensions: ['jpg', 'png'] },
];

/** Builds entries from file paths, adding their directories as a walk would. */
function tree(files: string[], extra: ImportEntry[] = []): ImportEntry[] {
  const dirs = new Set<string>();
  for (const f of files) {
    const parts = f.split('/');
    for (let i = 1; i < parts.length; i++) dirs.add(parts.slice(0, i).join('/'));
  }
  return [...[...dirs].map((path) => ({ path, type: 'dir' as const })), ...files.map((path) => ({ path, type: 'file' as const })), ...extra];
}

describe('planImport', () => {
  it('finds patients, folders, kinds and subtypes', () => {
    const plan = planImport(
      tree([
        'Study A/Baseline/P1/patient.json',
        'Study A/Baseline/P1/cbct/raw/scan.nii.gz',
        'Study A/Baseline/P1/cbct/processed/seg.nii.gz',
        'Study A/Baseline/P1/ios/upper.stl',
        'Study A/Baseline/P1/ios/Lower_jaw.PLY',
        'Study A/Baseline/P1/ios/bite.stl',
        'Study A/P2/intraoral-photo/photo 1.jpg',
      ]),
      MODALITIES,
      'import',
    );
    expect(plan.problems).toEqual([]);
    expect(plan.patients).toHaveLength(2);
    const [p1, p2] = plan.patients;
    expect(p1).toMatchObject({ dirPath: 'Study A/Baseline/P1', dirName: 'P1', folderNames: ['Study A', 'Baseline'], metadataPath: 'Study A/Baseline/P1/patient.json' });
    expect(p1!.files.map((f) => [f.originalName, f.modality, f.kind, f.subtype])).toEqual([
      ['seg.nii.gz', 'cbct', 'processed', null],
      ['scan.nii.gz', 'cbct', 'raw', null],
      ['Lower_jaw.PLY', 'ios', 'raw', 'lower'],
      ['bite.stl', 'ios', 'raw', null],
      ['upper.stl', 'ios', 'raw', 'upper'],
    ]);
    expect(p2).toMatchObject({ dirName: 'P2', folderNames: ['Study A'], metadataPath: null });
    expect(p2!.files[0]).toMatchObject({ originalName: 'photo 1.jpg', modality: 'intraoral-photo', kind: 'raw' });
  });

  it('puts top-level patients in a folder named after the imported directory', () => {
    const plan = planImport(tree(['P1/cbct/a.nii']), MODALITIES, 'Batch 7');
    expect(plan.patients[0]).toMatchObject({ dirName: 'P1', folderNames: ['Batch 7'] });
  });

  it('keeps unicode and spaces in names', () => {
    const plan = planImport(tree(['Étude São Paulo/Zoë Ångström/cbct/scan 01.nii.gz']), MODALITIES, 'root');
    expect(plan.problems).toEqual([]);
    expect(plan.patients[0]).toMatchObject({ dirName: 'Zoë Ångström', folderNames: ['Étude São Paulo'] });
    expect(plan.patients[0]!.files[0]!.originalName).toBe('scan 01.nii.gz');
  });

  it('reports what does not fit instead of guessing', () => {
    const plan = planImport(
      tree([
        'S/P1/cbct/scan.nii.gz',
        'S/P1/mri/t1.nii',
        'S/P1/notes.txt',
        'S/P1/cbct/readme.txt',
        'S/P1/cbct/series/IM1.dcm',
        'S/loose.txt',
        'S/P1/cbct/bad\u0001name.nii',
      ]),
      MODALITIES,
      'root',
    );
    const messages = Object.fromEntries(plan.problems.map((p) => [p.path, p.message]));
    expect(messages['S/P1/mri']).toMatch(/not a known modality/);
    expect(messages['S/P1/notes.txt']).toMatch(/loose file in a patient directory/);
    expect(messages['S/P1/cbct/readme.txt']).toMatch(/not a CBCT file type/);
    expect(messages['S/P1/cbct/series']).toMatch(/nested directories/);
    expect(messages['S/loose.txt']).toMatch(/not inside a patient directory/);
    expect(messages['S/P1/cbct/bad\u0001name.nii']).toMatch(/control/);
    expect(plan.patients[0]!.files.map((f) => f.originalName)).toEqual(['scan.nii.gz']);
  });

  it('ignores hidden and system files, and does not follow links', () => {
    const plan = planImport(
      tree(['S/P1/cbct/scan.nii', 'S/P1/cbct/.DS_Store', 'S/.git/config', 'S/P1/cbct/Thumbs.db'], [{ path: 'S/P1/cbct/link.nii', type: 'symlink' }]),
      MODALITIES,
      'root',
    );
    expect(plan.ignored).toBe(3);
    expect(plan.problems).toEqual([{ path: 'S/P1/cbct/link.nii', message: 'is a symbolic link; not followed' }]);
  });

  it('refuses nested patients and folder names that could not be stored', () => {
    const plan = planImport(tree(['S/P1/cbct/a.nii', 'S/P1/P2/cbct/b.nii', ' Lead space/P3/cbct/c.nii']), MODALITIES, 'root');
    expect(plan.patients.map((p) => p.dirPath)).toEqual(['S/P1']);
    expect(plan.problems.map((p) => p.path).sort()).toEqual([' Lead space/P3', 'S/P1/P2'].sort());
  });

  it('never lets a path component become ".." in a folder or patient', () => {
    // A walk never yields "..", but a crafted entry list must still not produce one.
    const plan = planImport(tree(['../x/P1/cbct/a.nii']), MODALITIES, 'root');
    expect(plan.patients).toEqual([]);
    expect(plan.problems[0]!.message).toMatch(/must not be "\." or "\.\."/);
  });
});

describe('fileExtension and mediaTypeFor', () => {
  it.each([
    ['scan.nii.gz', 'nii.gz', 'application/gzip'],
    ['SCAN.NII', 'nii', 'application/octet-stream'],
    ['upper.stl', 'stl', 'model/stl'],
    ['photo.JPG', 'jpg', 'image/jpeg'],
    ['noext', '', 'application/octet-stream'],
    ['.hidden', '', 'application/octet-stream'],
  ])('%s', (name, ext, media) => {
    expect(fileExtension(name)).toBe(ext);
    expect(mediaTypeFor(name)).toBe(media);
  });
});

describe('parsePatientMetadata', () => {
  it('reads name, code, tags and visibility', () => {
    expect(parsePatientMetadata('{"name":" Ana ","code":"P-1","tags":["a","a","b"],"visibility":"private"}')).toEqual({
      ok: true,
      value: { name: 'Ana', code: 'P-1', tags: ['a', 'b'], visibility: 'private' },
    });
    expect(parsePatientMetadata('{}')).toEqual({ ok: true, value: { tags: [] } });
  });
  it.each([
    ['not json', 'is not valid JSON'],
    ['[]', 'must be a JSON object'],
    ['{"name": 5}', 'field "name"'],
    ['{"code": ""}', 'field "code"'],
    ['{"tags": "a"}', 'field "tags"'],
    ['{"visibility": "secret"}', 'field "visibility"'],
  ])('rejects %s', (text, message) => {
    const result = parsePatientMetadata(text);
    expect(result.ok).toBe(false);
    expect(!result.ok && result.message).toContain(message);
  });
});
