import { describe, expect, it } from 'vitest';
import {
  buildManifest,
  pseudonymMapping,
  pseudonymMappingCsv,
  sha256SumsText,
  type ExportCriteria,
  type ManifestInput,
  type ManifestPatientInput,
} from './manifest.js';
import { planZipLayout, type LayoutFile } from './zip-layout.js';

const sha = (c: string) => c.repeat(64);

const file = (fileId: string, over: Partial<LayoutFile>): LayoutFile => ({
  fileId,
  modality: 'cbct',
  subtype: null,
  kind: 'raw',
  originalName: 'scan.nii.gz',
  size: 1000,
  sha256: sha('a'),
  crc32: 7,
  ...over,
});

// Ids, codes and names distinctive enough that finding them in the JSON means a leak.
const PATIENTS: ManifestPatientInput[] = [
  { patientId: 'pat-7f3a9c', code: 'CODE-4471', name: 'Ingrid Bergstrom', sourceFolder: 'Trial North/Baseline', tags: ['class II', 'ortho'] },
  { patientId: 'pat-1b2d8e', code: null, name: 'Kwame Mensah', sourceFolder: 'Trial North/Follow-up', tags: [] },
  { patientId: 'pat-99e0aa', code: 'CODE-0032', name: 'Yuki Tanaka', sourceFolder: 'Trial South', tags: ['cleft'] },
];

const layout = planZipLayout({
  rootName: 'Trial export',
  patients: [
    {
      patientId: 'pat-7f3a9c',
      files: [
        file('file-01', { size: 5000 }),
        file('file-02', { modality: 'ios', subtype: 'upper', originalName: 'upper.stl', size: 300, sha256: sha('b') }),
        file('file-03', { kind: 'processed', originalName: 'seg.nii.gz', size: 200, sha256: sha('c') }),
      ],
    },
    { patientId: 'pat-1b2d8e', files: [file('file-04', { modality: 'ios', originalName: 'lower.ply', subtype: 'lower', size: 50, sha256: sha('d') })] },
    { patientId: 'pat-99e0aa', files: [file('file-05', { kind: 'processed', originalName: 'seg.nii.gz' })] },
  ],
  includeRaw: true,
  includeProcessed: false,
  compression: 'auto',
});

const criteria = (pseudonymize: boolean): ExportCriteria => ({
  selection: { folderIds: ['fold-c0ffee', 'fold-beef42'], patientIds: ['pat-7f3a9c'], excludePatientIds: ['pat-0dd0dd'], tags: ['ortho'], tagMode: 'any' },
  modalities: ['cbct', 'ios'],
  include: { raw: true, processed: false },
  options: { compression: 'auto', pseudonymize },
});

const input = (pseudonymize: boolean): ManifestInput => ({
  export: {
    id: 'exp-1',
    name: 'Trial export',
    notes: 'For the growth study',
    createdBy: { id: 'user-1', username: 'alice', displayName: 'Alice A.' },
    createdAt: '2025-10-20T14:30:22.000Z',
    completedAt: '2025-10-20T14:31:05.000Z',
    applicationVersion: '0.1.0',
  },
  criteria: criteria(pseudonymize),
  layout,
  patients: [...PATIENTS].reverse(),
  skippedPatients: [{ reason: '1 selected patient is no longer visible to you' }, { patientFolder: 'patient_003', reason: 'no files of the chosen kinds' }],
});

describe('buildManifest', () => {
  it('describes the export, the request, every patient and every file', () => {
    const manifest = buildManifest(input(false));
    expect(manifest).toEqual({
      formatVersion: 1,
      export: {
        id: 'exp-1',
        name: 'Trial export',
        notes: 'For the growth study',
        createdBy: { id: 'user-1', username: 'alice', displayName: 'Alice A.' },
        createdAt: '2025-10-20T14:30:22.000Z',
        completedAt: '2025-10-20T14:31:05.000Z',
        application: { name: 'Cohort', version: '0.1.0' },
      },
      criteria: criteria(false),
      summary: {
        patientCount: 3,
        fileCount: 3,
        totalBytes: 5350,
        modalities: [
          { slug: 'cbct', fileCount: 1, totalBytes: 5000 },
          { slug: 'ios', fileCount: 2, totalBytes: 350 },
        ],
        skippedPatients: [{ reason: '1 selected patient is no longer visible to you' }, { patientFolder: 'patient_003', reason: 'no files of the chosen kinds' }],
      },
      patients: [
        { folder: 'patient_001', id: 'pat-7f3a9c', code: 'CODE-4471', name: 'Ingrid Bergstrom', sourceFolder: 'Trial North/Baseline', tags: ['class II', 'ortho'], modalities: ['cbct', 'ios'] },
        { folder: 'patient_002', id: 'pat-1b2d8e', code: null, name: 'Kwame Mensah', sourceFolder: 'Trial North/Follow-up', tags: [], modalities: ['ios'] },
        { folder: 'patient_003', id: 'pat-99e0aa', code: 'CODE-0032', name: 'Yuki Tanaka', sourceFolder: 'Trial South', tags: ['cleft'], modalities: [] },
      ],
      files: [
        { path: 'patient_001/cbct/scan.nii.gz', patient: 'patient_001', modality: 'cbct', subtype: null, kind: 'raw', size: 5000, sha256: sha('a') },
        { path: 'patient_001/ios/upper.stl', patient: 'patient_001', modality: 'ios', subtype: 'upper', kind: 'raw', size: 300, sha256: sha('b') },
        { path: 'patient_002/ios/lower.ply', patient: 'patient_002', modality: 'ios', subtype: 'lower', kind: 'raw', size: 50, sha256: sha('d') },
      ],
    });
  });

  it('serialises with a stable key order', () => {
    const json = JSON.stringify(buildManifest(input(false)), null, 2);
    const keys = [...json.matchAll(/^ {2}"(\w+)":/gm)].map((m) => m[1]);
    expect(keys).toEqual(['formatVersion', 'export', 'criteria', 'summary', 'patients', 'files']);
    expect(json.indexOf('"folder"')).toBeLessThan(json.indexOf('"id": "pat-7f3a9c"'));
    expect(Object.keys(buildManifest(input(false)).patients[0]!)).toEqual(['folder', 'id', 'code', 'name', 'sourceFolder', 'tags', 'modalities']);
    expect(Object.keys(buildManifest(input(false)).files[0]!)).toEqual(['path', 'patient', 'modality', 'subtype', 'kind', 'size', 'sha256']);
    // Same input, same bytes: the manifest can be compared and checksummed.
    expect(JSON.stringify(buildManifest(input(false)), null, 2)).toBe(json);
  });

  it('leaves nothing in a pseudonymised manifest that points back to a patient record', () => {
    const manifest = buildManifest(input(true));
    const json = JSON.stringify(manifest, null, 2);
    const secrets = [
      ...PATIENTS.flatMap((p) => [p.patientId, p.code, p.name, p.sourceFolder, ...p.sourceFolder.split('/')]),
      ...criteria(true).selection.folderIds!,
      'pat-0dd0dd',
      ...layout.entries.map((e) => e.fileId),
      'patientIds',
      'folderIds',
      'excludePatientIds',
      'sourceFolder',
    ].filter((s): s is string => s !== null);
    for (const secret of secrets) expect(json).not.toContain(secret);

    expect(manifest.patients).toEqual([
      { folder: 'patient_001', tags: ['class II', 'ortho'], modalities: ['cbct', 'ios'] },
      { folder: 'patient_002', tags: [], modalities: ['ios'] },
      { folder: 'patient_003', tags: ['cleft'], modalities: [] },
    ]);
    expect(manifest.criteria).toEqual({
      selection: { folderCount: 2, patientCount: 1, excludedPatientCount: 1, tags: ['ortho'], tagMode: 'any' },
      modalities: ['cbct', 'ios'],
      include: { raw: true, processed: false },
      options: { compression: 'auto', pseudonymize: true },
    });
    // The export itself and its creator stay identifiable.
    expect(manifest.export.id).toBe('exp-1');
    expect(manifest.export.createdBy.username).toBe('alice');
    expect(manifest.files).toEqual(buildManifest(input(false)).files);
  });

  it('does not share arrays with its input', () => {
    const given = input(false);
    const manifest = buildManifest(given);
    given.criteria.selection.patientIds!.push('late');
    given.criteria.modalities.push('late');
    PATIENTS[0]!.tags.push('late');
    expect(JSON.stringify(manifest)).not.toContain('late');
    PATIENTS[0]!.tags.pop();
  });

  it.each([
    [
      'only what the request had, defaults filled in',
      { selection: { folderIds: ['f1'] }, modalities: [], include: { raw: true, processed: true } },
      { selection: { folderIds: ['f1'] }, modalities: [], include: { raw: true, processed: true }, options: { compression: 'auto', pseudonymize: false } },
    ],
    [
      'pseudonymised, counts for missing lists are 0',
      { selection: { patientIds: ['p1', 'p2'] }, modalities: ['cbct'], include: { raw: false, processed: true }, options: { pseudonymize: true } },
      {
        selection: { folderCount: 0, patientCount: 2, excludedPatientCount: 0 },
        modalities: ['cbct'],
        include: { raw: false, processed: true },
        options: { compression: 'auto', pseudonymize: true },
      },
    ],
  ] as Array<[string, ExportCriteria, unknown]>)('writes the criteria: %s', (_label, given, expected) => {
    const manifest = buildManifest({ ...input(false), criteria: given });
    expect(manifest.criteria).toEqual(expected);
    expect(Object.keys(manifest.criteria)).toEqual(['selection', 'modalities', 'include', 'options']);
  });

  it('ignores request fields that are not criteria', () => {
    const request = { name: 'Secret name', notes: 'n', ...criteria(false) };
    expect(JSON.stringify(buildManifest({ ...input(false), criteria: request }).criteria)).not.toContain('Secret name');
  });

  it('refuses a layout patient without details', () => {
    expect(() => buildManifest({ ...input(false), patients: PATIENTS.slice(1) })).toThrow(/pat-7f3a9c/);
  });
});

describe('pseudonymMapping / pseudonymMappingCsv', () => {
  it('maps each folder to its patient, in layout order', () => {
    expect(pseudonymMapping(layout, PATIENTS.slice().reverse())).toEqual([
      { folder: 'patient_001', patientId: 'pat-7f3a9c', code: 'CODE-4471', name: 'Ingrid Bergstrom' },
      { folder: 'patient_002', patientId: 'pat-1b2d8e', code: null, name: 'Kwame Mensah' },
      { folder: 'patient_003', patientId: 'pat-99e0aa', code: 'CODE-0032', name: 'Yuki Tanaka' },
    ]);
  });

  it('writes RFC 4180 CSV', () => {
    const csv = pseudonymMappingCsv([
      { folder: 'patient_001', patientId: 'p1', code: 'C-1', name: 'Plain Name' },
      { folder: 'patient_002', patientId: 'p2', code: null, name: 'Doe, Jane' },
      { folder: 'patient_003', patientId: 'p3', code: 'say "hi"', name: 'Two\nLines' },
      { folder: 'patient_004', patientId: 'p4', code: 'CR\r', name: 'Zoë 李' },
    ]);
    expect(csv).toBe(
      'folder,patient_id,code,name\r\n' +
        'patient_001,p1,C-1,Plain Name\r\n' +
        'patient_002,p2,,"Doe, Jane"\r\n' +
        'patient_003,p3,"say ""hi""","Two\nLines"\r\n' +
        'patient_004,p4,"CR\r",Zoë 李\r\n',
    );
    expect(pseudonymMappingCsv([])).toBe('folder,patient_id,code,name\r\n');
  });
});

describe('sha256SumsText', () => {
  it('writes one coreutils line per file', () => {
    expect(
      sha256SumsText([
        { relativePath: 'patient_001/cbct/scan.nii.gz', sha256: sha('a') },
        { relativePath: 'patient_001/ios/upper jaw 上.stl', sha256: sha('B') },
      ]),
    ).toBe(`${sha('a')}  patient_001/cbct/scan.nii.gz\n${sha('b')}  patient_001/ios/upper jaw 上.stl\n`);
    expect(sha256SumsText([])).toBe('');
  });

  it.each([
    ['a\\b', `\\${sha('a')}  a\\\\b\n`],
    ['a\nb', `\\${sha('a')}  a\\nb\n`],
    ['a\rb', `\\${sha('a')}  a\\rb\n`],
    ['a\\n', `\\${sha('a')}  a\\\\n\n`],
  ])('escapes %j the way coreutils does', (relativePath, line) => {
    expect(sha256SumsText([{ relativePath, sha256: sha('a') }])).toBe(line);
  });

  it.each(['', 'abc', sha('g'), `${sha('a')}0`])('refuses the digest %j', (sha256) => {
    expect(() => sha256SumsText([{ relativePath: 'x', sha256 }])).toThrow(/SHA-256/);
  });
});
