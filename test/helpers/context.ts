import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { LocalBlobStore } from '../../src/adapters/blob/local-blob-store.js';
import type { DatabaseHandle } from '../../src/adapters/db/database.js';
import { buildHttpApp } from '../../src/http/app.js';
import { exportPollingQueue, type PollingQueue } from '../../src/adapters/queue/polling-queue.js';
import { loadConfig, type ExportLimits } from '../../src/config.js';
import { createServices, storageSpaceOf, type Services } from '../../src/services/index.js';
import type { TestDatabase } from './databases.js';

export interface TestContext {
  database: DatabaseHandle;
  services: Services;
  blobs: LocalBlobStore;
  queue: PollingQueue;
  limits: ExportLimits;
  dir: string;
  close(): Promise<void>;
}

/** Real database and local blob store in a temporary directory; nothing shared between tests. */
export async function openTestContext(db: TestDatabase, limits: Partial<ExportLimits> = {}, options: { sharePublicLinks?: boolean } = {}): Promise<TestContext> {
  const database = await db.open();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cohort-test-'));
  const blobs = new LocalBlobStore(path.join(dir, 'blobs'));
  const queue = exportPollingQueue(database.db, 100);
  const exportLimits = { ...loadConfig({}).exports, diskReserveBytes: 0, ...limits };
  const services = createServices({
    db: database.db,
    blobs,
    queue,
    space: storageSpaceOf(blobs),
    sessionTtlMs: 3600_000,
    exportLimits,
    shareOptions: { publicUrl: 'https://cohort.lab.example', allowPublicLinks: options.sharePublicLinks ?? false },
  });
  return {
    database,
    services,
    blobs,
    queue,
    limits: exportLimits,
    dir,
    async close() {
      await database.destroy();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

export async function openTestApp(ctx: TestContext, overrides: { loginRateLimitPerMinute?: number } = {}): Promise<FastifyInstance> {
  const app = await buildHttpApp(ctx.services, {
    logLevel: 'silent',
    sessionTtlMs: 3600_000,
    cookieSecure: false,
    trustProxy: false,
    loginRateLimitPerMinute: overrides.loginRateLimitPerMinute ?? 1000,
    webRoot: path.join(ctx.dir, 'no-web'),
    version: 'test',
  });
  await app.ready();
  return app;
}

/** Signs in through the API and returns what a browser would hold: the cookie and the CSRF token. */
export async function login(app: FastifyInstance, username: string, password: string): Promise<{ cookie: string; csrf: string }> {
  const res = await app.inject({ method: 'POST', url: '/api/auth/login', payload: { username, password } });
  if (res.statusCode !== 200) throw new Error(`login ${username} failed: ${res.statusCode} ${res.body}`);
  const cookie = res.cookies.find((c) => c.name === 'cohort_session')!;
  return { cookie: `${cookie.name}=${cookie.value}`, csrf: res.json().csrfToken };
}
