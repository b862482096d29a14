import fs from 'node:fs';
import { createRequire } from 'node:module';
import type { BlobStore } from './adapters/blob/blob-store.js';
import { createBlobStore } from './adapters/blob/create-blob-store.js';
import { migrateToLatest, openDatabase, type DatabaseHandle } from './adapters/db/database.js';
import type { Config } from './config.js';
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
  const database = await openDatabase({ url: config.databaseUrl });
  try {
    if (options.migrate !== false) await migrateToLatest(database.db);
  } catch (error) {
    await database.destroy();
    throw error;
  }
  const blobs = createBlobStore(config.storage);
  const queue = exportPollingQueue(database.db);
  const services = createServices({
    db: database.db,
    blobs,
    queue,
    space: storageSpaceOf(blobs),
    sessionTtlMs: config.sessionTtlMs,
    exportLimits: config.exports,
  });
  return { config, database, blobs, queue, services, close: () => database.destroy() };
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
