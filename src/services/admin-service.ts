import { randomBytes, randomUUID } from 'node:crypto';
import type { Repositories } from '../adapters/db/repositories/index.js';
import type { ProjectRow, UserRow } from '../adapters/db/schema.js';
import { conflict, notFound, validationError } from '../domain/errors.js';
import { parseFolderPath, slugProblem, usernameProblem } from '../domain/names.js';
import type { ProjectRole } from '../domain/policy.js';
import type { AuthService } from './auth-service.js';

const EMAIL_PATTERN = /^[^\s@]+@[^\s@]+$/;

/** Site administration: users, projects, memberships and folder grants (CLI now, admin pages later). */
export class AdminService {
  constructor(
    private readonly repos: Repositories,
    private readonly auth: AuthService,
  ) {}

  async addUser(input: { username: string; email: string; password?: string; displayName?: string; siteAdmin?: boolean }): Promise<{ user: UserRow; generatedPassword?: string }> {
    const usernameIssue = usernameProblem(input.username);
    if (usernameIssue) throw validationError('username', `Username ${usernameIssue}.`);
    if (!EMAIL_PATTERN.test(input.email)) throw validationError('email', 'Email must be an email address.');
    if (input.password !== undefined && input.password.length < 8) throw validationError('password', 'Password must be at least 8 characters.');
    if (await this.repos.users.findByUsername(input.username)) throw conflict('username', `A user named "${input.username}" already exists.`);
    const generatedPassword = input.password === undefined ? randomBytes(12).toString('base64url') : undefined;
    const user: UserRow = {
      id: randomUUID(),
      username: input.username,
      email: input.email,
      display_name: input.displayName ?? input.username,
      password_hash: await this.auth.hashPassword(input.password ?? generatedPassword!),
      is_site_admin: input.siteAdmin ? 1 : 0,
      export_emails: 1,
      disabled_at: null,
      created_at: new Date().toISOString(),
    };
    await this.repos.users.insert(user);
    await this.repos.audit.record({ action: 'user.created', targetType: 'user', targetId: user.id, details: { username: user.username, siteAdmin: !!input.siteAdmin } });
    return { user, generatedPassword };
  }

  async addProject(input: { slug: string; name: string; description?: string; modalities?: string[] }): Promise<ProjectRow> {
    const slugIssue = slugProblem(input.slug);
    if (slugIssue) throw validationError('slug', `Project slug ${slugIssue}.`);
    if (input.name.trim().length === 0 || input.name.length > 200) throw validationError('name', 'Project name must be 1-200 characters.');
    if (await this.repos.projects.findBySlug(input.slug)) throw conflict('slug', `A project with slug "${input.slug}" already exists.`);
    const all = await this.repos.catalog.modalities();
    const wanted = input.modalities ?? all.map((m) => m.slug);
    const unknown = wanted.filter((slug) => !all.some((m) => m.slug === slug));
    if (unknown.length) throw validationError('modalities', `Unknown modalities: ${unknown.join(', ')}.`);
    const project: ProjectRow = {
      id: randomUUID(),
      slug: input.slug,
      name: input.name.trim(),
      description: input.description ?? '',
      created_at: new Date().toISOString(),
    };
    await this.repos.projects.insert(project);
    await this.repos.projects.enableModalities(project.id, all.filter((m) => wanted.includes(m.slug)).map((m) => m.id));
    await this.repos.audit.record({ action: 'project.created', projectId: project.id, targetType: 'project', targetId: project.id, details: { slug: project.slug } });
    return project;
  }

  async addMember(input: { projectSlug: string; username: string; role: ProjectRole }): Promise<void> {
    const { project, user } = await this.projectAndUser(input.projectSlug, input.username);
    if (!['admin', 'member', 'viewer'].includes(input.role)) throw validationError('role', 'Role must be admin, member or viewer.');
    await this.repos.projects.upsertMember(project.id, user.id, input.role, new Date().toISOString());
    await this.repos.audit.record({ action: 'project.member_set', projectId: project.id, targetType: 'user', targetId: user.id, details: { role: input.role } });
  }

  /** Grants a member one folder (and its subfolders) by path, e.g. "Study A/Baseline". */
  async grantFolder(input: { projectSlug: string; username: string; folderPath: string }): Promise<{ created: boolean }> {
    const { project, user } = await this.projectAndUser(input.projectSlug, input.username);
    if (!(await this.repos.projects.accessOf(project.id, user.id))) {
      throw validationError('username', `${user.username} is not a member of ${project.slug}; add them first.`);
    }
    let names: string[];
    try {
      names = parseFolderPath(input.folderPath);
    } catch (error) {
      throw validationError('folder', (error as Error).message);
    }
    const folder = await this.repos.folders.findByPath(project.id, names.join('/'));
    if (!folder) throw notFound(`Folder "${names.join('/')}" in project ${project.slug}`);
    const created = await this.repos.projects.addGrant({ id: randomUUID(), projectId: project.id, userId: user.id, folderId: folder.id, now: new Date().toISOString() });
    await this.repos.audit.record({ action: 'project.folder_granted', projectId: project.id, targetType: 'folder', targetId: folder.id, details: { userId: user.id } });
    return { created };
  }

  async createToken(input: { username: string; name?: string }): Promise<{ id: string; token: string }> {
    const user = await this.repos.users.findByUsername(input.username);
    if (!user) throw notFound(`User "${input.username}"`);
    return this.auth.createApiToken(user.id, input.name ?? 'cli');
  }

  async setPassword(username: string, password: string): Promise<void> {
    if (password.length < 8) throw validationError('password', 'Password must be at least 8 characters.');
    const user = await this.repos.users.findByUsername(username);
    if (!user) throw notFound(`User "${username}"`);
    await this.repos.users.setPasswordHash(user.id, await this.auth.hashPassword(password));
  }

  private async projectAndUser(projectSlug: string, username: string) {
    const project = await this.repos.projects.findBySlug(projectSlug);
    if (!project) throw notFound(`Project "${projectSlug}"`);
    const user = await this.repos.users.findByUsername(username);
    if (!user) throw notFound(`User "${username}"`);
    return { project, user };
  }
}
