import { describe, expect, it } from 'vitest';
import {
  MAX_SEGMENT_BYTES,
  assertSafeZipPath,
  defaultExportName,
  exportNameProblem,
  pathKey,
  planZipLayout,
  sanitizePathSegment,
  shouldCompress,
  splitExtension,
  zipPathProblem,
  type LayoutFile,
  type LayoutPatient,
  type ZipLayout,
  type ZipLayoutInput,
} from './zip-layout.js';

const bytes = (s: string) => Buffer.byteLength(s, 'utf8');

describe('defaultExportName', () => {
  it.each([
    ['2025-10-20T14:30:22Z', 'export_2025-10-20_143022'],
    ['2025-01-02T03:04:05.999Z', 'export_2025-01-02_030405'],
    // UTC, not the server's zone: 23:30 at -05:00 is the next day in UTC.
    ['2025-12-31T23:30:00-05:00', 'export_2026-01-01_043000'],
  ])('%s', (at, name) => {
    expect(defaultExportName(new Date(at))).toBe(name);
    expect(exportNameProblem(name)).toBeNull();
  });

  it('refuses an invalid date', () => {
    expect(() => defaultExportName(new Date('nope'))).toThrow(RangeError);
  });
});

describe('exportNameProblem', () => {
  it.each([
    'Study A baseline',
    '  trimmed  ',
    'Étude São Paulo (2025)',
    '研究_エクスポート-1',
    'a.b',
    'x'.repeat(100),
    '🦷'.repeat(100),
  ])('accepts %j', (name) => {
    expect(exportNameProblem(name)).toBeNull();
  });

  it.each([
    ['', 'must not be empty'],
    ['   ', 'must not be empty'],
    ['x'.repeat(101), 'must be at most 100 characters'],
    ['.', 'must not be "." or ".."'],
    ['..', 'must not be "." or ".."'],
    ['.hidden', 'must not start with "."'],
    ['a/b', 'must not contain "/"'],
    ['a\\b', 'must not contain "\\"'],
    ['C:', 'must not contain ":"'],
    ['a*', 'must not contain "*"'],
    ['a?', 'must not contain "?"'],
    ['a"b', `must not contain '"'`],
    ['<a>', 'must not contain "<"'],
    ['a|b', 'must not contain "|"'],
    ['a\tb', 'must not contain control characters'],
    ['a\u0085b', 'must not contain control characters'],
    ['a\u202eb', 'must not contain text-direction control characters'],
    ['a\ud800b', 'must not contain invalid characters'],
    ['study.', 'must not end with "."'],
    ['CON', 'is a reserved name on Windows'],
    ['lpt1.zip', 'is a reserved name on Windows'],
  ])('rejects %j: %s', (name, problem) => {
    expect(exportNameProblem(name)).toBe(problem);
  });

  it('accepts only names that become the root folder as typed', () => {
    for (const name of ['Study A baseline', 'Étude (2025)', 'a.b', 'x'.repeat(100), 'CONSOLE']) {
      expect(exportNameProblem(name)).toBeNull();
      expect(sanitizePathSegment(name, 'export')).toBe(name);
    }
  });
});

describe('sanitizePathSegment', () => {
  const nfd = 'Zoe\u0308 A\u030angstro\u0308m.stl';
  const nfc = 'Zoë Ångström.stl';

  it.each([
    ['plain', 'scan.nii.gz', 'scan.nii.gz'],
    ['parent traversal', '../x', '.._x'],
    ['separator', 'a/b', 'a_b'],
    ['backslash traversal', '..\\..\\evil.exe', '.._.._evil.exe'],
    ['dot', '.', 'file'],
    ['dot dot', '..', 'file'],
    ['empty', '', 'file'],
    ['only spaces', '   ', 'file'],
    ['only dots and spaces', '. . .', 'file'],
    ['only control characters', '\u0000\u0001', 'file'],
    ['Windows device', 'CON', 'CON_'],
    ['Windows device, lower case with extension', 'con.txt', 'con_.txt'],
    ['Windows device with double extension', 'nul.tar.gz', 'nul_.tar.gz'],
    ['Windows device, spaces before the dot', 'aux .dcm', 'aux_ .dcm'],
    ['Windows device COM9', 'Com9.stl', 'Com9_.stl'],
    ['Windows device LPT1', 'lpt1', 'lpt1_'],
    ['not a device', 'CONSOLE.txt', 'CONSOLE.txt'],
    ['not a device either', 'com10', 'com10'],
    ['reserved characters', 'a:b*c?d"e<f>g|h', 'a_b_c_d_e_f_g_h'],
    ['drive letter', 'C:\\Windows', 'C__Windows'],
    ['C0 control characters', 'sc\u0000an\n\r\t.nii', 'scan.nii'],
    ['DEL and C1', 'a\u007fb\u0085c\u009f.stl', 'abc.stl'],
    ['RTL override', 'invoice\u202egpj.exe', 'invoicegpj.exe'],
    ['bidi isolates', '\u2066a\u2067b\u2068c\u2069.png', 'abc.png'],
    ['trailing dots and spaces', 'scan.nii.  . ', 'scan.nii'],
    ['leading and trailing spaces', '  scan 01.stl  ', 'scan 01.stl'],
    ['hidden file keeps its dot', '.hidden', '.hidden'],
    ['emoji kept', '🦷 upper jaw 😀.stl', '🦷 upper jaw 😀.stl'],
    ['CJK kept', '上顎スキャン.ply', '上顎スキャン.ply'],
    ['RTL script kept', 'صورة.jpg', 'صورة.jpg'],
    ['decomposed becomes composed', nfd, nfc],
    ['lone surrogate', 'a\ud800.stl', 'a_.stl'],
  ])('%s: %j → %j', (_label, name, expected) => {
    const result = sanitizePathSegment(name, 'file');
    expect(result).toBe(expected);
    expect(zipPathProblem(result)).toBeNull();
  });

  it('gives NFC and NFD spellings the same name', () => {
    expect(sanitizePathSegment(nfd, 'file')).toBe(sanitizePathSegment(nfc, 'file'));
    expect(pathKey(nfd)).toBe(pathKey(nfc.toUpperCase()));
  });

  it('uses the fallback when nothing is left, and refuses an unusable fallback', () => {
    expect(sanitizePathSegment('..', 'export')).toBe('export');
    expect(() => sanitizePathSegment('..', '..')).toThrow(/fallback/);
  });

  it.each([
    ['ASCII with .nii.gz', `${'a'.repeat(300)}.nii.gz`, '.nii.gz'],
    ['CJK with .nii.gz', `${'頭'.repeat(100)}.nii.gz`, '.nii.gz'],
    ['emoji with .stl', `${'👨‍👩‍👧'.repeat(30)}.stl`, '.stl'],
    ['combining marks with .tar.gz', `${'e\u0301'.repeat(150)}.tar.gz`, '.tar.gz'],
    ['no extension', 'b'.repeat(400), ''],
  ])('shortens a long name to %s bytes keeping the extension: %s', (_label, name, ext) => {
    const result = sanitizePathSegment(name, 'file');
    expect(bytes(result)).toBeLessThanOrEqual(MAX_SEGMENT_BYTES);
    expect(bytes(result)).toBeGreaterThan(MAX_SEGMENT_BYTES - 20);
    expect(result.endsWith(ext)).toBe(true);
    expect(result).not.toContain('\ufffd');
    // Cut between characters as a reader sees them: what is left is a start of the original stem.
    const stem = result.slice(0, result.length - ext.length);
    expect(name.normalize('NFC').startsWith(stem)).toBe(true);
    expect(stem.endsWith('\u200d')).toBe(false);
    expect(zipPathProblem(result)).toBeNull();
  });

  it('does not leave a trailing dot or space after shortening', () => {
    const result = sanitizePathSegment(`${'a'.repeat(199)}. b`, 'file');
    expect(result).toBe('a'.repeat(199));
  });

  it('is idempotent', () => {
    for (const name of ['../x', 'CON', ' a. ', `${'頭'.repeat(100)}.nii.gz`, nfd, 'x\u202ey']) {
      const once = sanitizePathSegment(name, 'file');
      expect(sanitizePathSegment(once, 'file')).toBe(once);
    }
  });
});

describe('splitExtension', () => {
  it.each([
    ['scan.nii.gz', 'scan', '.nii.gz'],
    ['SCAN.NII.GZ', 'SCAN', '.NII.GZ'],
    ['archive.tar.gz', 'archive', '.tar.gz'],
    ['photo.jpg', 'photo', '.jpg'],
    ['a.b.c', 'a.b', '.c'],
    ['noext', 'noext', ''],
    ['.hidden', '.hidden', ''],
    ['report v1.0 final', 'report v1.0 final', ''],
    ['data.gz', 'data', '.gz'],
  ])('%s', (name, stem, ext) => {
    expect(splitExtension(name)).toEqual([stem, ext]);
  });
});

describe('zipPathProblem / assertSafeZipPath', () => {
  it.each([
    ['export/patient_001/cbct/scan.nii.gz', null],
    ['export/patient_001/ios/上顎.stl', null],
    ['', 'is empty'],
    ['/etc/passwd', 'must be relative'],
    ['a\\b', 'must use "/" as the separator'],
    ['C:/x', 'must not start with a drive letter'],
    ['a//b', 'must not contain empty segments'],
    ['a/b/', 'must not contain empty segments'],
    ['a/../b', 'must not contain ".." segments'],
    ['./a', 'must not contain "." segments'],
    ['a/CON/b', 'has an unsafe segment "CON"'],
    ['a/b./c', 'has an unsafe segment "b."'],
    ['a/x\u202ey', 'has an unsafe segment "x\u202ey"'],
    ['a/x\u0000', 'has an unsafe segment "x\\u0000"'],
    ['a/Zoe\u0308', 'has an unsafe segment "Zoe\u0308"'],
    [`a/${'x'.repeat(201)}`, `has an unsafe segment "${'x'.repeat(201)}"`],
  ])('%j', (path, problem) => {
    expect(zipPathProblem(path)).toBe(problem);
    if (problem) expect(() => assertSafeZipPath(path)).toThrow(/Unsafe ZIP path/);
    else expect(() => assertSafeZipPath(path)).not.toThrow();
  });
});

describe('shouldCompress', () => {
  it.each([
    ['scan.nii.gz', false],
    ['SCAN.NII.GZ', false],
    ['scan.nii', true],
    ['IM0001.dcm', true],
    ['upper.stl', true],
    ['lower.PLY', true],
    ['mesh.obj', true],
    ['notes.txt', true],
    ['data.json', true],
    ['report.pdf', true],
    ['photo.JPG', false],
    ['photo.jpeg', false],
    ['photo.png', false],
    ['photo.heic', false],
    ['photo.webp', false],
    ['volume.jp2', false],
    ['series.zip', false],
    ['series.7z', false],
    ['clip.mp4', false],
    ['clip.mov', false],
    ['archive.tar.zst', false],
    ['archive.tar.xz', false],
    ['noext', true],
  ])('auto: %s → %s', (name, compress) => {
    expect(shouldCompress(name, 'auto')).toBe(compress);
    expect(shouldCompress(name, 'store')).toBe(false);
    expect(shouldCompress(name, 'deflate')).toBe(true);
  });
});

// -- planZipLayout ------------------------------------------------------------------------------

let nextId = 0;
const file = (originalName: string, over: Partial<LayoutFile> = {}): LayoutFile => ({
  fileId: `f${++nextId}`,
  modality: 'cbct',
  subtype: null,
  kind: 'raw',
  originalName,
  size: 100,
  sha256: 'a'.repeat(64),
  crc32: 1,
  ...over,
});

const layoutOf = (patients: LayoutPatient[], over: Partial<ZipLayoutInput> = {}): ZipLayout =>
  planZipLayout({ rootName: 'My export', patients, includeRaw: true, includeProcessed: true, compression: 'auto', ...over });

const paths = (layout: ZipLayout) => layout.entries.map((e) => e.relativePath);

function checkInvariants(layout: ZipLayout): void {
  const keys = new Set<string>(['metadata.json', 'sha256sums'].map((f) => pathKey(`${layout.root}/${f}`)));
  for (const entry of layout.entries) {
    expect(zipPathProblem(entry.path)).toBeNull();
    expect(entry.path).toBe(`${layout.root}/${entry.relativePath}`);
    expect(entry.relativePath.startsWith(`${entry.patientFolder}/`)).toBe(true);
    expect(keys.has(pathKey(entry.path))).toBe(false);
    keys.add(pathKey(entry.path));
  }
}

describe('planZipLayout', () => {
  const mixed = (): LayoutPatient => ({
    patientId: 'p-anna',
    files: [
      file('scan.nii.gz', { fileId: 'a1' }),
      file('seg.nii.gz', { fileId: 'a2', kind: 'processed' }),
      file('upper.stl', { fileId: 'a3', modality: 'ios', subtype: 'upper' }),
      file('upper_aligned.stl', { fileId: 'a4', modality: 'ios', subtype: 'upper', kind: 'processed' }),
    ],
  });

  it.each([
    ['only raw', true, false, ['patient_001/cbct/scan.nii.gz', 'patient_001/ios/upper.stl']],
    ['only processed', false, true, ['patient_001/cbct/seg.nii.gz', 'patient_001/ios/upper_aligned.stl']],
    [
      'both',
      true,
      true,
      ['patient_001/cbct/raw/scan.nii.gz', 'patient_001/cbct/processed/seg.nii.gz', 'patient_001/ios/raw/upper.stl', 'patient_001/ios/processed/upper_aligned.stl'],
    ],
    ['neither', false, false, []],
  ])('%s', (_label, includeRaw, includeProcessed, expected) => {
    const layout = layoutOf([mixed()], { includeRaw, includeProcessed });
    expect(paths(layout)).toEqual(expected);
    expect(layout.patientFolders).toEqual([{ patientId: 'p-anna', folder: 'patient_001' }]);
    checkInvariants(layout);
  });

  it('fills in every field of an entry', () => {
    const layout = layoutOf([mixed()], { includeProcessed: false });
    expect(layout.root).toBe('My export');
    expect(layout.entries[1]).toEqual({
      path: 'My export/patient_001/ios/upper.stl',
      relativePath: 'patient_001/ios/upper.stl',
      patientId: 'p-anna',
      patientFolder: 'patient_001',
      fileId: 'a3',
      modality: 'ios',
      subtype: 'upper',
      kind: 'raw',
      originalName: 'upper.stl',
      size: 100,
      sha256: 'a'.repeat(64),
      crc32: 1,
      compress: true,
    });
    expect(layout.entries[0]!.compress).toBe(false);
    expect(layoutOf([mixed()], { compression: 'deflate' }).entries.every((e) => e.compress)).toBe(true);
    expect(layoutOf([mixed()], { compression: 'store' }).entries.some((e) => e.compress)).toBe(false);
  });

  it.each([
    [1, 'patient_001', 'patient_001'],
    [3, 'patient_001', 'patient_003'],
    [999, 'patient_001', 'patient_999'],
    [1000, 'patient_0001', 'patient_1000'],
    [1234, 'patient_0001', 'patient_1234'],
  ])('numbers %i patients from %s to %s in the given order', (count, first, last) => {
    const patients = Array.from({ length: count }, (_, i) => ({ patientId: `p${count - i}`, files: [] }));
    const layout = layoutOf(patients);
    expect(layout.patientFolders[0]).toEqual({ patientId: `p${count}`, folder: first });
    expect(layout.patientFolders.at(-1)).toEqual({ patientId: 'p1', folder: last });
    expect(layout.entries).toEqual([]);
  });

  it('keeps a patient without included files as a folder without entries', () => {
    const layout = layoutOf(
      [
        { patientId: 'p1', files: [file('seg.nii.gz', { kind: 'processed' })] },
        { patientId: 'p2', files: [file('scan.nii')] },
      ],
      { includeProcessed: false },
    );
    expect(layout.patientFolders.map((p) => p.folder)).toEqual(['patient_001', 'patient_002']);
    expect(paths(layout)).toEqual(['patient_002/cbct/scan.nii']);
  });

  it('sanitises the root, modality slugs and file names', () => {
    const layout = layoutOf(
      [{ patientId: 'p1', files: [file('../../etc/passwd', { modality: '../ios' }), file('..', { modality: 'CON' }), file('a\u202egpj.exe')] }],
      { rootName: ' .. ', includeProcessed: false },
    );
    expect(layout.root).toBe('export');
    expect(layoutOf([], { rootName: '../..' }).root).toBe('.._');
    expect(paths(layout)).toEqual(['patient_001/.._ios/.._.._etc_passwd', 'patient_001/cbct/agpj.exe', 'patient_001/CON_/file']);
    checkInvariants(layout);
  });

  it.each([
    [
      'exact duplicates',
      ['scan.nii.gz', 'scan.nii.gz', 'scan.nii.gz'],
      ['scan.nii.gz', 'scan_2.nii.gz', 'scan_3.nii.gz'],
    ],
    [
      'names differing in case',
      ['scan.nii.gz', 'Scan.nii.gz', 'SCAN.NII.GZ'],
      ['SCAN.NII.GZ', 'Scan_2.nii.gz', 'scan_3.nii.gz'],
    ],
    [
      'a real name equal to a generated one',
      ['scan.nii.gz', 'Scan.nii.gz', 'scan_2.nii.gz'],
      ['Scan.nii.gz', 'scan_2.nii.gz', 'scan_3.nii.gz'],
    ],
    [
      'generated names skipping several real ones',
      ['a.stl', 'a.stl', 'A_2.stl', 'a_3.STL'],
      ['a.stl', 'A_2.stl', 'a_3.STL', 'a_4.stl'],
    ],
    [
      'NFC and NFD spellings',
      ['Zoe\u0308.stl', 'Zoë.stl'],
      ['Zoë.stl', 'Zoë_2.stl'],
    ],
    [
      'names that only collide once sanitised',
      ['a/b.dcm', 'a:b.dcm', 'a_b.dcm'],
      ['a_b.dcm', 'a_b_2.dcm', 'a_b_3.dcm'],
    ],
    [
      'no extension',
      ['notes', 'NOTES'],
      ['NOTES', 'notes_2'],
    ],
  ])('makes names unique in a directory: %s', (_label, names, expected) => {
    const layout = layoutOf([{ patientId: 'p1', files: names.map((n) => file(n)) }], { includeProcessed: false });
    expect(layout.entries.map((e) => e.relativePath.split('/').at(-1))).toEqual(expected);
    checkInvariants(layout);
  });

  it('keeps the same name in different directories and kinds', () => {
    const layout = layoutOf([
      {
        patientId: 'p1',
        files: [file('scan.nii.gz'), file('scan.nii.gz', { kind: 'processed' }), file('scan.nii.gz', { modality: 'mri' })],
      },
      { patientId: 'p2', files: [file('scan.nii.gz')] },
    ]);
    expect(paths(layout)).toEqual([
      'patient_001/cbct/raw/scan.nii.gz',
      'patient_001/cbct/processed/scan.nii.gz',
      'patient_001/mri/raw/scan.nii.gz',
      'patient_002/cbct/raw/scan.nii.gz',
    ]);
  });

  it('treats modality slugs differing in case as one directory', () => {
    const layout = layoutOf([{ patientId: 'p1', files: [file('a.nii', { modality: 'cbct' }), file('A.nii', { modality: 'CBCT' })] }], {
      includeProcessed: false,
    });
    expect(paths(layout)).toEqual(['patient_001/CBCT/A.nii', 'patient_001/CBCT/a_2.nii']);
    expect(layout.entries.map((e) => e.modality)).toEqual(['CBCT', 'cbct']);
    checkInvariants(layout);
  });

  it('keeps generated names within the byte limit', () => {
    const long = `${'頭'.repeat(100)}.nii.gz`;
    const layout = layoutOf([{ patientId: 'p1', files: [file(long), file(long)] }], { includeProcessed: false });
    const names = layout.entries.map((e) => e.relativePath.split('/').at(-1)!);
    for (const name of names) expect(bytes(name)).toBeLessThanOrEqual(MAX_SEGMENT_BYTES);
    // `_` sorts before 頭, so the shortened `_2` name comes first.
    expect(names).toEqual([`${'頭'.repeat(63)}_2.nii.gz`, `${'頭'.repeat(64)}.nii.gz`]);
    checkInvariants(layout);
  });

  it('orders entries by modality, kind and name, whatever the input order', () => {
    const files = [
      file('b.stl', { fileId: 'x1', modality: 'ios' }),
      file('z.nii', { fileId: 'x2' }),
      file('a.nii', { fileId: 'x3', kind: 'processed' }),
      file('A.nii', { fileId: 'x4' }),
      file('a.nii', { fileId: 'x5' }),
      file('a.jpg', { fileId: 'x6', modality: 'intraoral-photo' }),
      file('a.nii', { fileId: 'x7' }),
    ];
    const expected = [
      ['patient_001/cbct/raw/A.nii', 'x4'],
      ['patient_001/cbct/raw/a_2.nii', 'x5'],
      ['patient_001/cbct/raw/a_3.nii', 'x7'],
      ['patient_001/cbct/raw/z.nii', 'x2'],
      ['patient_001/cbct/processed/a.nii', 'x3'],
      ['patient_001/intraoral-photo/raw/a.jpg', 'x6'],
      ['patient_001/ios/raw/b.stl', 'x1'],
    ];
    const orders = [files, [...files].reverse(), [3, 6, 0, 5, 1, 4, 2].map((i) => files[i]!)];
    for (const order of orders) {
      const layout = layoutOf([{ patientId: 'p1', files: order }]);
      expect(layout.entries.map((e) => [e.relativePath, e.fileId])).toEqual(expected);
    }
  });

  it('keeps patients in the given order', () => {
    const layout = layoutOf([
      { patientId: 'zeta', files: [file('b.nii')] },
      { patientId: 'alpha', files: [file('a.nii')] },
    ]);
    expect(layout.entries.map((e) => [e.patientFolder, e.patientId])).toEqual([
      ['patient_001', 'zeta'],
      ['patient_002', 'alpha'],
    ]);
  });

  it('refuses a patient or file listed twice', () => {
    expect(() => layoutOf([{ patientId: 'p1', files: [] }, { patientId: 'p1', files: [] }])).toThrow(/listed twice/);
    const f = file('a.nii');
    expect(() => layoutOf([{ patientId: 'p1', files: [f] }, { patientId: 'p2', files: [f] }])).toThrow(/listed twice/);
  });

  it('produces only safe, unique paths for hostile names', () => {
    const hostile = ['..', '.', '', '/', '\\', 'CON', 'con.TXT', '\u0000', '\u202e', ' . ', 'a'.repeat(500), 'A'.repeat(500), '../../x', 'X', 'x', 'metadata.json', 'SHA256SUMS'];
    const layout = layoutOf(
      [
        {
          patientId: 'p1',
          files: hostile.flatMap((n) => [file(n), file(n, { kind: 'processed' }), file(n, { modality: n || 'cbct' })]),
        },
      ],
      { rootName: 'CON' },
    );
    expect(layout.root).toBe('CON_');
    expect(layout.entries).toHaveLength(hostile.length * 3);
    checkInvariants(layout);
  });
});
