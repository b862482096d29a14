import type { Kysely } from 'kysely';
import type { Database } from '../schema.js';
import { AuditRepository } from './audit-repository.js';
import { AuthRepository } from './auth-repository.js';
import { BrowseRepository } from './browse-repository.js';
import { CatalogRepository } from './catalog-repository.js';
import { ExportsRepository } from './exports-repository.js';
import { FoldersRepository } from './folders-repository.js';
import { ProjectsRepository } from './projects-repository.js';
import { SharesRepository } from './shares-repository.js';
import { UsersRepository } from './users-repository.js';

export interface Repositories {
  users: UsersRepository;
  projects: ProjectsRepository;
  folders: FoldersRepository;
  catalog: CatalogRepository;
  browse: BrowseRepository;
  auth: AuthRepository;
  audit: AuditRepository;
  exports: ExportsRepository;
  shares: SharesRepository;
}

export function createRepositories(db: Kysely<Database>): Repositories {
  return {
    users: new UsersRepository(db),
    projects: new ProjectsRepository(db),
    folders: new FoldersRepository(db),
    catalog: new CatalogRepository(db),
    browse: new BrowseRepository(db),
    auth: new AuthRepository(db),
    audit: new AuditRepository(db),
    exports: new ExportsRepository(db),
    shares: new SharesRepository(db),
  };
}
