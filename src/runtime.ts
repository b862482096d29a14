import fs from 'node:fs';
import { createRequire } from 'node:module';
import type { BlobStore } from './adapters/blob/blob-store.js';
import { createBlobStore } from './adapters/blob/create-blob-store.js';
import { migrateToLatest, openDatabase, type DatabaseHandle } from './adapters/db/database.js';
import type { Config } from './config.js';
import { ExportPipeline } from './jobs/export-pipeline.js';
import { ExportWorker } from './jobs/export-worker.js';
import type { Mailer } from './adapters/mail/mailer.js';
import { OutboxMailer } from './adapters/mail/outbox-mailer.js';
import { SmtpMailer } from './adapters/mail/smtp-mailer.js';
import { NotificationService } from './services/notification-service.js';
import { exportPollingQueue } from './adapters/queue/polling-queue.js';
import type { JobQueue } from './adapters/queue/job-queue.js';
import { createServices, storageSpaceOf, type Services } from './services/index.js';

export const APP_VERSION: string = (createRequire(import.meta.url)('../package.json') as { version: string }).version;

export interface Runtime {
  config: Config;
  database: DatabaseHandle;
  blobs: BlobStore;
  queue: JobQueue;
  services: Services;
  close(): Promise<void>;
}

/** Wires adapters and services from the configuration; every command and the server start here. */
export async function openRuntime(config: Config, options: { migrate?: boolean } = {}): Promise<Runtime> {
  fs.mkdirSync(config.dataDir, { recursive: true });
  const database = await openDatabase({ url: config.databaseUrl, schema: config.databaseSchema });
  try {
    if (options.migrate !== false) await migrateToLatest(database);
  } catch (error) {
    await database.destroy();
    throw error;
  }
  const blobs = await createBlobStore(config.storage);
  // pg-boss is loaded only on PostgreSQL: the embedded setup never needs it.
  const queue: JobQueue =
    database.dialect === 'postgres'
      ? new (await import('./adapters/queue/pg-boss-queue.js')).PgBossQueue({
          connectionString: config.databaseUrl,
          schema: config.databaseSchema ? `${config.databaseSchema}_jobs` : 'pgboss',
        })
      : exportPollingQueue(database.db);
  const services = createServices({
    db: database.db,
    blobs,
    queue,
    space: storageSpaceOf(blobs),
    sessionTtlMs: config.sessionTtlMs,
    exportLimits: config.exports,
    shareOptions: { publicUrl: publicUrlOf(config), allowPublicLinks: config.sharePublicLinks },
  });
  return {
    config,
    database,
    blobs,
    queue,
    services,
    async close() {
      await queue.stop();
      await database.destroy();
    },
  };
}

export interface FirstStartResult {
  adminCreated?: { username: string; generatedPassword?: string };
  demoLoaded?: { projectSlug: string; patients: number };
}

/**
 * On an empty database: creates the administrator and, unless turned off, the demo project.
 * Later starts find users and projects and change nothing.
 */
export async function firstStart(runtime: Runtime): Promise<FirstStartResult> {
  const { services, config } = runtime;
  const result: FirstStartResult = {};
  if ((await services.repos.users.count()) === 0) {
    const { user, generatedPassword } = await services.admin.addUser({
      username: config.admin.username,
      email: config.admin.email,
      password: config.admin.password,
      displayName: 'Administrator',
      siteAdmin: true,
    });
    result.adminCreated = { username: user.username, generatedPassword };
  }
  if (config.loadDemo && (await services.repos.projects.count()) === 0) {
    const owner = await services.repos.users.findByUsername(config.admin.username);
    const demo = await services.demo.load({ ownerUsername: owner?.username });
    result.demoLoaded = { projectSlug: demo.projectSlug, patients: demo.patients };
  }
  return result;
}

/** The export worker of this process, reading its settings from the configuration. */
export function createExportWorker(runtime: Runtime, options: { workerId: string; log?: (message: string) => void }): ExportWorker {
  const { config, services, blobs, queue } = runtime;
  const pipeline = new ExportPipeline(services.repos, blobs, storageSpaceOf(blobs), {
    workerId: options.workerId,
    appVersion: APP_VERSION,
    retentionDays: config.exports.retentionDays,
    diskReserveBytes: config.exports.diskReserveBytes,
    heartbeatIntervalMs: 500,
    compressionLevel: config.exports.compressionLevel,
    stallTimeoutMs: config.exports.stallTimeoutMs,
  });
  const mailer: Mailer = config.mail.smtpUrl ? new SmtpMailer(config.mail.smtpUrl, config.mail.from) : new OutboxMailer(config.mail.outboxDir, config.mail.from);
  const notifier = new NotificationService(services.repos, mailer, {
    publicUrl: publicUrlOf(config),
    maxAttempts: config.mail.maxAttempts,
    retryBaseMs: config.mail.retryBaseMs,
    log: options.log,
  });
  return new ExportWorker(services.repos, blobs, queue, pipeline, {
    workerId: options.workerId,
    concurrency: config.exports.workerConcurrency,
    heartbeatTimeoutMs: config.exports.heartbeatTimeoutMs,
    sweepIntervalMs: 15_000,
    notifier,
    log: options.log,
  });
}

/** The address users reach Cohort at, for links in emails and share links. */
export function publicUrlOf(config: Config): string {
  return config.publicUrl ?? `http://localhost:${config.port}`;
}
