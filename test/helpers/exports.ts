import { createHash, randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import zlib from 'node:zlib';
import type { BlobStore } from '../../src/adapters/blob/blob-store.js';
import type { Services } from '../../src/services/index.js';
import { ExportPipeline } from '../../src/jobs/export-pipeline.js';
import { ExportWorker } from '../../src/jobs/export-worker.js';
import { storageSpaceOf } from '../../src/services/index.js';
import type { JobQueue } from '../../src/adapters/queue/job-queue.js';

/** Registers a file for a patient directly (bytes into the store, a row into the registry). */
export async function addFile(
  services: Services,
  blobs: BlobStore,
  file: { patientId: string; modality: string; kind?: 'raw' | 'processed'; name: string; content: Buffer | string; subtype?: string | null },
): Promise<{ id: string; storageKey: string; sha256: string }> {
  const data = Buffer.isBuffer(file.content) ? file.content : Buffer.from(file.content);
  const patient = (await services.repos.catalog.findPatientById(file.patientId))!;
  const modality = (await services.repos.catalog.modalities()).find((m) => m.slug === file.modality)!;
  const id = randomUUID();
  const storageKey = `files/${patient.project_id}/${id}`;
  await blobs.put(storageKey, Readable.from([data]));
  const sha256 = createHash('sha256').update(data).digest('hex');
  await services.repos.catalog.insertFile({
    id,
    project_id: patient.project_id,
    patient_id: patient.id,
    modality_id: modality.id,
    subtype: file.subtype ?? null,
    kind: file.kind ?? 'raw',
    original_name: file.name,
    storage: 'store',
    storage_key: storageKey,
    size_bytes: data.length,
    sha256,
    crc32: zlib.crc32(data),
    media_type: 'application/octet-stream',
    metadata: '{}',
    created_by: null,
    created_at: new Date().toISOString(),
    deleted_at: null,
  });
  await services.repos.projects.enableModalities(patient.project_id, [modality.id]);
  return { id, storageKey, sha256 };
}

export function startWorker(
  services: Services,
  blobs: BlobStore,
  queue: JobQueue,
  options: { workerId?: string; heartbeatIntervalMs?: number; heartbeatTimeoutMs?: number; retentionDays?: number; stallTimeoutMs?: number } = {},
): ExportWorker {
  const pipeline = new ExportPipeline(services.repos, blobs, storageSpaceOf(blobs), {
    workerId: options.workerId ?? 'test-worker',
    appVersion: 'test',
    retentionDays: options.retentionDays ?? 7,
    diskReserveBytes: 0,
    heartbeatIntervalMs: options.heartbeatIntervalMs ?? 100,
    stallTimeoutMs: options.stallTimeoutMs,
  });
  const worker = new ExportWorker(services.repos, blobs, queue, pipeline, {
    workerId: options.workerId ?? 'test-worker',
    concurrency: 1,
    heartbeatTimeoutMs: options.heartbeatTimeoutMs ?? 30_000,
    sweepIntervalMs: 200,
  });
  return worker;
}

/** Polls an export until it reaches one of `statuses` (or fails the test after `timeoutMs`). */
export async function waitForStatus(services: Services, id: string, statuses: string[], timeoutMs = 20_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const row = await services.repos.exports.findById(id);
    if (row && statuses.includes(row.status)) return row;
    if (Date.now() > deadline) throw new Error(`export ${id} is ${row?.status} (${row?.error_message ?? ''}), expected ${statuses.join('/')}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
