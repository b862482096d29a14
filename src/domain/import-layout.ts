/**
 * How a directory tree on disk becomes folders, patients and registered files. Pure: the import
 * service walks the disk, hands the entries here, and carries out the plan.
 *
 * - A directory holding a modality-named subdirectory (`cbct/`, `ios/`, …) is a patient; the
 *   directories above it become folders. Patients at the top of the import go into a folder named
 *   after the imported directory itself.
 * - In a modality directory, files under `raw/` or `processed/` get that kind; loose files are raw.
 * - For modalities with subtypes, a file whose name starts with a subtype (`upper.stl`,
 *   `lower_scan.ply`) gets that subtype.
 * - Hidden files (`.DS_Store`) and `Thumbs.db` are ignored; anything else that does not fit is
 *   reported, never guessed at.
 */
import { folderNameProblem } from './names.js';

export interface ImportEntry {
  /** Path relative to the import root, "/"-joined. */
  path: string;
  type: 'file' | 'dir' | 'symlink' | 'other';
}

export interface ModalityRule {
  slug: string;
  name: string;
  subtypes: readonly string[];
  extensions: readonly string[];
}

export interface PlannedFile {
  relPath: string;
  modality: string;
  kind: 'raw' | 'processed';
  subtype: string | null;
  originalName: string;
}

export interface PlannedPatient {
  /** The patient directory, relative to the root. */
  dirPath: string;
  dirName: string;
  folderNames: string[];
  metadataPath: string | null;
  files: PlannedFile[];
}

export interface ImportProblem {
  path: string;
  message: string;
}

export interface ImportPlan {
  patients: PlannedPatient[];
  problems: ImportProblem[];
  ignored: number;
}

const KINDS = ['raw', 'processed'] as const;

export function isIgnoredName(name: string): boolean {
  return name.startsWith('.') || name.toLowerCase() === 'thumbs.db' || name.toLowerCase() === 'desktop.ini';
}

/** The extension as the registry compares it: lower case, double extensions like `nii.gz` kept. */
export function fileExtension(name: string): string {
  const lower = name.toLowerCase();
  const double = lower.match(/\.((?:nii|tar|ply|stl|obj)\.(?:gz|bz2|xz|zst))$/);
  if (double) return double[1]!;
  const dot = lower.lastIndexOf('.');
  return dot > 0 ? lower.slice(dot + 1) : '';
}

function subtypeOf(name: string, subtypes: readonly string[]): string | null {
  const lower = name.toLowerCase();
  return subtypes.find((s) => lower === s || lower.startsWith(`${s}.`) || lower.startsWith(`${s}_`) || lower.startsWith(`${s}-`)) ?? null;
}

export function planImport(entries: readonly ImportEntry[], modalities: readonly ModalityRule[], rootName: string): ImportPlan {
  const bySlug = new Map(modalities.map((m) => [m.slug, m]));
  const problems: ImportProblem[] = [];
  let ignored = 0;
  const sorted = [...entries].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  const dirs = new Set(sorted.filter((e) => e.type === 'dir').map((e) => e.path));
  const parentOf = (p: string) => (p.includes('/') ? p.slice(0, p.lastIndexOf('/')) : '');
  const baseOf = (p: string) => p.slice(p.lastIndexOf('/') + 1);

  // A patient is a directory (or the root itself, "") with a modality-named child directory.
  const patientDirs = new Set<string>();
  for (const d of dirs) if (bySlug.has(baseOf(d))) patientDirs.add(parentOf(d));
  const patientOf = (p: string): string | undefined => {
    for (let cur = parentOf(p); ; cur = parentOf(cur)) {
      if (patientDirs.has(cur)) return cur;
      if (cur === '') return undefined;
    }
  };

  const patients = new Map<string, PlannedPatient>();
  const badPatients = new Set<string>();
  for (const dir of [...patientDirs].sort()) {
    const names = dir === '' ? [rootName] : dir.split('/');
    const dirName = names[names.length - 1]!;
    const folderNames = dir === '' || names.length === 1 ? [rootName] : names.slice(0, -1);
    const enclosing = patientOf(dir === '' ? '' : dir);
    if (dir !== '' && enclosing !== undefined) {
      problems.push({ path: dir, message: `is inside patient directory "${enclosing || rootName}"; patients cannot be nested, skipped` });
      badPatients.add(dir);
      continue;
    }
    const badName = [...folderNames, dirName].map((n) => [n, folderNameProblem(n)] as const).find(([, p]) => p);
    if (badName) {
      problems.push({ path: dir || '.', message: `name ${JSON.stringify(badName[0])} ${badName[1]}; patient skipped` });
      badPatients.add(dir);
      continue;
    }
    patients.set(dir, { dirPath: dir, dirName, folderNames, metadataPath: null, files: [] });
  }

  for (const entry of sorted) {
    const owner = patientOf(entry.path);
    const name = baseOf(entry.path);
    if (isIgnoredName(name) || entry.path.split('/').some(isIgnoredName)) {
      if (entry.type !== 'dir') ignored++;
      continue;
    }
    if (entry.type === 'symlink' || entry.type === 'other') {
      problems.push({ path: entry.path, message: entry.type === 'symlink' ? 'is a symbolic link; not followed' : 'is not a regular file; skipped' });
      continue;
    }
    if (owner === undefined) {
      // Above every patient: only folders belong here.
      if (entry.type === 'file') problems.push({ path: entry.path, message: 'is not inside a patient directory; skipped' });
      continue;
    }
    if (badPatients.has(owner)) continue;
    const patient = patients.get(owner);
    if (!patient) continue;
    const inside = owner === '' ? entry.path : entry.path.slice(owner.length + 1);
    const parts = inside.split('/');
    const modality = bySlug.get(parts[0]!);

    if (parts.length === 1) {
      if (entry.type === 'file' && name === 'patient.json') patient.metadataPath = entry.path;
      else if (entry.type === 'file') problems.push({ path: entry.path, message: 'is a loose file in a patient directory; put it in a modality directory' });
      else if (!modality && !badPatients.has(entry.path)) problems.push({ path: entry.path, message: `is not a known modality (known: ${modalities.map((m) => m.slug).join(', ')}); skipped` });
      continue;
    }
    if (!modality) continue; // reported once at the directory itself
    if (entry.type === 'dir') {
      if (parts.length === 2 && (KINDS as readonly string[]).includes(parts[1]!)) continue;
      problems.push({ path: entry.path, message: 'nested directories inside a modality directory are not supported; skipped' });
      continue;
    }
    let kind: 'raw' | 'processed';
    if (parts.length === 2) kind = 'raw';
    else if (parts.length === 3 && (KINDS as readonly string[]).includes(parts[1]!)) kind = parts[1] as 'raw' | 'processed';
    else continue; // inside a skipped nested directory
    const nameIssue = fileNameProblem(name);
    if (nameIssue) {
      problems.push({ path: entry.path, message: `file name ${nameIssue}; skipped` });
      continue;
    }
    const ext = fileExtension(name);
    if (modality.extensions.length > 0 && !modality.extensions.includes(ext)) {
      problems.push({
        path: entry.path,
        message: `".${ext || '(none)'}" is not a ${modality.name} file type (expected ${modality.extensions.map((e) => `.${e}`).join(', ')}); skipped`,
      });
      continue;
    }
    patient.files.push({ relPath: entry.path, modality: modality.slug, kind, subtype: subtypeOf(name, modality.subtypes), originalName: name });
  }

  return { patients: [...patients.values()], problems, ignored };
}

function fileNameProblem(name: string): string | null {
  if (/[\u0000-\u001f\u007f\ufffd]/.test(name)) return 'contains control or undecodable characters';
  if ([...name].length > 255) return 'is longer than 255 characters';
  return null;
}

export interface PatientMetadata {
  name?: string;
  code?: string;
  tags: string[];
  visibility?: 'public' | 'private' | 'debug';
}

/** Reads a patient.json document; returns a message naming the bad field instead of throwing. */
export function parsePatientMetadata(text: string): { ok: true; value: PatientMetadata } | { ok: false; message: string } {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    return { ok: false, message: 'is not valid JSON' };
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) return { ok: false, message: 'must be a JSON object' };
  const d = doc as Record<string, unknown>;
  const value: PatientMetadata = { tags: [] };
  const textField = (key: 'name' | 'code', max: number) => {
    const v = d[key];
    if (v === undefined || v === null) return null;
    if (typeof v !== 'string' || v.trim().length === 0 || v.length > max || /[\u0000-\u001f\u007f]/.test(v)) {
      return `field "${key}" must be a non-empty text of at most ${max} characters`;
    }
    value[key] = v.trim();
    return null;
  };
  const issue = textField('name', 200) ?? textField('code', 100);
  if (issue) return { ok: false, message: issue };
  if (d.tags !== undefined) {
    if (!Array.isArray(d.tags) || d.tags.some((t) => typeof t !== 'string' || t.trim().length === 0 || t.length > 64)) {
      return { ok: false, message: 'field "tags" must be a list of texts of at most 64 characters' };
    }
    value.tags = [...new Set((d.tags as string[]).map((t) => t.trim()))];
  }
  if (d.visibility !== undefined) {
    if (d.visibility !== 'public' && d.visibility !== 'private' && d.visibility !== 'debug') {
      return { ok: false, message: 'field "visibility" must be public, private or debug' };
    }
    value.visibility = d.visibility;
  }
  return { ok: true, value };
}

const MEDIA_TYPES: Record<string, string> = {
  'nii.gz': 'application/gzip',
  nii: 'application/octet-stream',
  dcm: 'application/dicom',
  nrrd: 'application/octet-stream',
  mha: 'application/octet-stream',
  zip: 'application/zip',
  stl: 'model/stl',
  ply: 'application/ply',
  obj: 'model/obj',
  mtl: 'model/mtl',
  jpg: 'image/jpeg',
  jpeg: 'image/jpeg',
  png: 'image/png',
  tif: 'image/tiff',
  tiff: 'image/tiff',
  heic: 'image/heic',
};

export function mediaTypeFor(name: string): string {
  return MEDIA_TYPES[fileExtension(name)] ?? 'application/octet-stream';
}
