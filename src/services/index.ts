import type { Kysely } from 'kysely';
import type { BlobStore } from '../adapters/blob/blob-store.js';
import { createRepositories, type Repositories } from '../adapters/db/repositories/index.js';
import type { Database } from '../adapters/db/schema.js';
import { AdminService } from './admin-service.js';
import { AuthService } from './auth-service.js';
import { BrowseService } from './browse-service.js';
import { DemoService } from './demo/demo-service.js';
import { ImportService } from './import-service.js';

export interface Services {
  repos: Repositories;
  auth: AuthService;
  admin: AdminService;
  browse: BrowseService;
  importer: ImportService;
  demo: DemoService;
}

export function createServices(deps: { db: Kysely<Database>; blobs: BlobStore; sessionTtlMs: number }): Services {
  const repos = createRepositories(deps.db);
  const auth = new AuthService(repos, { sessionTtlMs: deps.sessionTtlMs });
  const admin = new AdminService(repos, auth);
  const importer = new ImportService(repos, deps.blobs);
  return {
    repos,
    auth,
    admin,
    browse: new BrowseService(repos),
    importer,
    demo: new DemoService(repos, admin, importer),
  };
}
