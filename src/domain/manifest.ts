/**
 * What the export writes about itself: `metadata.json` and `SHA256SUMS` inside the ZIP, and the
 * pseudonym mapping kept on the server. Pure: the export job supplies the facts and writes the text.
 *
 * - metadata.json lets a researcher use the export without the platform: who made it, what was
 *   asked for, and for every file its patient folder, modality, kind, size and checksum.
 * - With `pseudonymize`, nothing in the ZIP can be traced back to a patient record: no patient id,
 *   code, name or source folder, and the selection's folder and patient ids become counts. The
 *   link folder → patient stays on the server (`pseudonymMapping`) for project admins.
 * - Objects are built key by key in a fixed order, so the serialised JSON is stable.
 */
import type { CompressionMode, FileKind, ZipLayout } from './zip-layout.js';

export const MANIFEST_FORMAT_VERSION = 1;
export const APPLICATION_NAME = 'Cohort';

/**
 * Which patients the export request picked, as the request gave it (the shape of
 * `SelectionRequest` in selection.ts, repeated here so the manifest format is defined in one place).
 */
export interface ExportSelection {
  folderIds?: string[];
  patientIds?: string[];
  excludePatientIds?: string[];
  tags?: string[];
  tagMode?: 'any' | 'all';
}

/** The export request as the user gave it; other fields (name, notes) are ignored here. */
export interface ExportCriteria {
  selection: ExportSelection;
  /** Modality slugs; empty means every modality of the project. */
  modalities: string[];
  include: { raw: boolean; processed: boolean };
  options?: { compression?: CompressionMode; pseudonymize?: boolean };
}

/** The criteria as metadata.json shows them: options with their defaults filled in. */
export interface ManifestCriteria {
  selection: ExportSelection;
  modalities: string[];
  include: { raw: boolean; processed: boolean };
  options: { compression: CompressionMode; pseudonymize: boolean };
}

/** The selection as a pseudonymised manifest shows it: how many records were picked, not which. */
export interface PseudonymizedSelection {
  folderCount: number;
  patientCount: number;
  excludedPatientCount: number;
  tags?: string[];
  tagMode?: 'any' | 'all';
}

export interface PseudonymizedCriteria {
  selection: PseudonymizedSelection;
  modalities: string[];
  include: { raw: boolean; processed: boolean };
  options: { compression: CompressionMode; pseudonymize: true };
}

export interface ManifestUser {
  id: string;
  username: string;
  displayName: string;
}

export interface ManifestExportInfo {
  id: string;
  name: string;
  notes: string | null;
  createdBy: ManifestUser;
  /** ISO 8601 timestamps. */
  createdAt: string;
  completedAt: string;
  applicationVersion: string;
}

/** What the database knows about an exported patient. */
export interface ManifestPatientInput {
  patientId: string;
  code: string | null;
  name: string;
  /** The folder path the patient lives in, e.g. `Study A/Baseline`. */
  sourceFolder: string;
  tags: string[];
}

/**
 * A selected patient that is not in the export. `reason` is written into the ZIP as given: with
 * pseudonymize it must not name the patient.
 */
export interface SkippedPatient {
  patientFolder?: string;
  reason: string;
}

export interface ManifestInput {
  export: ManifestExportInfo;
  criteria: ExportCriteria;
  layout: ZipLayout;
  /** Every patient of the layout, in any order. */
  patients: readonly ManifestPatientInput[];
  skippedPatients: readonly SkippedPatient[];
}

export interface IdentifiedManifestPatient {
  folder: string;
  id: string;
  code: string | null;
  name: string;
  sourceFolder: string;
  tags: string[];
  modalities: string[];
}

export interface PseudonymousManifestPatient {
  folder: string;
  tags: string[];
  modalities: string[];
}

export interface ManifestFile {
  /** Relative to the export folder: `patient_001/cbct/scan.nii.gz`. */
  path: string;
  patient: string;
  modality: string;
  subtype: string | null;
  kind: FileKind;
  size: number;
  sha256: string;
}

export interface ManifestSummary {
  patientCount: number;
  fileCount: number;
  totalBytes: number;
  modalities: Array<{ slug: string; fileCount: number; totalBytes: number }>;
  skippedPatients: SkippedPatient[];
}

export interface ExportManifest {
  formatVersion: typeof MANIFEST_FORMAT_VERSION;
  export: {
    id: string;
    name: string;
    notes: string | null;
    createdBy: ManifestUser;
    createdAt: string;
    completedAt: string;
    application: { name: typeof APPLICATION_NAME; version: string };
  };
  criteria: ManifestCriteria | PseudonymizedCriteria;
  summary: ManifestSummary;
  patients: Array<IdentifiedManifestPatient | PseudonymousManifestPatient>;
  files: ManifestFile[];
}

const compare = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** Pseudonymisation is asked for in the request itself, so the manifest cannot disagree with it. */
export function isPseudonymized(criteria: ExportCriteria): boolean {
  return criteria.options?.pseudonymize ?? false;
}

function criteriaFor(c: ExportCriteria): ManifestCriteria | PseudonymizedCriteria {
  const modalities = [...c.modalities];
  const include = { raw: c.include.raw, processed: c.include.processed };
  const compression = c.options?.compression ?? 'auto';
  const sel = c.selection;
  // Tags are names shown in the export anyway; only keys the request had are written.
  const tagPart = {
    ...(sel.tags !== undefined && { tags: [...sel.tags] }),
    ...(sel.tagMode !== undefined && { tagMode: sel.tagMode }),
  };
  if (isPseudonymized(c)) {
    return {
      selection: {
        folderCount: sel.folderIds?.length ?? 0,
        patientCount: sel.patientIds?.length ?? 0,
        excludedPatientCount: sel.excludePatientIds?.length ?? 0,
        ...tagPart,
      },
      modalities,
      include,
      options: { compression, pseudonymize: true },
    };
  }
  return {
    selection: {
      ...(sel.folderIds !== undefined && { folderIds: [...sel.folderIds] }),
      ...(sel.patientIds !== undefined && { patientIds: [...sel.patientIds] }),
      ...(sel.excludePatientIds !== undefined && { excludePatientIds: [...sel.excludePatientIds] }),
      ...tagPart,
    },
    modalities,
    include,
    options: { compression, pseudonymize: false },
  };
}

function patientsById<T extends { patientId: string }>(layout: ZipLayout, patients: readonly T[]): Array<[string, T]> {
  const byId = new Map(patients.map((p) => [p.patientId, p]));
  return layout.patientFolders.map(({ patientId, folder }) => {
    const patient = byId.get(patientId);
    if (!patient) throw new Error(`No details for patient ${patientId} (${folder})`);
    return [folder, patient];
  });
}

export function buildManifest(input: ManifestInput): ExportManifest {
  const { layout, export: info } = input;
  const pseudonymize = isPseudonymized(input.criteria);

  const modalityTotals = new Map<string, { fileCount: number; totalBytes: number }>();
  const patientModalities = new Map<string, Set<string>>();
  for (const entry of layout.entries) {
    const total = modalityTotals.get(entry.modality) ?? { fileCount: 0, totalBytes: 0 };
    total.fileCount += 1;
    total.totalBytes += entry.size;
    modalityTotals.set(entry.modality, total);
    const set = patientModalities.get(entry.patientFolder) ?? new Set();
    set.add(entry.modality);
    patientModalities.set(entry.patientFolder, set);
  }

  const patients = patientsById(layout, input.patients).map(([folder, p]) => {
    const tags = [...p.tags];
    const modalities = [...(patientModalities.get(folder) ?? [])].sort(compare);
    if (pseudonymize) return { folder, tags, modalities };
    return { folder, id: p.patientId, code: p.code, name: p.name, sourceFolder: p.sourceFolder, tags, modalities };
  });

  return {
    formatVersion: MANIFEST_FORMAT_VERSION,
    export: {
      id: info.id,
      name: info.name,
      notes: info.notes,
      createdBy: { id: info.createdBy.id, username: info.createdBy.username, displayName: info.createdBy.displayName },
      createdAt: info.createdAt,
      completedAt: info.completedAt,
      application: { name: APPLICATION_NAME, version: info.applicationVersion },
    },
    criteria: criteriaFor(input.criteria),
    summary: {
      patientCount: layout.patientFolders.length,
      fileCount: layout.entries.length,
      totalBytes: layout.entries.reduce((sum, e) => sum + e.size, 0),
      modalities: [...modalityTotals.entries()]
        .sort(([a], [b]) => compare(a, b))
        .map(([slug, t]) => ({ slug, fileCount: t.fileCount, totalBytes: t.totalBytes })),
      skippedPatients: input.skippedPatients.map((s) =>
        s.patientFolder === undefined ? { reason: s.reason } : { patientFolder: s.patientFolder, reason: s.reason },
      ),
    },
    patients,
    files: layout.entries.map((e) => ({
      path: e.relativePath,
      patient: e.patientFolder,
      modality: e.modality,
      subtype: e.subtype,
      kind: e.kind,
      size: e.size,
      sha256: e.sha256,
    })),
  };
}

export interface PseudonymRow {
  folder: string;
  patientId: string;
  code: string | null;
  name: string;
}

/** Which patient each folder of a pseudonymised export is; kept on the server, never in the ZIP. */
export function pseudonymMapping(
  layout: ZipLayout,
  patients: ReadonlyArray<{ patientId: string; code: string | null; name: string }>,
): PseudonymRow[] {
  return patientsById(layout, patients).map(([folder, p]) => ({ folder, patientId: p.patientId, code: p.code, name: p.name }));
}

function csvField(value: string): string {
  return /[",\r\n]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}

/** RFC 4180: header row, CRLF line ends, fields quoted when they hold `"`, `,` or a line break. */
export function pseudonymMappingCsv(rows: readonly PseudonymRow[]): string {
  const lines = [['folder', 'patient_id', 'code', 'name'], ...rows.map((r) => [r.folder, r.patientId, r.code ?? '', r.name])];
  return lines.map((fields) => `${fields.map(csvField).join(',')}\r\n`).join('');
}

/**
 * SHA256SUMS in GNU coreutils format, so `sha256sum -c SHA256SUMS` run in the unpacked export
 * folder checks every file. A name with a backslash or line break takes coreutils' escaped form
 * (line starts with `\`); sanitised paths never have them, but a wrong line would fail the check.
 */
export function sha256SumsText(lines: ReadonlyArray<{ relativePath: string; sha256: string }>): string {
  return lines
    .map(({ relativePath, sha256 }) => {
      if (!/^[0-9a-f]{64}$/i.test(sha256)) throw new Error(`Not a SHA-256 digest for ${relativePath}: ${JSON.stringify(sha256)}`);
      const hex = sha256.toLowerCase();
      if (!/[\\\n\r]/.test(relativePath)) return `${hex}  ${relativePath}\n`;
      const escaped = relativePath.replace(/[\\\n\r]/g, (c) => (c === '\\' ? '\\\\' : c === '\n' ? '\\n' : '\\r'));
      return `\\${hex}  ${escaped}\n`;
    })
    .join('');
}
