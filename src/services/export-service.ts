import { randomUUID } from 'node:crypto';
import type { Readable } from 'node:stream';
import type { BlobStore } from '../adapters/blob/blob-store.js';
import type { Repositories } from '../adapters/db/repositories/index.js';
import type { ExportRow, ExportStatus, UserRow } from '../adapters/db/schema.js';
import type { JobQueue } from '../adapters/queue/job-queue.js';
import type { ExportLimits } from '../config.js';
import { AppError, conflict, forbidden, notFound, validationError } from '../domain/errors.js';
import { canTransition, isActive, progressView } from '../domain/export-state.js';
import { pseudonymMappingCsv } from '../domain/manifest.js';
import { canExportFromProject, canManageExports, canSeeFolder, canSeePatient, type Actor } from '../domain/policy.js';
import { kindsOf, normaliseSelection, type IncludeRequest, type SelectionRequest } from '../domain/selection.js';
import { formatBytes } from '../domain/units.js';
import { defaultExportName, exportNameProblem, planZipLayout } from '../domain/zip-layout.js';
import type { RequestMeta } from './auth-service.js';
import type { BrowseService, ProjectContext } from './browse-service.js';

export interface ExportRequest {
  name?: string;
  notes?: string;
  selection: SelectionRequest;
  modalities: string[];
  include: IncludeRequest;
  options?: { compression?: 'auto' | 'store' | 'deflate'; pseudonymize?: boolean };
}

export interface StorageSpace {
  /** Bytes free for new exports, or null when the store has no meaningful limit (S3). */
  freeBytes(): Promise<number | null>;
}

/** `start`/`end` inclusive; only `end` means the last `end` bytes (HTTP suffix range). */
export interface ByteRange {
  start?: number;
  end?: number;
}

export interface ExportDownload {
  stream: Readable;
  size: number;
  totalSize: number;
  range: { start: number; end: number } | null;
  etag: string;
  fileName: string;
  lastModified: string;
}

const EXPORT_KEY_PREFIX = 'exports/';

const count = (n: number) => n.toLocaleString('en-US');

/** Where every ZIP an export's attempts write lives; one prefix, so one listing finds them all. */
export function exportZipPrefix(exportId: string): string {
  return `${EXPORT_KEY_PREFIX}${exportId}/`;
}

export function exportZipKey(exportId: string, attempt: number): string {
  return `${exportZipPrefix(exportId)}attempt-${attempt}.zip`;
}

/** Creating, following and delivering exports; the building itself is the ExportPipeline's. */
export class ExportService {
  constructor(
    private readonly repos: Repositories,
    private readonly browse: BrowseService,
    private readonly blobs: BlobStore,
    private readonly queue: JobQueue,
    private readonly space: StorageSpace,
    private readonly limits: ExportLimits,
  ) {}

  /** Validates a request and works out what it would export, without saving anything. */
  private async resolve(actor: Actor, slug: string, request: ExportRequest, options: { partial?: boolean } = {}) {
    const ctx = await this.browse.projectContext(actor, slug);
    if (!canExportFromProject(ctx.access)) throw forbidden('Viewers can browse this project but not export from it.');
    const selection = normaliseSelection(request.selection);
    // An estimate may come before modalities or kinds are chosen: it then counts patients only.
    const nothingChosen = options.partial && (request.modalities.length === 0 || (!request.include.raw && !request.include.processed));
    const kinds = nothingChosen ? [] : kindsOf(request.include);
    const modalityIds = nothingChosen ? [] : await this.modalityIds(ctx, request.modalities);

    const folderPaths: string[] = [];
    for (const folderId of selection.folderIds) {
      const folder = await this.repos.browse.findFolder(ctx.project.id, folderId);
      if (!folder || !canSeeFolder(ctx.access, folder.path)) {
        throw validationError('selection.folderIds', 'A selected folder does not exist or is not available to you.', 'folder_not_found');
      }
      folderPaths.push(folder.path);
    }
    if (selection.patientIds.length) {
      const visible = await this.repos.exports.resolvePatients(ctx.project.id, ctx.scope, { ...selection, folderIds: [], excludePatientIds: [], tags: [] }, []);
      const missing = selection.patientIds.length - visible.length;
      if (missing > 0) {
        throw validationError(
          'selection.patientIds',
          `${missing === 1 ? 'One selected patient does' : `${missing} selected patients do`} not exist or are not available to you. Nothing was exported.`,
          'patient_not_found',
        );
      }
    }
    return { ctx, selection, kinds, modalityIds, folderPaths };
  }

  private tooManyActive() {
    const n = this.limits.maxActivePerUser;
    return conflict(undefined, `You already have ${n === 1 ? 'an export' : `${n} exports`} waiting or running. Wait for one to finish or cancel one.`, 'too_many_active');
  }

  private async modalityIds(ctx: ProjectContext, slugs: string[]): Promise<string[]> {
    const wanted = [...new Set(slugs)];
    if (wanted.length === 0) throw validationError('modalities', 'Choose at least one modality.', 'no_modalities');
    // Estimates run on every click: only the project's modality list is needed here, not usage counts.
    const enabled = await this.repos.browse.projectModalities(ctx.project.id);
    const unknown = wanted.filter((slug) => !enabled.some((m) => m.slug === slug));
    if (unknown.length) throw validationError('modalities', `Not a modality of this project: ${unknown.join(', ')}.`, 'unknown_modality');
    return enabled.filter((m) => wanted.includes(m.slug)).map((m) => m.id);
  }

  async estimate(actor: Actor, slug: string, request: ExportRequest) {
    const { ctx, selection, kinds, modalityIds, folderPaths } = await this.resolve(actor, slug, request, { partial: true });
    const { selectedPatientCount, patientCount, perModality } = await this.repos.exports.estimate(ctx.project.id, ctx.scope, selection, folderPaths, modalityIds, kinds);
    const fileCount = perModality.reduce((n, m) => n + m.fileCount, 0);
    const totalBytes = perModality.reduce((n, m) => n + m.totalBytes, 0);
    const stored = await this.repos.exports.storedBytes(actor.userId);
    const warnings: Array<{ code: string; message: string }> = [];
    if (totalBytes > this.limits.maxBytes) warnings.push({ code: 'export_too_large', message: `Larger than the ${formatBytes(this.limits.maxBytes)} an export may hold.` });
    if (patientCount > this.limits.maxPatients) warnings.push({ code: 'too_many_patients', message: `More than the ${count(this.limits.maxPatients)} patients an export may hold.` });
    if (stored + totalBytes > this.limits.userQuotaBytes) {
      warnings.push({ code: 'quota_exceeded', message: `Over your export storage quota: ${formatBytes(Math.max(0, this.limits.userQuotaBytes - stored))} left.` });
    }
    return {
      selectedPatientCount,
      patientCount,
      fileCount,
      totalBytes,
      perModality,
      limits: { maxBytes: this.limits.maxBytes, maxPatients: this.limits.maxPatients, quotaBytes: this.limits.userQuotaBytes, quotaUsedBytes: stored },
      warnings,
    };
  }

  async create(actor: Actor, slug: string, request: ExportRequest, meta: RequestMeta) {
    const name = request.name?.trim() || defaultExportName(new Date());
    const nameIssue = exportNameProblem(name);
    if (nameIssue) throw validationError('name', `The export name ${nameIssue}.`, 'invalid_name');
    if ((request.notes ?? '').length > 5000) throw validationError('notes', 'Notes may be at most 5000 characters.');
    const { ctx, selection, kinds, modalityIds, folderPaths } = await this.resolve(actor, slug, request);

    let patients = await this.repos.exports.resolvePatients(ctx.project.id, ctx.scope, selection, folderPaths);
    if (patients.length === 0) throw validationError('selection', 'The selection holds no patients you may export.', 'empty_selection');
    if (patients.length > this.limits.maxPatients) {
      throw validationError('selection', `The selection holds ${count(patients.length)} patients; an export may hold at most ${count(this.limits.maxPatients)}.`, 'too_many_patients');
    }
    const files = await this.repos.exports.registryFiles(patients.map((p) => p.id), modalityIds, kinds);
    const totalBytes = files.reduce((n, f) => n + f.size, 0);
    if (files.length === 0) {
      throw validationError('modalities', 'The selected patients have no files of these modalities and kinds.', 'no_files');
    }
    // A patient without any file of the chosen kinds would be an empty folder: only patients with files are exported.
    const withFiles = new Set(files.map((f) => f.patientId));
    patients = patients.filter((p) => withFiles.has(p.id));
    if (files.length > this.limits.maxFiles) throw validationError('selection', `The selection holds ${count(files.length)} files; an export may hold at most ${count(this.limits.maxFiles)}.`, 'too_many_files');
    if (totalBytes > this.limits.maxBytes) {
      throw validationError('selection', `The selection holds ${formatBytes(totalBytes)}; an export may hold at most ${formatBytes(this.limits.maxBytes)}.`, 'export_too_large');
    }
    const checkUserLimits = async (exports: Repositories['exports']) => {
      if ((await exports.activeCount(actor.userId)) >= this.limits.maxActivePerUser) throw this.tooManyActive();
      const stored = await exports.storedBytes(actor.userId);
      if (stored + totalBytes > this.limits.userQuotaBytes) {
        throw conflict(
          undefined,
          `This export (${formatBytes(totalBytes)}) would pass your export storage quota of ${formatBytes(this.limits.userQuotaBytes)} (${formatBytes(stored)} in use). Delete old exports to make room.`,
          'quota_exceeded',
        );
      }
    };
    // Checked now for a quick answer, and again under a lock when the export is saved.
    await checkUserLimits(this.repos.exports);
    const free = await this.space.freeBytes();
    if (free !== null && free - (await this.repos.exports.pendingBytes()) - totalBytes < this.limits.diskReserveBytes) {
      throw new AppError('insufficient_storage', 'insufficient_storage', `The server does not have room for another ${formatBytes(totalBytes)} right now. Try a smaller export or ask an administrator.`);
    }

    const byPatient = new Map(patients.map((p) => [p.id, [] as typeof files]));
    for (const f of files) byPatient.get(f.patientId)!.push(f);
    const compression = request.options?.compression ?? 'auto';
    const layout = planZipLayout({
      rootName: name,
      patients: patients.map((p) => ({
        patientId: p.id,
        files: byPatient.get(p.id)!.map((f) => ({
          fileId: f.id,
          modality: f.modality,
          subtype: f.subtype,
          kind: f.kind,
          originalName: f.originalName,
          size: f.size,
          sha256: f.sha256,
          crc32: f.crc32,
        })),
      })),
      includeRaw: request.include.raw,
      includeProcessed: request.include.processed,
      compression,
    });

    const now = new Date().toISOString();
    const id = randomUUID();
    const row: ExportRow = {
      id,
      project_id: ctx.project.id,
      created_by: actor.userId,
      name,
      notes: request.notes ?? '',
      status: 'pending',
      request: JSON.stringify({
        selection: request.selection,
        modalities: request.modalities,
        include: request.include,
        options: { compression, pseudonymize: request.options?.pseudonymize ?? false },
      }),
      patient_count: patients.length,
      file_count: layout.entries.length,
      total_bytes: layout.entries.reduce((n, e) => n + e.size, 0),
      zip_key: null,
      zip_size: null,
      zip_sha256: null,
      created_at: now,
      started_at: null,
      completed_at: null,
      expires_at: null,
      updated_at: now,
      progress_phase: 'queued',
      files_done: 0,
      bytes_done: 0,
      attempt: 0,
      attempt_limit: this.limits.maxAttempts,
      worker_id: null,
      heartbeat_at: null,
      cancel_requested_at: null,
      error_message: null,
      error_detail: null,
      skipped: '[]',
      download_count: 0,
      last_download_at: null,
      deleted_at: null,
      notification_status: 'none',
      notification_attempts: 0,
      notification_next_at: null,
      notified_at: null,
      notification_error: null,
    };
    await this.repos.exports.insertWithPlan(
      row,
      layout.patientFolders.map((p, ordinal) => ({ ordinal, patientId: p.patientId, folder: p.folder })),
      layout.entries.map((e, seq) => ({
        seq,
        file_id: e.fileId,
        patient_id: e.patientId,
        path: e.path,
        size_bytes: e.size,
        sha256: e.sha256,
        crc32: e.crc32,
        compress: e.compress ? 1 : 0,
      })),
      checkUserLimits,
    );
    await this.repos.audit.record({
      action: 'export.created',
      userId: actor.userId,
      projectId: ctx.project.id,
      targetType: 'export',
      targetId: id,
      ip: meta.ip,
      details: { name, patients: row.patient_count, files: row.file_count, bytes: row.total_bytes },
    });
    // The row is already pending, so a lost enqueue only delays the export until the next sweep.
    await this.queue.enqueue(id).catch(() => undefined);
    return { id, status: row.status, patientCount: row.patient_count, fileCount: row.file_count, totalBytes: row.total_bytes };
  }

  /** The export if the actor may see it: its creator, or an admin of its project. */
  private async visibleExport(actor: Actor, slug: string, id: string) {
    const ctx = await this.browse.projectContext(actor, slug);
    const row = await this.repos.exports.find(ctx.project.id, id);
    if (!row || (row.created_by !== actor.userId && !canManageExports(ctx.access))) throw notFound('Export');
    return { ctx, row };
  }

  async list(actor: Actor, slug: string, query: { all: boolean; status?: ExportStatus[]; limit: number; offset: number }) {
    const ctx = await this.browse.projectContext(actor, slug);
    if (query.all && !canManageExports(ctx.access)) throw forbidden('Only project admins can list everyone’s exports.');
    const { total, items } = await this.repos.exports.list({
      projectId: ctx.project.id,
      createdBy: query.all ? undefined : actor.userId,
      status: query.status,
      limit: query.limit,
      offset: query.offset,
    });
    const users = await this.usersById(items.map((i) => i.created_by));
    return { total, items: items.map((row) => this.view(row, users.get(row.created_by))) };
  }

  async get(actor: Actor, slug: string, id: string) {
    const { row } = await this.visibleExport(actor, slug, id);
    const users = await this.usersById([row.created_by]);
    return this.view(row, users.get(row.created_by));
  }

  async cancel(actor: Actor, slug: string, id: string, meta: RequestMeta) {
    const { ctx, row } = await this.visibleExport(actor, slug, id);
    const now = new Date().toISOString();
    const cancelledNow =
      row.status === 'pending' &&
      (await this.repos.exports.transition(id, ['pending'], { status: 'cancelled', cancel_requested_at: now, completed_at: now, progress_phase: 'cancelled' }));
    // A running export (or one a worker claimed a moment ago) gets the flag: its worker reads it
    // within a second, stops, removes its partial ZIP and marks the export cancelled.
    if (!cancelledNow && !(await this.repos.exports.transition(id, ['processing'], { cancel_requested_at: now }))) {
      throw conflict(undefined, `This export is ${row.status}; only waiting or running exports can be cancelled.`, 'not_cancellable');
    }
    await this.repos.audit.record({ action: 'export.cancelled', userId: actor.userId, projectId: ctx.project.id, targetType: 'export', targetId: id, ip: meta.ip });
    return this.get(actor, slug, id);
  }

  async retry(actor: Actor, slug: string, id: string, meta: RequestMeta) {
    const { ctx, row } = await this.visibleExport(actor, slug, id);
    if (!canTransition(row.status, 'pending') || row.status === 'processing') {
      throw conflict(undefined, `This export is ${row.status}; only failed or cancelled exports can be retried.`, 'not_retryable');
    }
    if (!canExportFromProject(ctx.access)) throw forbidden('Viewers can browse this project but not export from it.');
    if ((await this.repos.exports.activeCount(actor.userId)) >= this.limits.maxActivePerUser) throw this.tooManyActive();
    const ok = await this.repos.exports.transition(id, ['failed', 'cancelled'], {
      status: 'pending',
      attempt_limit: row.attempt + this.limits.maxAttempts,
      cancel_requested_at: null,
      error_message: null,
      error_detail: null,
      progress_phase: 'queued',
      files_done: 0,
      bytes_done: 0,
      started_at: null,
      completed_at: null,
      worker_id: null,
      heartbeat_at: null,
      skipped: '[]',
    });
    if (!ok) throw conflict(undefined, 'This export changed meanwhile; reload and try again.', 'changed');
    await this.repos.audit.record({ action: 'export.retried', userId: actor.userId, projectId: ctx.project.id, targetType: 'export', targetId: id, ip: meta.ip });
    await this.queue.enqueue(id).catch(() => undefined);
    return this.get(actor, slug, id);
  }

  async delete(actor: Actor, slug: string, id: string, meta: RequestMeta): Promise<void> {
    const { ctx, row } = await this.visibleExport(actor, slug, id);
    const now = new Date().toISOString();
    if (isActive(row.status)) {
      await this.repos.exports.transition(id, ['pending'], { status: 'cancelled', completed_at: now });
      await this.repos.exports.transition(id, ['processing'], { cancel_requested_at: now });
    }
    await this.repos.exports.update(id, { deleted_at: now });
    await this.repos.shares.revokeAllOf(id, now);
    await this.removeZips(id);
    await this.repos.audit.record({ action: 'export.deleted', userId: actor.userId, projectId: ctx.project.id, targetType: 'export', targetId: id, ip: meta.ip, details: { name: row.name } });
  }

  /** Removes every stored ZIP of an export, whatever attempt wrote it. */
  async removeZips(id: string): Promise<void> {
    for await (const key of this.blobs.list(exportZipPrefix(id))) await this.blobs.delete(key);
  }

  async download(actor: Actor, slug: string, id: string, range: ByteRange | null, meta: RequestMeta): Promise<ExportDownload> {
    const { ctx, row } = await this.deliverable(actor, slug, id);
    const download = await this.openZip(row, range);
    try {
      const now = new Date().toISOString();
      // Resumed downloads arrive as several ranged requests; each is audited, counted once per full read.
      if (!download.range || download.range.start === 0) await this.repos.exports.recordDownload(id, now);
      await this.repos.audit.record({
        action: 'export.downloaded',
        userId: actor.userId,
        projectId: ctx.project.id,
        targetType: 'export',
        targetId: id,
        ip: meta.ip,
        details: download.range ? { range: `${download.range.start}-${download.range.end}` } : {},
      });
    } catch (error) {
      download.stream.destroy();
      throw error;
    }
    return download;
  }

  /**
   * An export whose ZIP the actor may take or pass on now. Project admins may; its creator only
   * while still allowed to export and to see every patient in it, since access can shrink after a
   * build (a demotion, a narrower grant, a patient made private).
   */
  async deliverable(actor: Actor, slug: string, id: string) {
    const found = await this.visibleExport(actor, slug, id);
    if (canManageExports(found.ctx.access)) return found;
    if (!canExportFromProject(found.ctx.access) || !(await this.maySeeAllPatients(actor, found.ctx.access, found.row))) {
      throw forbidden('Your access to this project or to some of its patients changed since this export was built, so it can no longer be downloaded or shared by you.');
    }
    return found;
  }

  /** Whether every patient the export holds is one the actor may see now (deleted ones only for admins). */
  async maySeeAllPatients(actor: Actor, access: ProjectContext['access'] | null, row: ExportRow): Promise<boolean> {
    if (!access) return false;
    const skipped = new Set((JSON.parse(row.skipped) as Array<{ patientFolder: string }>).map((s) => s.patientFolder));
    const frozen = (await this.repos.exports.patientsNow(row.id)).filter((p) => !skipped.has(p.folder));
    return frozen.every(({ patient }) => {
      if (!patient) return false;
      return canSeePatient(actor, access, {
        folderPath: patient.folder_path,
        visibility: patient.visibility,
        createdBy: patient.created_by,
        // A patient deleted after the build is still in the ZIP: only admins keep seeing it.
        deleted: patient.deleted_at !== null && access.role !== 'admin',
      });
    });
  }

  /** The stored ZIP of a completed export, whole or an inclusive byte range of it. */
  async openZip(row: ExportRow, range: ByteRange | null): Promise<ExportDownload> {
    if (row.status !== 'completed' || !row.zip_key || row.zip_size === null || !row.zip_sha256) {
      throw conflict(undefined, row.status === 'expired' ? 'This export has expired and its ZIP was removed.' : `This export is ${row.status}; it can be downloaded once completed.`, 'not_ready');
    }
    const total = row.zip_size;
    let resolved: { start: number; end: number } | null = null;
    if (range) {
      const start = range.start ?? Math.max(0, total - (range.end ?? 0));
      const end = range.start === undefined ? total - 1 : Math.min(range.end ?? total - 1, total - 1);
      if (start >= total || start > end) throw new AppError('range_not_satisfiable', 'range_not_satisfiable', `The requested range is outside the ${total}-byte file.`);
      resolved = { start, end };
    }
    const stream = await this.blobs.get(row.zip_key, resolved ?? undefined);
    return {
      stream,
      size: resolved ? resolved.end - resolved.start + 1 : total,
      totalSize: total,
      range: resolved,
      etag: `"${row.zip_sha256}"`,
      fileName: `${row.name}.zip`,
      lastModified: row.completed_at ?? row.created_at,
    };
  }

  /** The export if the actor may manage its share links (its creator or a project admin). */
  async manageable(actor: Actor, slug: string, id: string) {
    return this.visibleExport(actor, slug, id);
  }

  /** The pseudonym ↔ patient mapping of a pseudonymised export, for project admins only. */
  async pseudonymMapping(actor: Actor, slug: string, id: string): Promise<string> {
    const { ctx, row } = await this.visibleExport(actor, slug, id);
    if (!canManageExports(ctx.access)) throw forbidden('Only project admins can download the pseudonym mapping.');
    const request = JSON.parse(row.request) as ExportRequest;
    if (!request.options?.pseudonymize) throw conflict(undefined, 'This export is not pseudonymised; its metadata.json names the patients.', 'not_pseudonymized');
    const frozen = await this.repos.exports.patients(id);
    const rows = [];
    for (const p of frozen) {
      const patient = await this.repos.catalog.findPatientById(p.patient_id);
      rows.push({ folder: p.folder, patientId: p.patient_id, code: patient?.code ?? null, name: patient?.name ?? '' });
    }
    return pseudonymMappingCsv(rows);
  }

  private async usersById(ids: string[]): Promise<Map<string, UserRow>> {
    const map = new Map<string, UserRow>();
    for (const id of new Set(ids)) {
      const user = await this.repos.users.findById(id);
      if (user) map.set(id, user);
    }
    return map;
  }

  view(row: ExportRow, creator: UserRow | undefined) {
    const request = JSON.parse(row.request) as ExportRequest;
    return {
      id: row.id,
      name: row.name,
      notes: row.notes,
      status: row.status,
      createdAt: row.created_at,
      startedAt: row.started_at,
      completedAt: row.completed_at,
      expiresAt: row.expires_at,
      createdBy: { id: row.created_by, username: creator?.username ?? '', displayName: creator?.display_name ?? '' },
      patientCount: row.patient_count,
      fileCount: row.file_count,
      totalBytes: row.total_bytes,
      zipSize: row.zip_size,
      zipSha256: row.zip_sha256,
      progress: progressView({
        phase: row.progress_phase,
        filesDone: row.files_done,
        filesTotal: row.file_count,
        bytesDone: row.bytes_done,
        bytesTotal: row.total_bytes,
        startedAt: row.status === 'processing' ? row.started_at : null,
        now: new Date(),
      }),
      cancelRequested: row.cancel_requested_at !== null,
      errorMessage: row.error_message,
      attempt: row.attempt,
      skipped: JSON.parse(row.skipped) as Array<{ patientFolder: string; reason: string }>,
      downloadCount: row.download_count,
      lastDownloadAt: row.last_download_at,
      notification: { status: row.notification_status, sentAt: row.notified_at, error: row.notification_error },
      criteria: request,
    };
  }
}
