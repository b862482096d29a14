import pg from 'pg';
import PgBoss from 'pg-boss';
import { SCHEMA_CHANGE_LOCK } from '../db/database.js';
import type { JobQueue } from './job-queue.js';

const QUEUE = 'cohort-export';

/**
 * pg-boss on PostgreSQL, so worker processes on any number of machines share the exports. The
 * job only carries the export id; `short` policy with the id as singleton key keeps at most one
 * waiting job per export however often it is enqueued.
 */
export class PgBossQueue implements JobQueue {
  private readonly boss: PgBoss;
  private started: Promise<void> | undefined;
  private workerIds: string[] = [];

  private readonly connectionString: string;

  constructor(options: { connectionString: string; schema: string }) {
    this.connectionString = options.connectionString;
    this.boss = new PgBoss({
      connectionString: options.connectionString,
      schema: options.schema,
      max: 4,
      // Exports run for hours; the export row's heartbeat, not pg-boss, decides when one is lost.
      expireInHours: 23,
      retryLimit: 0,
      supervise: true,
      schedule: false,
    });
    this.boss.on('error', () => undefined);
  }

  private ready(): Promise<void> {
    this.started ??= (async () => {
      await this.withSchemaLock(() => this.boss.start());
      // Workers starting together race to create the queue (PostgreSQL may even pick one of them as
      // a deadlock victim): whoever loses looks again and finds it made.
      for (let attempt = 1; !(await this.boss.getQueue(QUEUE)); attempt++) {
        try {
          await this.boss.createQueue(QUEUE, { name: QUEUE, policy: 'short', retryLimit: 0, expireInHours: 23 });
        } catch (error) {
          if (attempt >= 5) throw error;
          await new Promise((resolve) => setTimeout(resolve, 50 * attempt + Math.random() * 100));
        }
      }
    })();
    return this.started;
  }

  /** pg-boss creates and migrates its schema on start: not while Cohort's migrations read the catalog. */
  private async withSchemaLock<T>(fn: () => Promise<T>): Promise<T> {
    const client = new pg.Client({ connectionString: this.connectionString });
    await client.connect();
    try {
      await client.query('select pg_advisory_lock($1)', [SCHEMA_CHANGE_LOCK]);
      return await fn();
    } finally {
      await client.query('select pg_advisory_unlock($1)', [SCHEMA_CHANGE_LOCK]).catch(() => undefined);
      await client.end();
    }
  }

  async enqueue(exportId: string): Promise<void> {
    await this.ready();
    await this.boss.send(QUEUE, { exportId }, { singletonKey: exportId, retryLimit: 0 });
  }

  async start(handler: (exportId: string) => Promise<void>, options: { concurrency: number }): Promise<void> {
    await this.ready();
    for (let i = 0; i < options.concurrency; i++) {
      const id = await this.boss.work<{ exportId: string }>(QUEUE, { batchSize: 1, pollingIntervalSeconds: 1 }, async ([job]) => {
        if (job) await handler(job.data.exportId);
      });
      this.workerIds.push(id);
    }
  }

  async stop(): Promise<void> {
    if (!this.started) return;
    await this.started.catch(() => undefined);
    await this.boss.stop({ graceful: true, wait: true, timeout: 30_000 }).catch(() => undefined);
  }
}
