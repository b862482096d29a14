import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { BlobStore } from '../adapters/blob/blob-store.js';
import { HashingStream, measured, type Digest } from '../adapters/blob/hashing-stream.js';
import type { Repositories } from '../adapters/db/repositories/index.js';
import type { ModalityRow, PatientRow } from '../adapters/db/schema.js';
import { notFound } from '../domain/errors.js';
import {
  mediaTypeFor,
  parsePatientMetadata,
  planImport,
  type ImportEntry,
  type ImportProblem,
  type PlannedFile,
  type PlannedPatient,
} from '../domain/import-layout.js';

export interface ImportOptions {
  projectSlug: string;
  /** Register files where they lie instead of copying them into the blob store. */
  inPlace?: boolean;
  actorUserId?: string | null;
  onProgress?: (event: { patient: string; filesDone: number; filesTotal: number }) => void;
}

export interface ImportReport {
  patientsCreated: number;
  patientsFound: number;
  filesAdded: number;
  filesUnchanged: number;
  bytesAdded: number;
  ignored: number;
  problems: ImportProblem[];
}

export class ImportService {
  constructor(
    private readonly repos: Repositories,
    private readonly blobs: BlobStore,
  ) {}

  async importDirectory(rootDir: string, options: ImportOptions): Promise<ImportReport> {
    const project = await this.repos.projects.findBySlug(options.projectSlug);
    if (!project) throw notFound(`Project "${options.projectSlug}"`);
    const root = await fs.promises.realpath(rootDir).catch(() => {
      throw new Error(`Cannot read the directory ${rootDir}: it does not exist or is not accessible`);
    });
    if (!(await fs.promises.stat(root)).isDirectory()) throw new Error(`${rootDir} is not a directory`);

    const modalities = await this.repos.catalog.modalities();
    const rules = modalities.map((m) => ({ slug: m.slug, name: m.name, subtypes: JSON.parse(m.subtypes) as string[], extensions: JSON.parse(m.extensions) as string[] }));
    const walkProblems: ImportProblem[] = [];
    const entries = await walk(root, walkProblems);
    const plan = planImport(entries, rules, path.basename(root));
    const report: ImportReport = {
      patientsCreated: 0,
      patientsFound: 0,
      filesAdded: 0,
      filesUnchanged: 0,
      bytesAdded: 0,
      ignored: plan.ignored,
      problems: [...walkProblems, ...plan.problems],
    };
    const usedModalities = new Set<string>();
    const filesTotal = plan.patients.reduce((n, p) => n + p.files.length, 0);
    let filesDone = 0;

    for (const planned of plan.patients) {
      const patient = await this.ensurePatient(project.id, root, planned, options, report);
      if (!patient) {
        filesDone += planned.files.length;
        continue;
      }
      for (const file of planned.files) {
        const modality = modalities.find((m) => m.slug === file.modality)!;
        try {
          await this.registerFile(project.id, patient, modality, root, file, options, report);
          usedModalities.add(modality.id);
        } catch (error) {
          report.problems.push({ path: file.relPath, message: `could not be imported: ${describe(error)}` });
        }
        filesDone++;
        options.onProgress?.({ patient: patient.name, filesDone, filesTotal });
      }
    }
    await this.repos.projects.enableModalities(project.id, [...usedModalities]);
    await this.repos.audit.record({
      action: 'import.completed',
      userId: options.actorUserId ?? null,
      projectId: project.id,
      details: { root, inPlace: !!options.inPlace, ...report, problems: report.problems.length },
    });
    return report;
  }

  private async ensurePatient(projectId: string, root: string, planned: PlannedPatient, options: ImportOptions, report: ImportReport): Promise<PatientRow | null> {
    let meta = { name: planned.dirName, code: undefined as string | undefined, tags: [] as string[], visibility: 'public' as PatientRow['visibility'] };
    if (planned.metadataPath) {
      const text = await fs.promises.readFile(path.join(root, planned.metadataPath), 'utf8').catch((e) => e as Error);
      const parsed = text instanceof Error ? { ok: false as const, message: `cannot be read (${describe(text)})` } : parsePatientMetadata(text);
      if (!parsed.ok) {
        report.problems.push({ path: planned.metadataPath, message: `${parsed.message}; patient skipped` });
        return null;
      }
      meta = { name: parsed.value.name ?? planned.dirName, code: parsed.value.code, tags: parsed.value.tags, visibility: parsed.value.visibility ?? 'public' };
    }
    const now = new Date().toISOString();
    const folder = await this.repos.folders.ensurePath(projectId, planned.folderNames, now);
    let patient = meta.code
      ? await this.repos.catalog.findPatientByCode(projectId, meta.code)
      : await this.repos.catalog.findPatientInFolder(folder.id, meta.name);
    if (patient?.deleted_at) {
      report.problems.push({ path: planned.dirPath || '.', message: `patient code ${meta.code} belongs to a deleted patient; skipped` });
      return null;
    }
    if (patient) {
      report.patientsFound++;
    } else {
      patient = {
        id: randomUUID(),
        project_id: projectId,
        folder_id: folder.id,
        name: meta.name,
        code: meta.code ?? null,
        visibility: meta.visibility,
        created_by: options.actorUserId ?? null,
        created_at: now,
        deleted_at: null,
      };
      await this.repos.catalog.insertPatient(patient);
      report.patientsCreated++;
    }
    if (meta.tags.length) await this.repos.catalog.tagPatient(projectId, patient.id, meta.tags, now);
    return patient;
  }

  private async registerFile(
    projectId: string,
    patient: PatientRow,
    modality: ModalityRow,
    root: string,
    file: PlannedFile,
    options: ImportOptions,
    report: ImportReport,
  ): Promise<void> {
    const source = path.join(root, file.relPath);
    const stat = await fs.promises.stat(source);
    const existing = await this.repos.catalog.findLiveFile(patient.id, modality.id, file.kind, file.originalName);
    if (existing) {
      // Registered files are never replaced silently: a changed file is reported, the original kept.
      if (existing.size_bytes === stat.size) report.filesUnchanged++;
      else report.problems.push({ path: file.relPath, message: `differs from the file already registered (${existing.size_bytes} bytes); kept the registered one` });
      return;
    }
    const id = randomUUID();
    let storageKey: string;
    let digest: Digest;
    if (options.inPlace) {
      storageKey = source;
      digest = await digestFile(source);
    } else {
      storageKey = `files/${projectId}/${id}`;
      const hashing = measured(fs.createReadStream(source));
      await this.blobs.put(storageKey, hashing, { contentType: mediaTypeFor(file.originalName) });
      digest = hashing.digest();
    }
    try {
      await this.repos.catalog.insertFile({
        id,
        project_id: projectId,
        patient_id: patient.id,
        modality_id: modality.id,
        subtype: file.subtype,
        kind: file.kind,
        original_name: file.originalName,
        storage: options.inPlace ? 'inplace' : 'store',
        storage_key: storageKey,
        size_bytes: digest.size,
        sha256: digest.sha256,
        crc32: digest.crc32,
        media_type: mediaTypeFor(file.originalName),
        metadata: JSON.stringify({ importedFrom: file.relPath }),
        created_by: options.actorUserId ?? null,
        created_at: new Date().toISOString(),
        deleted_at: null,
      });
    } catch (error) {
      if (!options.inPlace) await this.blobs.delete(storageKey).catch(() => undefined);
      throw error;
    }
    report.filesAdded++;
    report.bytesAdded += digest.size;
  }
}

async function digestFile(file: string): Promise<Digest> {
  const hashing = new HashingStream();
  await pipeline(fs.createReadStream(file), hashing, new Writable({ write: (_c, _e, cb) => cb() }));
  return hashing.digest();
}

/** Lists the tree without following symbolic links; unreadable directories are reported. */
async function walk(root: string, problems: ImportProblem[]): Promise<ImportEntry[]> {
  const entries: ImportEntry[] = [];
  const visit = async (rel: string): Promise<void> => {
    let dir: fs.Dirent[];
    try {
      dir = await fs.promises.readdir(rel ? path.join(root, rel) : root, { withFileTypes: true });
    } catch (error) {
      problems.push({ path: rel || '.', message: `cannot be read (${describe(error)}); skipped` });
      return;
    }
    for (const d of dir) {
      const childRel = rel ? `${rel}/${d.name}` : d.name;
      const type = d.isDirectory() ? 'dir' : d.isFile() ? 'file' : d.isSymbolicLink() ? 'symlink' : 'other';
      entries.push({ path: childRel, type });
      if (type === 'dir') await visit(childRel);
    }
  };
  await visit('');
  return entries;
}

function describe(error: unknown): string {
  const e = error as NodeJS.ErrnoException;
  if (e?.code === 'EACCES' || e?.code === 'EPERM') return 'permission denied';
  if (e?.code === 'ENOENT') return 'it disappeared during the import';
  return e?.message ?? String(error);
}
