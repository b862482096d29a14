import type { Kysely } from 'kysely';
import type { ProjectAccess, ProjectRole } from '../../../domain/policy.js';
import type { Database, ProjectRow } from '../schema.js';

export interface ProjectWithRole extends ProjectRow {
  role: ProjectRole;
}

export class ProjectsRepository {
  constructor(private readonly db: Kysely<Database>) {}

  findById(id: string): Promise<ProjectRow | undefined> {
    return this.db.selectFrom('projects').selectAll().where('id', '=', id).executeTakeFirst();
  }

  findBySlug(slug: string): Promise<ProjectRow | undefined> {
    return this.db.selectFrom('projects').selectAll().where('slug', '=', slug).executeTakeFirst();
  }

  async count(): Promise<number> {
    const row = await this.db.selectFrom('projects').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
    return Number(row.n);
  }

  async insert(project: ProjectRow): Promise<void> {
    await this.db.insertInto('projects').values(project).execute();
  }

  listForUser(userId: string): Promise<ProjectWithRole[]> {
    return this.db
      .selectFrom('projects')
      .innerJoin('project_members', 'project_members.project_id', 'projects.id')
      .selectAll('projects')
      .select('project_members.role')
      .where('project_members.user_id', '=', userId)
      .orderBy('projects.name')
      .execute();
  }

  /** The user's role and folder grants in a project, or null when not a member. */
  async accessOf(projectId: string, userId: string): Promise<ProjectAccess> {
    const member = await this.db
      .selectFrom('project_members')
      .select('role')
      .where('project_id', '=', projectId)
      .where('user_id', '=', userId)
      .executeTakeFirst();
    if (!member) return null;
    const grants = await this.db
      .selectFrom('folder_grants')
      .innerJoin('folders', 'folders.id', 'folder_grants.folder_id')
      .select('folders.path')
      .where('folder_grants.project_id', '=', projectId)
      .where('folder_grants.user_id', '=', userId)
      .orderBy('folders.path')
      .execute();
    return { role: member.role, grantedFolderPaths: grants.map((g) => g.path) };
  }

  async upsertMember(projectId: string, userId: string, role: ProjectRole, now: string): Promise<void> {
    await this.db
      .insertInto('project_members')
      .values({ project_id: projectId, user_id: userId, role, created_at: now })
      .onConflict((oc) => oc.columns(['project_id', 'user_id']).doUpdateSet({ role }))
      .execute();
  }

  async addGrant(grant: { id: string; projectId: string; userId: string; folderId: string; now: string }): Promise<boolean> {
    const result = await this.db
      .insertInto('folder_grants')
      .values({ id: grant.id, project_id: grant.projectId, user_id: grant.userId, folder_id: grant.folderId, created_at: grant.now })
      .onConflict((oc) => oc.columns(['user_id', 'folder_id']).doNothing())
      .executeTakeFirst();
    return Number(result.numInsertedOrUpdatedRows ?? 0) > 0;
  }

  async enableModalities(projectId: string, modalityIds: string[]): Promise<void> {
    if (modalityIds.length === 0) return;
    await this.db
      .insertInto('project_modalities')
      .values(modalityIds.map((modality_id) => ({ project_id: projectId, modality_id })))
      .onConflict((oc) => oc.columns(['project_id', 'modality_id']).doNothing())
      .execute();
  }
}
