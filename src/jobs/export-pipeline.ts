import { createHash } from 'node:crypto';
import fs from 'node:fs';
import type { Readable } from 'node:stream';
import { BlobNotFoundError, type BlobStore } from '../adapters/blob/blob-store.js';
import { measured } from '../adapters/blob/hashing-stream.js';
import type { Repositories } from '../adapters/db/repositories/index.js';
import type { ExportEntryRow, ExportRow, FileRow } from '../adapters/db/schema.js';
import { createZipWriter, type ZipWriter } from '../adapters/zip/zip-writer.js';
import { buildManifest, sha256SumsText } from '../domain/manifest.js';
import { canExportPatient, canExportFromProject } from '../domain/policy.js';
import { formatBytes } from '../domain/units.js';
import { sanitizePathSegment, type ZipLayout } from '../domain/zip-layout.js';
import { exportZipKey, type ExportRequest, type StorageSpace } from '../services/export-service.js';

/** A failure to tell the researcher about, in their words; `detail` is for whoever debugs it. */
export class ExportFailure extends Error {
  constructor(
    message: string,
    readonly detail?: string,
  ) {
    super(message);
    this.name = 'ExportFailure';
  }
}

class ExportCancelled extends Error {
  constructor() {
    super('The export was cancelled.');
    this.name = 'ExportCancelled';
  }
}

/** The worker is shutting down: the export goes back to the queue for another worker. */
export class WorkerShutdown extends Error {
  constructor() {
    super('The worker is stopping.');
    this.name = 'WorkerShutdown';
  }
}

export interface PipelineOptions {
  workerId: string;
  appVersion: string;
  retentionDays: number;
  diskReserveBytes: number;
  /** How often progress, heartbeat and the cancel flag are exchanged with the database. */
  heartbeatIntervalMs: number;
  /** A build that moves no byte for this long (a hung storage read or write) fails instead of waiting forever. */
  stallTimeoutMs?: number;
  compressionLevel?: number;
}

interface Progress {
  phase: string;
  filesDone: number;
  bytesDone: number;
}

/**
 * Builds one export: re-checks access, streams every planned file from storage through a verifying
 * hash into the ZIP, and the ZIP through a hash into storage. Nothing is buffered beyond stream
 * chunks; a cancel or a failure aborts the ZIP and the storage write, which leaves nothing behind.
 */
export class ExportPipeline {
  constructor(
    private readonly repos: Repositories,
    private readonly blobs: BlobStore,
    private readonly space: StorageSpace,
    private readonly options: PipelineOptions,
  ) {}

  /** Runs an export this worker has claimed (status processing, `row.attempt` is ours). */
  async run(row: ExportRow, shutdown?: AbortSignal): Promise<'completed' | 'failed' | 'cancelled' | 'lost' | 'requeued'> {
    const progress: Progress = { phase: 'checking access', filesDone: 0, bytesDone: 0 };
    const abort = new AbortController();
    const onShutdown = () => abort.abort(new WorkerShutdown());
    if (shutdown?.aborted) onShutdown();
    shutdown?.addEventListener('abort', onShutdown, { once: true });
    let lost = false;
    let lastBytes = -1;
    let lastMoved = Date.now();
    const stallTimeoutMs = this.options.stallTimeoutMs ?? 10 * 60_000;
    const beat = async () => {
      // The heartbeat says the worker lives; this says the export moves.
      if (progress.bytesDone !== lastBytes) {
        lastBytes = progress.bytesDone;
        lastMoved = Date.now();
      } else if (Date.now() - lastMoved > stallTimeoutMs && !abort.signal.aborted) {
        abort.abort(
          new ExportFailure(
            `The export stopped making progress for ${Math.round(stallTimeoutMs / 1000)} seconds (storage did not answer) and was stopped. Try again later; if it keeps happening, tell an administrator.`,
          ),
        );
      }
      const state = await this.repos.exports.heartbeat(row.id, row.attempt, progress, new Date().toISOString());
      if (!state.owned) {
        lost = true;
        abort.abort(new ExportCancelled());
      } else if (state.cancelRequested) {
        abort.abort(new ExportCancelled());
      }
    };
    const timer = setInterval(() => void beat().catch(() => undefined), this.options.heartbeatIntervalMs);
    const key = exportZipKey(row.id, row.attempt);
    try {
      await beat();
      abort.signal.throwIfAborted();
      const result = await this.build(row, key, progress, abort.signal);
      clearInterval(timer);
      shutdown?.removeEventListener('abort', onShutdown);
      // A cancel or delete may have come while the last bytes were being stored.
      abort.signal.throwIfAborted();
      const now = new Date();
      const completed = await this.repos.exports.transition(
        row.id,
        ['processing'],
        {
          status: 'completed',
          zip_key: key,
          zip_size: result.size,
          zip_sha256: result.sha256,
          completed_at: now.toISOString(),
          expires_at: new Date(now.getTime() + this.options.retentionDays * 86_400_000).toISOString(),
          progress_phase: 'done',
          files_done: progress.filesDone,
          bytes_done: progress.bytesDone,
          skipped: JSON.stringify(result.skipped),
          worker_id: null,
          notification_status: 'pending',
          notification_next_at: now.toISOString(),
        },
        row.attempt,
        { unlessCancelled: true },
      );
      if (!completed) {
        // Cancelled or deleted at the last moment, or someone else owns the export now: ours is void.
        await this.blobs.delete(key).catch(() => undefined);
        const cancelled = await this.repos.exports.transition(row.id, ['processing'], { status: 'cancelled', completed_at: now.toISOString(), progress_phase: 'cancelled', worker_id: null }, row.attempt);
        return cancelled ? 'cancelled' : 'lost';
      }
      await this.repos.audit.record({ action: 'export.completed', userId: row.created_by, projectId: row.project_id, targetType: 'export', targetId: row.id, details: { size: result.size } });
      return 'completed';
    } catch (error) {
      clearInterval(timer);
      shutdown?.removeEventListener('abort', onShutdown);
      await this.blobs.delete(key).catch(() => undefined);
      if (lost) return 'lost';
      const now = new Date().toISOString();
      if (abort.signal.reason instanceof WorkerShutdown) {
        // Handing it back is not the export's fault, so it does not use up one of its attempts.
        await this.repos.exports.transition(
          row.id,
          ['processing'],
          { status: 'pending', worker_id: null, progress_phase: 'queued', attempt_limit: row.attempt_limit + 1 },
          row.attempt,
        );
        return 'requeued';
      }
      if (error instanceof ExportCancelled || abort.signal.reason instanceof ExportCancelled) {
        await this.repos.exports.transition(row.id, ['processing'], { status: 'cancelled', completed_at: now, progress_phase: 'cancelled', worker_id: null }, row.attempt);
        return 'cancelled';
      }
      const reason = abort.signal.reason;
      const failure =
        reason instanceof ExportFailure
          ? reason
          : error instanceof ExportFailure
          ? error
          : new ExportFailure('The export stopped because of an unexpected problem on the server. Try again; if it keeps failing, tell an administrator.', String((error as Error)?.stack ?? error));
      await this.repos.exports.transition(
        row.id,
        ['processing'],
        {
          status: 'failed',
          completed_at: now,
          progress_phase: 'failed',
          error_message: failure.message,
          error_detail: failure.detail ?? failure.stack ?? null,
          worker_id: null,
          notification_status: 'pending',
          notification_next_at: now,
        },
        row.attempt,
      );
      await this.repos.audit.record({ action: 'export.failed', userId: row.created_by, projectId: row.project_id, targetType: 'export', targetId: row.id, details: { error: failure.message } });
      return 'failed';
    }
  }

  private async build(row: ExportRow, key: string, progress: Progress, signal: AbortSignal) {
    const request = JSON.parse(row.request) as ExportRequest;
    const { entries, patients, skipped, folderOf, files } = await this.recheckAccess(row);
    const total = entries.reduce((n, e) => n + e.size_bytes, 0);
    const free = await this.space.freeBytes();
    if (free !== null && free - total < this.options.diskReserveBytes) {
      throw new ExportFailure(`The server does not have room for this ${formatBytes(total)} export right now. Try again later or ask an administrator.`);
    }

    progress.phase = 'writing';
    const zip = createZipWriter({ compressionLevel: this.options.compressionLevel });
    const zipHash = measured(zip.output, { crc32: false });
    // An early failure can destroy the stream before storage has attached to it; the failure still
    // reaches us through `stored` and the entry promises, so an unheard 'error' event is not news.
    zipHash.on('error', () => undefined);
    const stored = this.blobs.put(key, zipHash, { signal, contentType: 'application/zip' });
    // If storage fails first (disk full, S3 error) the ZIP must stop too, or the loop would wait forever.
    stored.catch((error) => zip.abort(error instanceof Error ? error : new Error(String(error))));
    const onAbort = () => zip.abort(signal.reason instanceof Error ? signal.reason : new ExportCancelled());
    signal.addEventListener('abort', onAbort, { once: true });
    try {
      const mtime = new Date(row.created_at);
      for (const entry of entries) {
        signal.throwIfAborted();
        const file = files.get(entry.file_id);
        const where = `${describeEntry(entry)} (${folderOf(entry.patient_id)})`;
        if (!file || file.deleted_at) throw new ExportFailure(`The file ${where} was removed from the registry after the export was created.`);
        // The ZIP writer computes each entry's CRC-32 itself; this pass adds the SHA-256.
        const hashing = measured(await this.open(file, where), {
          crc32: false,
          onBytes: (bytes) => {
            progress.bytesDone += bytes;
          },
        });
        let written: { crc32: number };
        try {
          written = await zip.addEntry(entry.path, hashing, { compress: entry.compress === 1, size: entry.size_bytes, mtime });
        } catch (error) {
          if (signal.aborted) throw signal.reason;
          if ((error as Error).name === 'SizeMismatchError') {
            throw new ExportFailure(`The file ${where} does not have the size registered for it; it may have been changed or damaged in storage.`, String(error));
          }
          throw new ExportFailure(`Reading the file ${where} failed: ${(error as Error).message}`, String((error as Error).stack ?? error));
        }
        const digest = hashing.digest();
        if (digest.size !== entry.size_bytes || digest.sha256 !== entry.sha256 || written.crc32 !== entry.crc32) {
          throw new ExportFailure(
            `The file ${where} does not match its registered checksum; its stored copy may be damaged. Nothing was exported.`,
            `expected sha256 ${entry.sha256}, crc32 ${entry.crc32} (${entry.size_bytes} bytes); read sha256 ${digest.sha256}, crc32 ${written.crc32} (${digest.size} bytes)`,
          );
        }
        progress.filesDone++;
      }
      progress.phase = 'finishing';
      const root = sanitizePathSegment(row.name, 'export');
      const creator = await this.repos.users.findById(row.created_by);
      const slugs = new Map((await this.repos.catalog.modalities()).map((m) => [m.id, m.slug]));
      const layout: ZipLayout = {
        root,
        patientFolders: patients.map((p) => ({ patientId: p.patient.id, folder: p.folder })),
        entries: entries.map((e) => {
          const file = files.get(e.file_id)!;
          return {
            path: e.path,
            relativePath: e.path.slice(root.length + 1),
            patientId: e.patient_id,
            patientFolder: folderOf(e.patient_id),
            fileId: e.file_id,
            modality: slugs.get(file.modality_id) ?? 'unknown',
            subtype: file.subtype,
            kind: file.kind,
            originalName: file.original_name,
            size: e.size_bytes,
            sha256: e.sha256,
            crc32: e.crc32,
            compress: e.compress === 1,
          };
        }),
      };
      const tags = await this.repos.catalog.tagsOfPatients(patients.map((p) => p.patient.id));
      const manifest = buildManifest({
        export: {
          id: row.id,
          name: row.name,
          notes: row.notes || null,
          createdBy: { id: row.created_by, username: creator?.username ?? '', displayName: creator?.display_name ?? '' },
          createdAt: row.created_at,
          completedAt: new Date().toISOString(),
          applicationVersion: this.options.appVersion,
        },
        criteria: request,
        layout,
        patients: patients.map((p) => ({
          patientId: p.patient.id,
          code: p.patient.code,
          name: p.patient.name,
          sourceFolder: p.patient.folder_path,
          tags: tags.get(p.patient.id) ?? [],
        })),
        skippedPatients: skipped,
      });
      const metadata = Buffer.from(`${JSON.stringify(manifest, null, 2)}\n`);
      const sums = sha256SumsText([
        ...layout.entries.map((e) => ({ relativePath: e.relativePath, sha256: e.sha256 })),
        { relativePath: 'metadata.json', sha256: createHash('sha256').update(metadata).digest('hex') },
      ]);
      await zip.addBuffer(`${root}/metadata.json`, metadata, { compress: true, mtime });
      await zip.addBuffer(`${root}/SHA256SUMS`, Buffer.from(sums), { compress: true, mtime });
      await zip.finish();
      const { size } = await stored;
      const digest = zipHash.digest();
      if (digest.size !== size) throw new ExportFailure('Storing the ZIP failed: the stored size differs from what was written.');
      return { size, sha256: digest.sha256, skipped };
    } catch (error) {
      zip.abort(error instanceof Error ? error : new Error(String(error)));
      await stored.catch(() => undefined);
      throw error;
    } finally {
      signal.removeEventListener('abort', onAbort);
    }
  }

  /**
   * Access is checked again when the job runs: the creator must still export from the project and
   * see every patient. Patients deleted since creation are left out and listed; any other loss of
   * access fails the whole export rather than handing out a patient the creator may no longer see.
   */
  private async recheckAccess(row: ExportRow) {
    const creator = await this.repos.users.findById(row.created_by);
    const access = creator && !creator.disabled_at ? await this.repos.projects.accessOf(row.project_id, creator.id) : null;
    if (!creator || creator.disabled_at || !canExportFromProject(access)) {
      throw new ExportFailure('The person who created this export can no longer export from this project, so it was not built.');
    }
    const frozen = await this.repos.exports.patientsNow(row.id);
    const actor = { userId: creator.id, isSiteAdmin: creator.is_site_admin === 1 };
    const skipped: Array<{ patientFolder: string; reason: string }> = [];
    const kept = new Set<string>();
    for (const { folder, patientId, patient } of frozen) {
      if (!patient || patient.deleted_at || patient.project_id !== row.project_id) {
        skipped.push({ patientFolder: folder, reason: 'deleted after the export was created' });
        continue;
      }
      const allowed = canExportPatient(actor, access, {
        folderPath: patient.folder_path,
        visibility: patient.visibility,
        createdBy: patient.created_by,
        deleted: false,
      });
      if (!allowed) throw new ExportFailure(`Access to ${folder} changed after the export was created, so it was not built. Create a new export.`);
      kept.add(patientId);
    }
    const entries = (await this.repos.exports.entries(row.id)).filter((e) => kept.has(e.patient_id));
    const files = new Map((await this.repos.catalog.filesByIds(entries.map((e) => e.file_id))).map((f) => [f.id, f]));
    const folders = new Map(frozen.map((p) => [p.patientId, p.folder]));
    const patients = frozen.filter((p) => kept.has(p.patientId)).map((p) => ({ folder: p.folder, patient: p.patient! }));
    return { entries, patients, skipped, files, folderOf: (id: string) => folders.get(id) ?? 'unknown patient' };
  }

  private async open(file: FileRow, where: string): Promise<Readable> {
    try {
      if (file.storage === 'inplace') {
        await fs.promises.access(file.storage_key, fs.constants.R_OK);
        return fs.createReadStream(file.storage_key, { highWaterMark: 1 << 20 });
      }
      return await this.blobs.get(file.storage_key);
    } catch (error) {
      if (error instanceof BlobNotFoundError || (error as NodeJS.ErrnoException).code === 'ENOENT') {
        throw new ExportFailure(`The file ${where} is missing from storage. Nothing was exported; tell an administrator.`, String(error));
      }
      throw new ExportFailure(`The file ${where} could not be read from storage.`, String((error as Error).stack ?? error));
    }
  }
}

function describeEntry(entry: ExportEntryRow): string {
  const parts = entry.path.split('/');
  return `"${parts.slice(2).join('/')}"`;
}
