/**
 * Who may see and export what. Pure rules, no I/O: services load the facts (membership, grants,
 * patient rows) and ask here; repositories turn `patientScope` into SQL so lists agree with checks.
 *
 * - Site administrators manage users and projects. Seeing patient data needs project membership,
 *   so a site administrator is not silently granted every project's data.
 * - Project admins see the whole project, including private and debug patients.
 * - Members and viewers see the whole project, or only their granted folders (with subfolders)
 *   when they have grants. Private patients are seen by their creator and project admins only;
 *   debug patients by project admins only. Deleted patients are seen by no one.
 * - Admins and members may export what they see; viewers only browse.
 */

export type ProjectRole = 'admin' | 'member' | 'viewer';
export type PatientVisibility = 'public' | 'private' | 'debug';

export interface Actor {
  userId: string;
  isSiteAdmin: boolean;
}

/** The actor's standing in one project; `null` when not a member. */
export type ProjectAccess = {
  role: ProjectRole;
  /** Folder paths the member was granted; empty means the whole project. Ignored for admins. */
  grantedFolderPaths: readonly string[];
} | null;

export interface PatientFacts {
  folderPath: string;
  visibility: PatientVisibility;
  createdBy: string | null;
  deleted: boolean;
}

/** True when `path` is `ancestor` itself or lies below it. Paths are "/"-joined folder names. */
export function isPathWithin(path: string, ancestor: string): boolean {
  return path === ancestor || path.startsWith(`${ancestor}/`);
}

export function canSeeProject(access: ProjectAccess): boolean {
  return access !== null;
}

export function canManageProject(actor: Actor, access: ProjectAccess): boolean {
  return actor.isSiteAdmin || access?.role === 'admin';
}

export function canManageUsers(actor: Actor): boolean {
  return actor.isSiteAdmin;
}

function seesWholeProject(access: NonNullable<ProjectAccess>): boolean {
  return access.role === 'admin' || access.grantedFolderPaths.length === 0;
}

/** May the actor see this folder's contents? */
export function canSeeFolder(access: ProjectAccess, folderPath: string): boolean {
  if (!access) return false;
  return seesWholeProject(access) || access.grantedFolderPaths.some((g) => isPathWithin(folderPath, g));
}

/** Folders above a grant are shown as a way to reach it, without their own patients. */
export function canSeeFolderAsAncestor(access: ProjectAccess, folderPath: string): boolean {
  if (!access) return false;
  return access.grantedFolderPaths.some((g) => isPathWithin(g, folderPath));
}

function visibilityAllows(actor: Actor, access: NonNullable<ProjectAccess>, patient: PatientFacts): boolean {
  switch (patient.visibility) {
    case 'public':
      return true;
    case 'private':
      return access.role === 'admin' || patient.createdBy === actor.userId;
    case 'debug':
      return access.role === 'admin';
  }
}

export function canSeePatient(actor: Actor, access: ProjectAccess, patient: PatientFacts): boolean {
  if (!access || patient.deleted) return false;
  return canSeeFolder(access, patient.folderPath) && visibilityAllows(actor, access, patient);
}

/**
 * May see and manage everyone's exports in the project (list, download, mapping, share links).
 * Only project admins: exports hold patient data, which a site administrator's role does not open.
 */
export function canManageExports(access: ProjectAccess): boolean {
  return access?.role === 'admin';
}

export function canExportFromProject(access: ProjectAccess): boolean {
  return access !== null && access.role !== 'viewer';
}

export function canExportPatient(actor: Actor, access: ProjectAccess, patient: PatientFacts): boolean {
  return canExportFromProject(access) && canSeePatient(actor, access, patient);
}

/** The same rules as `canSeePatient`, as a description a query can apply to many rows at once. */
export interface PatientScope {
  /** `null`: every folder; otherwise only folders within one of these paths. */
  folderPaths: readonly string[] | null;
  /** Private patients: all of them, or only those created by `userId`. */
  privatePatients: 'all' | 'own';
  includeDebug: boolean;
  userId: string;
}

export function patientScope(actor: Actor, access: NonNullable<ProjectAccess>): PatientScope {
  const admin = access.role === 'admin';
  return {
    folderPaths: seesWholeProject(access) ? null : [...access.grantedFolderPaths],
    privatePatients: admin ? 'all' : 'own',
    includeDebug: admin,
    userId: actor.userId,
  };
}
