import { randomUUID } from 'node:crypto';
import type { PatientVisibility } from '../../src/adapters/db/schema.js';
import type { Services } from '../../src/services/index.js';

export const PASSWORD = 'correct horse battery';

/**
 * A small, fully known world for access tests:
 * project "alpha" (folders Study A, Study A/Baseline, Study A/Follow-up, Study B) and project "beta".
 * Users: root (site admin, no membership), alice (alpha admin), bob (alpha member), carol (alpha
 * viewer), dave (alpha member granted "Study A/Baseline"), erin (beta member only).
 */
export async function seedWorld(services: Services) {
  const users: Record<string, string> = {};
  for (const [username, siteAdmin] of [['root', true], ['alice', false], ['bob', false], ['carol', false], ['dave', false], ['erin', false]] as const) {
    const { user } = await services.admin.addUser({ username, email: `${username}@lab.test`, password: PASSWORD, siteAdmin, displayName: username.toUpperCase() });
    users[username] = user.id;
  }
  const alpha = await services.admin.addProject({ slug: 'alpha', name: 'Alpha study' });
  const beta = await services.admin.addProject({ slug: 'beta', name: 'Beta study' });
  const now = new Date().toISOString();
  const folder = async (projectId: string, path: string) => services.repos.folders.ensurePath(projectId, path.split('/'), now);
  const folders = {
    studyA: await folder(alpha.id, 'Study A'),
    baseline: await folder(alpha.id, 'Study A/Baseline'),
    followUp: await folder(alpha.id, 'Study A/Follow-up'),
    studyB: await folder(alpha.id, 'Study B'),
    betaRoot: await folder(beta.id, 'Beta root'),
  };
  const patients: Record<string, string> = {};
  const patient = async (key: string, projectId: string, folderId: string, visibility: PatientVisibility = 'public', extra: { createdBy?: string; deleted?: boolean; tags?: string[] } = {}) => {
    const id = randomUUID();
    await services.repos.catalog.insertPatient({
      id,
      project_id: projectId,
      folder_id: folderId,
      name: key,
      code: `C-${key}`,
      visibility,
      created_by: extra.createdBy ?? null,
      created_at: now,
      deleted_at: extra.deleted ? now : null,
    });
    if (extra.tags) await services.repos.catalog.tagPatient(projectId, id, extra.tags, now);
    patients[key] = id;
  };
  await patient('a1', alpha.id, folders.studyA.id, 'public', { tags: ['class-ii'] });
  await patient('base1', alpha.id, folders.baseline.id, 'public', { tags: ['class-ii', 'consented'] });
  await patient('base2', alpha.id, folders.baseline.id, 'public', { tags: ['consented'] });
  await patient('baseDebug', alpha.id, folders.baseline.id, 'debug');
  await patient('basePrivateBob', alpha.id, folders.baseline.id, 'private', { createdBy: users.bob });
  await patient('baseDeleted', alpha.id, folders.baseline.id, 'public', { deleted: true });
  await patient('follow1', alpha.id, folders.followUp.id, 'public', { tags: ['follow-up'] });
  await patient('b1', alpha.id, folders.studyB.id, 'public');
  await patient('beta1', beta.id, folders.betaRoot.id, 'public');

  for (const [username, role] of [['alice', 'admin'], ['bob', 'member'], ['carol', 'viewer'], ['dave', 'member']] as const) {
    await services.admin.addMember({ projectSlug: 'alpha', username, role });
  }
  await services.admin.addMember({ projectSlug: 'beta', username: 'erin', role: 'member' });
  await services.admin.grantFolder({ projectSlug: 'alpha', username: 'dave', folderPath: 'Study A/Baseline' });
  return { users, projects: { alpha, beta }, folders, patients };
}

export type World = Awaited<ReturnType<typeof seedWorld>>;
