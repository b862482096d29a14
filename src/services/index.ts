import type { Kysely } from 'kysely';
import type { BlobStore } from '../adapters/blob/blob-store.js';
import { createRepositories, type Repositories } from '../adapters/db/repositories/index.js';
import type { Database } from '../adapters/db/schema.js';
import type { JobQueue } from '../adapters/queue/job-queue.js';
import type { ExportLimits } from '../config.js';
import { AdminService } from './admin-service.js';
import { AuthService } from './auth-service.js';
import { BrowseService } from './browse-service.js';
import { DemoService } from './demo/demo-service.js';
import { ExportService, type StorageSpace } from './export-service.js';
import { ImportService } from './import-service.js';
import { ShareService, type ShareOptions } from './share-service.js';

export interface Services {
  repos: Repositories;
  auth: AuthService;
  admin: AdminService;
  browse: BrowseService;
  importer: ImportService;
  demo: DemoService;
  exports: ExportService;
  shares: ShareService;
}

export interface ServiceDeps {
  db: Kysely<Database>;
  blobs: BlobStore;
  queue: JobQueue;
  space: StorageSpace;
  sessionTtlMs: number;
  exportLimits: ExportLimits;
  shareOptions: ShareOptions;
}

export function createServices(deps: ServiceDeps): Services {
  const repos = createRepositories(deps.db);
  const auth = new AuthService(repos, { sessionTtlMs: deps.sessionTtlMs });
  const admin = new AdminService(repos, auth);
  const importer = new ImportService(repos, deps.blobs);
  const browse = new BrowseService(repos);
  const exports = new ExportService(repos, browse, deps.blobs, deps.queue, deps.space, deps.exportLimits);
  return {
    repos,
    auth,
    admin,
    browse,
    importer,
    demo: new DemoService(repos, admin, importer),
    exports,
    shares: new ShareService(repos, exports, deps.shareOptions),
  };
}

/** Free space for exports: what the local disk has; object stores have no limit to check. */
export function storageSpaceOf(blobs: BlobStore): StorageSpace {
  const local = blobs as BlobStore & { freeBytes?: () => Promise<number> };
  return { freeBytes: async () => (typeof local.freeBytes === 'function' ? local.freeBytes() : null) };
}
