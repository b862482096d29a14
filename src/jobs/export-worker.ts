import type { BlobStore } from '../adapters/blob/blob-store.js';
import type { Repositories } from '../adapters/db/repositories/index.js';
import type { JobQueue } from '../adapters/queue/job-queue.js';
import { exportZipKey, exportZipPrefix } from '../services/export-service.js';
import type { NotificationService } from '../services/notification-service.js';
import type { ExportPipeline } from './export-pipeline.js';

export interface WorkerOptions {
  workerId: string;
  concurrency: number;
  heartbeatTimeoutMs: number;
  /** How often stale, pending and expired exports are looked for. */
  sweepIntervalMs: number;
  /** Sends the emails of finished exports; without it, none are sent by this worker. */
  notifier?: NotificationService;
  log?: (message: string) => void;
}

/**
 * Takes export ids from the queue, claims each (exactly one worker wins), runs the pipeline, and
 * keeps the books: exports whose worker died are handed back or failed after their attempts, and
 * expired ZIPs are removed.
 */
export class ExportWorker {
  private sweepTimer: NodeJS.Timeout | undefined;
  private sweeping = false;
  private readonly shutdown = new AbortController();

  constructor(
    private readonly repos: Repositories,
    private readonly blobs: BlobStore,
    private readonly queue: JobQueue,
    private readonly pipeline: ExportPipeline,
    private readonly options: WorkerOptions,
  ) {}

  async start(): Promise<void> {
    await this.sweep();
    await this.queue.start((id) => this.process(id), { concurrency: this.options.concurrency });
    this.sweepTimer = setInterval(() => void this.sweep(), this.options.sweepIntervalMs);
  }

  /** Stops taking exports; running ones are handed back to the queue for another worker. */
  async stop(): Promise<void> {
    if (this.sweepTimer) clearInterval(this.sweepTimer);
    this.shutdown.abort();
    await this.queue.stop();
  }

  async process(exportId: string): Promise<void> {
    if (this.shutdown.signal.aborted) return;
    const row = await this.repos.exports.claim(exportId, this.options.workerId, new Date().toISOString());
    if (!row) return; // taken by another worker, cancelled, or already done
    if (row.attempt > row.attempt_limit) {
      await this.repos.exports.transition(row.id, ['processing'], {
        status: 'failed',
        completed_at: new Date().toISOString(),
        progress_phase: 'failed',
        error_message: `The export was interrupted ${row.attempt - 1} times (the server building it stopped) and was given up. Retry it; if it keeps failing, tell an administrator.`,
        worker_id: null,
        notification_status: 'pending',
        notification_next_at: new Date().toISOString(),
      }, row.attempt);
      await this.repos.audit.record({ action: 'export.failed', userId: row.created_by, projectId: row.project_id, targetType: 'export', targetId: row.id, details: { error: 'interrupted too often' } });
      this.options.log?.(`export ${row.id}: interrupted ${row.attempt - 1} times; failed`);
      void this.options.notifier?.deliverDue().catch(() => undefined);
      return;
    }
    const outcome = await this.pipeline.run(row, this.shutdown.signal);
    this.options.log?.(`export ${row.id} attempt ${row.attempt}: ${outcome}`);
    if (outcome === 'requeued') await this.queue.enqueue(row.id).catch(() => undefined);
    // Not awaited: a slow mail server must not hold this worker's next export.
    if (outcome === 'completed' || outcome === 'failed') void this.options.notifier?.deliverDue().catch(() => undefined);
  }

  /** One pass of housekeeping; safe to run in every worker at once. */
  async sweep(): Promise<void> {
    if (this.sweeping) return;
    this.sweeping = true;
    try {
      const now = new Date();
      const before = new Date(now.getTime() - this.options.heartbeatTimeoutMs).toISOString();
      for (const stale of await this.repos.exports.stale(before)) {
        // Handing it back as pending lets any worker claim it with a new attempt number; the old
        // attempt's partial output is removed, and if that worker wakes up it can no longer finish.
        const requeued = await this.repos.exports.transition(stale.id, ['processing'], { status: 'pending', worker_id: null, progress_phase: 'queued' }, stale.attempt);
        if (requeued) {
          await this.blobs.delete(exportZipKey(stale.id, stale.attempt)).catch(() => undefined);
          this.options.log?.(`export ${stale.id}: worker ${stale.worker_id} stopped responding; queued again`);
          if (stale.cancel_requested_at) {
            await this.repos.exports.transition(stale.id, ['pending'], { status: 'cancelled', completed_at: now.toISOString(), progress_phase: 'cancelled' });
          } else {
            await this.queue.enqueue(stale.id).catch(() => undefined);
          }
        }
      }
      for (const { id } of await this.repos.exports.pendingIds(100)) await this.queue.enqueue(id).catch(() => undefined);
      for (const expired of await this.repos.exports.expiredCompleted(now.toISOString())) {
        if (await this.repos.exports.transition(expired.id, ['completed'], { status: 'expired' })) {
          for await (const key of this.blobs.list(exportZipPrefix(expired.id))) await this.blobs.delete(key);
          await this.repos.audit.record({ action: 'export.expired', projectId: expired.project_id, targetType: 'export', targetId: expired.id });
        }
      }
      // Leftovers of workers that died mid-write; a live write touches its partial file continuously.
      const removed = await this.blobs.cleanupAbandoned(Math.max(2 * this.options.heartbeatTimeoutMs, 15 * 60_000));
      if (removed) this.options.log?.(`removed ${removed} abandoned partial upload(s)`);
      await this.options.notifier?.deliverDue();
    } catch (error) {
      this.options.log?.(`sweep failed: ${(error as Error).message}`);
    } finally {
      this.sweeping = false;
    }
  }
}
