/**
 * Where each exported file goes inside the ZIP and what it is called. Pure: the export job loads
 * the rows, asks here for the plan, and streams the bytes in the planned order.
 *
 * - Everything sits under one root folder named after the export, so unpacking never scatters
 *   files: `<root>/patient_001/cbct/scan.nii.gz`, next to `<root>/metadata.json` and
 *   `<root>/SHA256SUMS`.
 * - Patients are numbered in the order given; ids, codes and names never appear in paths.
 * - Names come from the database and were typed on many systems. They are cleaned into segments
 *   that unpack the same on Windows, macOS and Linux, and made unique ignoring case and Unicode
 *   normalisation, because two of those three file systems ignore one or both.
 * - Every planned path is checked again before it is handed out: a bug here must fail the export,
 *   never write `../` or an absolute path into an archive someone unpacks.
 */

export type FileKind = 'raw' | 'processed';
export type CompressionMode = 'auto' | 'store' | 'deflate';

/** Files the export writes itself directly under the root; no planned path may take these names. */
export const RESERVED_ROOT_FILES = ['metadata.json', 'SHA256SUMS'] as const;

/** Most file systems allow 255 bytes per name; the rest leaves room for `_2` and for tools. */
export const MAX_SEGMENT_BYTES = 200;

export const MAX_EXPORT_NAME_LENGTH = 100;

const pad = (n: number, width = 2) => String(n).padStart(width, '0');

/** `export_2025-10-20_143022`, in UTC so the name does not depend on the server's time zone. */
export function defaultExportName(at: Date): string {
  if (Number.isNaN(at.getTime())) throw new RangeError('defaultExportName needs a valid date');
  const date = `${pad(at.getUTCFullYear(), 4)}-${pad(at.getUTCMonth() + 1)}-${pad(at.getUTCDate())}`;
  const time = `${pad(at.getUTCHours())}${pad(at.getUTCMinutes())}${pad(at.getUTCSeconds())}`;
  return `export_${date}_${time}`;
}

const FORBIDDEN_CHARS = ['/', '\\', ':', '*', '?', '"', '<', '>', '|'] as const;
const UNSAFE_CHARS = /[/\\:*?"<>|]/g;
// C0, DEL and C1 controls, and the bidi embeddings/overrides/isolates that can make `gpj.exe`
// display as `exe.jpg`.
const CONTROL_CHARS = /[\u0000-\u001f\u007f-\u009f]/;
const BIDI_CHARS = /[\u202a-\u202e\u2066-\u2069]/;
const INVISIBLE_CHARS = /[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g;
// Possible in text from SQLite or a buggy client; Buffer would turn them into U+FFFD silently.
const LONE_SURROGATES = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;
// Windows treats these as devices whatever the extension (`con.txt`, `nul.tar.gz`).
const WINDOWS_DEVICE = /^(?:con|prn|aux|nul|com[0-9¹²³]|lpt[0-9¹²³]|conin\$|conout\$)$/i;

/**
 * Why a user-typed export name cannot be used, as a fragment after the field name
 * (`must not contain "/"`), or null. The name is trimmed first; a name that passes becomes the
 * root folder unchanged (unless longer than MAX_SEGMENT_BYTES in UTF-8, when it is shortened).
 */
export function exportNameProblem(name: string): string | null {
  const n = name.trim();
  if (n.length === 0) return 'must not be empty';
  if ([...n].length > MAX_EXPORT_NAME_LENGTH) return `must be at most ${MAX_EXPORT_NAME_LENGTH} characters`;
  if (n === '.' || n === '..') return 'must not be "." or ".."';
  if (n.startsWith('.')) return 'must not start with "."';
  const bad = FORBIDDEN_CHARS.find((c) => n.includes(c));
  if (bad) return bad === '"' ? `must not contain '"'` : `must not contain "${bad}"`;
  if (CONTROL_CHARS.test(n)) return 'must not contain control characters';
  if (BIDI_CHARS.test(n)) return 'must not contain text-direction control characters';
  if (new RegExp(LONE_SURROGATES.source).test(n)) return 'must not contain invalid characters';
  // Windows would drop the dot, and refuses device names: the folder would not be what was typed.
  if (n.endsWith('.')) return 'must not end with "."';
  if (WINDOWS_DEVICE.test(deviceStem(n))) return 'is a reserved name on Windows';
  return null;
}

const utf8Length = (s: string) => Buffer.byteLength(s, 'utf8');
const graphemes = new Intl.Segmenter(undefined, { granularity: 'grapheme' });

/**
 * Splits `scan.nii.gz` into `scan` and `.nii.gz`. Only short alphanumeric endings count as an
 * extension, so `report v1.0 final` has none and keeps its words together when shortened.
 */
export function splitExtension(name: string): [stem: string, extension: string] {
  const double = /\.(?:nii|tar|ply|stl|obj)\.(?:gz|bz2|xz|zst)$/i.exec(name);
  if (double && double.index > 0) return [name.slice(0, double.index), double[0]];
  const dot = name.lastIndexOf('.');
  if (dot > 0 && /^\.[a-z0-9]{1,16}$/i.test(name.slice(dot))) return [name.slice(0, dot), name.slice(dot)];
  return [name, ''];
}

const trimEnd = (s: string) => s.replace(/[\s.]+$/u, '');

/** The longest start of `text` that fits `budget` bytes, cut between characters as a reader sees them. */
function cutToBytes(text: string, budget: number): string {
  let out = '';
  let used = 0;
  for (const { segment } of graphemes.segment(text)) {
    const size = utf8Length(segment);
    if (used + size > budget) break;
    out += segment;
    used += size;
  }
  if (out !== '' || budget <= 0) return out;
  // A single enormous cluster (a letter with hundreds of combining marks): cut by code point.
  for (const ch of text) {
    const size = utf8Length(ch);
    if (used + size > budget) break;
    out += ch;
    used += size;
  }
  return out;
}

/** `name` with `insert` placed before its extension, shortened to MAX_SEGMENT_BYTES if needed. */
function withInsert(name: string, insert: string): string {
  const [stem, ext] = splitExtension(name);
  const full = `${stem}${insert}${ext}`;
  if (utf8Length(full) <= MAX_SEGMENT_BYTES) return full;
  const kept = trimEnd(cutToBytes(stem, MAX_SEGMENT_BYTES - utf8Length(insert + ext))) || '_';
  return `${kept}${insert}${ext}`;
}

function clean(name: string): string {
  const s = name
    .replace(LONE_SURROGATES, '_')
    .normalize('NFC')
    .replace(INVISIBLE_CHARS, '')
    // Removing a control character can bring a base letter and its accent together again.
    .normalize('NFC')
    .replace(UNSAFE_CHARS, '_');
  // Windows drops trailing dots and spaces, so `a.` and `a` would unpack to the same name; this
  // also turns "." and ".." into "".
  return trimEnd(s.trim());
}

/** The part Windows compares against device names: up to the first dot, trailing spaces ignored. */
function deviceStem(name: string): string {
  const dot = name.indexOf('.');
  return (dot < 0 ? name : name.slice(0, dot)).trimEnd();
}

/**
 * Turns a name from the database (file, folder, modality) into one safe ZIP path segment. Never
 * returns "", ".", "..", a name with a separator or control character, a Windows device name, or
 * more than MAX_SEGMENT_BYTES of UTF-8; `fallback` stands in when nothing usable is left.
 */
export function sanitizePathSegment(name: string, fallback: string): string {
  let s = clean(name);
  if (s === '') s = clean(fallback);
  if (s === '') throw new Error(`sanitizePathSegment: fallback ${JSON.stringify(fallback)} is not a usable name`);
  const stem = deviceStem(s);
  if (WINDOWS_DEVICE.test(stem)) s = `${stem}_${s.slice(stem.length)}`;
  return withInsert(s, '');
}

/** Why `path` could not be written safely into a ZIP, or null. Used on every planned path. */
export function zipPathProblem(path: string): string | null {
  if (path.length === 0) return 'is empty';
  if (path.startsWith('/')) return 'must be relative';
  if (path.includes('\\')) return 'must use "/" as the separator';
  if (/^[a-z]:/i.test(path)) return 'must not start with a drive letter';
  for (const segment of path.split('/')) {
    if (segment === '') return 'must not contain empty segments';
    if (segment === '.' || segment === '..') return `must not contain "${segment}" segments`;
    if (sanitizePathSegment(segment, '_') !== segment) return `has an unsafe segment ${JSON.stringify(segment)}`;
  }
  return null;
}

export function assertSafeZipPath(path: string): void {
  const problem = zipPathProblem(path);
  if (problem) throw new Error(`Unsafe ZIP path ${JSON.stringify(path)}: ${problem}`);
}

/** How Windows and macOS compare names: ignoring case and Unicode normalisation (over-cautiously). */
export function pathKey(path: string): string {
  return path.normalize('NFC').toUpperCase().toLowerCase();
}

// Formats whose content is already compressed: deflating them again costs CPU for ~0 bytes.
const COMPRESSED_EXTENSIONS = new Set([
  'gz', 'tgz', 'zip', '7z', 'bz2', 'tbz', 'tbz2', 'xz', 'txz', 'zst', 'lz4', 'lzma', 'br', 'rar',
  'jpg', 'jpeg', 'png', 'gif', 'webp', 'heic', 'heif', 'avif', 'jxl', 'jp2', 'j2k',
  'mp4', 'mov', 'm4v', 'mkv', 'webm', 'avi', 'mp3', 'm4a', 'aac', 'ogg', 'opus', 'flac',
  'docx', 'xlsx', 'pptx',
]);

/**
 * Whether to deflate this entry. `auto` stores already-compressed formats (`.nii.gz`, JPEG, …) and
 * deflates everything else (`.nii`, `.dcm`, `.stl`, `.pdf`, …).
 */
export function shouldCompress(name: string, mode: CompressionMode): boolean {
  if (mode === 'store') return false;
  if (mode === 'deflate') return true;
  const lower = name.toLowerCase();
  const dot = lower.lastIndexOf('.');
  return !(dot >= 0 && COMPRESSED_EXTENSIONS.has(lower.slice(dot + 1)));
}

export interface LayoutFile {
  fileId: string;
  modality: string;
  subtype: string | null;
  kind: FileKind;
  originalName: string;
  size: number;
  sha256: string;
  crc32: number;
}

export interface LayoutPatient {
  patientId: string;
  files: LayoutFile[];
}

export interface ZipLayoutInput {
  /** The export name, already validated with exportNameProblem, or defaultExportName. */
  rootName: string;
  /** Patients in their final, deterministic order: it decides the numbering. */
  patients: LayoutPatient[];
  includeRaw: boolean;
  includeProcessed: boolean;
  compression: CompressionMode;
}

export interface PlannedEntry extends LayoutFile {
  /** Full ZIP path: `<root>/patient_001/cbct/scan.nii.gz`. */
  path: string;
  /** The path inside the root folder, as metadata.json and SHA256SUMS name it. */
  relativePath: string;
  patientId: string;
  patientFolder: string;
  compress: boolean;
}

export interface ZipLayout {
  root: string;
  patientFolders: Array<{ patientId: string; folder: string }>;
  entries: PlannedEntry[];
}

const compare = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
const KIND_RANK: Record<FileKind, number> = { raw: 0, processed: 1 };

interface Placed {
  file: LayoutFile;
  dir: string;
  modalityDir: string;
  name: string;
}

/** Gives each file of one directory a name no other file there has, ignoring case. */
function assignUniqueNames(items: Placed[]): void {
  // Sorted first so `_2` goes to the same file whatever order the database returned.
  items.sort(
    (a, b) =>
      compare(pathKey(a.name), pathKey(b.name)) ||
      compare(a.name, b.name) ||
      compare(a.file.originalName, b.file.originalName) ||
      compare(a.file.fileId, b.file.fileId),
  );
  // A generated `scan_2.nii.gz` must not take the name of a real `scan_2.nii.gz` that comes later.
  const realNames = new Set(items.map((i) => pathKey(i.name)));
  const taken = new Set<string>();
  for (const item of items) {
    let name = item.name;
    for (let n = 2; taken.has(pathKey(name)); n++) {
      const candidate = withInsert(item.name, `_${n}`);
      if (!realNames.has(pathKey(candidate))) name = candidate;
    }
    taken.add(pathKey(name));
    item.name = name;
  }
}

/** Every path unique ignoring case, and no path both a file and a folder. */
function assertNoCollisions(files: readonly string[]): void {
  const fileKeys = new Set<string>();
  const dirKeys = new Set<string>();
  for (const path of files) {
    const key = pathKey(path);
    if (fileKeys.has(key)) throw new Error(`ZIP layout produced ${JSON.stringify(path)} twice`);
    fileKeys.add(key);
    const parts = key.split('/');
    for (let i = 1; i < parts.length; i++) dirKeys.add(parts.slice(0, i).join('/'));
  }
  for (const key of fileKeys) if (dirKeys.has(key)) throw new Error(`ZIP layout uses ${JSON.stringify(key)} as both file and folder`);
}

export function planZipLayout(input: ZipLayoutInput): ZipLayout {
  const root = sanitizePathSegment(input.rootName, 'export');
  const width = Math.max(3, String(input.patients.length).length);
  const bothKinds = input.includeRaw && input.includeProcessed;
  const seenPatients = new Set<string>();
  const seenFiles = new Set<string>();
  const patientFolders: ZipLayout['patientFolders'] = [];
  const entries: PlannedEntry[] = [];

  input.patients.forEach((patient, index) => {
    if (seenPatients.has(patient.patientId)) throw new Error(`Patient ${patient.patientId} is listed twice`);
    seenPatients.add(patient.patientId);
    const folder = `patient_${pad(index + 1, width)}`;
    patientFolders.push({ patientId: patient.patientId, folder });

    const included = patient.files.filter((file) => {
      if (seenFiles.has(file.fileId)) throw new Error(`File ${file.fileId} is listed twice`);
      seenFiles.add(file.fileId);
      return file.kind === 'raw' ? input.includeRaw : input.includeProcessed;
    });
    // Slugs differing only in case would unpack into one directory on Windows and macOS: treat
    // them as one, spelled the same way for all of its files.
    const spelling = new Map<string, string>();
    for (const file of included) {
      const slug = sanitizePathSegment(file.modality, 'modality');
      const known = spelling.get(pathKey(slug));
      if (known === undefined || compare(slug, known) < 0) spelling.set(pathKey(slug), slug);
    }
    const byDir = new Map<string, Placed[]>();
    for (const file of included) {
      const modalityDir = spelling.get(pathKey(sanitizePathSegment(file.modality, 'modality')))!;
      const dir = bothKinds ? `${modalityDir}/${file.kind}` : modalityDir;
      const items = byDir.get(dir) ?? [];
      items.push({ file, dir, modalityDir, name: sanitizePathSegment(file.originalName, 'file') });
      byDir.set(dir, items);
    }

    const placed: Placed[] = [];
    for (const items of byDir.values()) {
      assignUniqueNames(items);
      placed.push(...items);
    }
    placed.sort(
      (a, b) =>
        compare(pathKey(a.modalityDir), pathKey(b.modalityDir)) ||
        compare(a.modalityDir, b.modalityDir) ||
        KIND_RANK[a.file.kind] - KIND_RANK[b.file.kind] ||
        compare(pathKey(a.name), pathKey(b.name)) ||
        compare(a.name, b.name),
    );

    for (const { file, dir, name } of placed) {
      const relativePath = `${folder}/${dir}/${name}`;
      const path = `${root}/${relativePath}`;
      assertSafeZipPath(path);
      entries.push({
        path,
        relativePath,
        patientId: patient.patientId,
        patientFolder: folder,
        fileId: file.fileId,
        modality: file.modality,
        subtype: file.subtype,
        kind: file.kind,
        originalName: file.originalName,
        size: file.size,
        sha256: file.sha256,
        crc32: file.crc32,
        compress: shouldCompress(name, input.compression),
      });
    }
  });

  const reserved = RESERVED_ROOT_FILES.map((f) => `${root}/${f}`);
  for (const path of reserved) assertSafeZipPath(path);
  assertNoCollisions([...reserved, ...entries.map((e) => e.path)]);
  return { root, patientFolders, entries };
}
