import type { Repositories } from '../adapters/db/repositories/index.js';
import type { PatientListItem, ModalityUsage } from '../adapters/db/repositories/browse-repository.js';
import type { ProjectRow, UserRow } from '../adapters/db/schema.js';
import { notFound } from '../domain/errors.js';
import {
  canSeeFolder,
  canSeeFolderAsAncestor,
  canSeeProject,
  isPathWithin,
  patientScope,
  type Actor,
  type PatientScope,
  type ProjectAccess,
  type ProjectRole,
} from '../domain/policy.js';

export function actorOf(user: UserRow): Actor {
  return { userId: user.id, isSiteAdmin: user.is_site_admin === 1 };
}

export interface ProjectContext {
  project: ProjectRow;
  access: NonNullable<ProjectAccess>;
  scope: PatientScope;
}

export interface TreeFolder {
  id: string;
  parentId: string | null;
  name: string;
  path: string;
  patientCount: number;
  totalPatientCount: number;
  accessible: boolean;
}

export interface PatientQuery {
  text?: string;
  tags?: string[];
  tagMode: 'any' | 'all';
  recursive: boolean;
  limit: number;
  offset: number;
}

const summary = (project: ProjectRow, role: ProjectRole) => ({
  id: project.id,
  slug: project.slug,
  name: project.name,
  description: project.description,
  role,
});

/** What a user may browse: their projects, folder trees, patients, modalities and tags. */
export class BrowseService {
  constructor(private readonly repos: Repositories) {}

  /**
   * The project and the actor's access to it. Unknown projects and projects the actor is not a
   * member of answer the same 404, so nobody learns what exists elsewhere.
   */
  async projectContext(actor: Actor, slug: string): Promise<ProjectContext> {
    const project = await this.repos.projects.findBySlug(slug);
    const access = project ? await this.repos.projects.accessOf(project.id, actor.userId) : null;
    if (!project || !canSeeProject(access)) throw notFound('Project');
    return { project, access: access!, scope: patientScope(actor, access!) };
  }

  async listProjects(actor: Actor) {
    const rows = await this.repos.projects.listForUser(actor.userId);
    return rows.map((p) => summary(p, p.role));
  }

  async tree(actor: Actor, slug: string): Promise<{ project: ReturnType<typeof summary>; folders: TreeFolder[] }> {
    const ctx = await this.projectContext(actor, slug);
    const [folders, counts] = await Promise.all([
      this.repos.browse.folders(ctx.project.id),
      this.repos.browse.patientCountsByFolder(ctx.project.id, ctx.scope),
    ]);
    const shown = folders.filter((f) => canSeeFolder(ctx.access, f.path) || canSeeFolderAsAncestor(ctx.access, f.path));
    const result = shown.map<TreeFolder>((f) => {
      const accessible = canSeeFolder(ctx.access, f.path);
      return {
        id: f.id,
        parentId: f.parent_id,
        name: f.name,
        path: f.path,
        patientCount: accessible ? (counts.get(f.id) ?? 0) : 0,
        // Counts come from the scoped query, so an ancestor's total only sums what the actor may see.
        totalPatientCount: shown.filter((d) => isPathWithin(d.path, f.path)).reduce((n, d) => n + (counts.get(d.id) ?? 0), 0),
        accessible,
      };
    });
    return { project: summary(ctx.project, ctx.access.role), folders: result };
  }

  async folderPatients(actor: Actor, slug: string, folderId: string, query: PatientQuery): Promise<{ total: number; items: PatientListItem[] }> {
    const ctx = await this.projectContext(actor, slug);
    const folder = await this.repos.browse.findFolder(ctx.project.id, folderId);
    if (!folder || !(canSeeFolder(ctx.access, folder.path) || canSeeFolderAsAncestor(ctx.access, folder.path))) throw notFound('Folder');
    if (!canSeeFolder(ctx.access, folder.path) && !query.recursive) return { total: 0, items: [] };
    return this.repos.browse.listPatients(ctx.project.id, ctx.scope, { folderPath: folder.path, ...query });
  }

  async modalities(actor: Actor, slug: string): Promise<ModalityUsage[]> {
    const ctx = await this.projectContext(actor, slug);
    return this.repos.browse.modalityUsage(ctx.project.id, ctx.scope);
  }

  async tags(actor: Actor, slug: string) {
    const ctx = await this.projectContext(actor, slug);
    return this.repos.browse.tagUsage(ctx.project.id, ctx.scope);
  }
}
