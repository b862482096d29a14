import type { Kysely } from 'kysely';
import { ExportsRepository } from '../db/repositories/exports-repository.js';
import type { Database } from '../db/schema.js';
import type { JobQueue } from './job-queue.js';

/**
 * The embedded queue: pending export rows are the queue itself. Workers look for them on a short
 * interval and at once when told (enqueue in the same process); several processes on one SQLite
 * file share the work safely, because only one of them can claim a row.
 */
export class PollingQueue implements JobQueue {
  private handler: ((id: string) => Promise<void>) | undefined;
  private timer: NodeJS.Timeout | undefined;
  private running = new Set<string>();
  private concurrency = 1;
  private polling = false;
  private stopped = false;
  private idle: Array<() => void> = [];
  private listeners: Array<(exportId: string) => void> = [];

  constructor(
    private readonly findPending: (limit: number) => Promise<string[]>,
    private readonly options: { intervalMs: number } = { intervalMs: 1000 },
  ) {}

  async enqueue(exportId: string): Promise<void> {
    for (const listener of this.listeners) listener(exportId);
    this.wake();
  }

  /** Hears of every enqueue, e.g. to wake a worker polling the same table in another thread. */
  onEnqueue(listener: (exportId: string) => void): void {
    this.listeners.push(listener);
  }

  async start(handler: (exportId: string) => Promise<void>, options: { concurrency: number }): Promise<void> {
    this.handler = handler;
    this.concurrency = options.concurrency;
    this.stopped = false;
    this.timer = setInterval(() => this.wake(), this.options.intervalMs);
    this.wake();
  }

  /** Looks for pending exports now rather than at the next interval. */
  wake(): void {
    if (!this.handler || this.stopped || this.polling) return;
    this.polling = true;
    void this.poll().finally(() => {
      this.polling = false;
    });
  }

  private async poll(): Promise<void> {
    const free = this.concurrency - this.running.size;
    if (free <= 0) return;
    let ids: string[];
    try {
      ids = await this.findPending(free + this.running.size);
    } catch {
      return; // The database may be briefly unavailable; the next interval tries again.
    }
    for (const id of ids) {
      if (this.running.size >= this.concurrency || this.stopped) break;
      if (this.running.has(id)) continue;
      this.running.add(id);
      void this.handler!(id)
        .catch(() => undefined)
        .finally(() => {
          this.running.delete(id);
          if (this.running.size === 0) for (const resolve of this.idle.splice(0)) resolve();
          this.wake();
        });
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    if (this.running.size > 0) await new Promise<void>((resolve) => this.idle.push(resolve));
  }
}

/** The polling queue over the export table of `db`. */
export function exportPollingQueue(db: Kysely<Database>, intervalMs = 1000): PollingQueue {
  const exports = new ExportsRepository(db);
  return new PollingQueue(async (limit) => (await exports.pendingIds(limit)).map((r) => r.id), { intervalMs });
}
