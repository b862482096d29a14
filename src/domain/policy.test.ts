import { describe, expect, it } from 'vitest';
import {
  canExportPatient,
  canManageProject,
  canManageUsers,
  canSeeFolder,
  canSeeFolderAsAncestor,
  canSeePatient,
  isPathWithin,
  patientScope,
  type Actor,
  type PatientFacts,
  type PatientScope,
  type ProjectAccess,
} from './policy.js';

const alice: Actor = { userId: 'alice', isSiteAdmin: false };
const root: Actor = { userId: 'root', isSiteAdmin: true };

const admin: ProjectAccess = { role: 'admin', grantedFolderPaths: ['Study A'] };
const member: ProjectAccess = { role: 'member', grantedFolderPaths: [] };
const viewer: ProjectAccess = { role: 'viewer', grantedFolderPaths: [] };
const grantedMember: ProjectAccess = { role: 'member', grantedFolderPaths: ['Study A/Baseline'] };
const grantedViewer: ProjectAccess = { role: 'viewer', grantedFolderPaths: ['Study B'] };

const patient = (over: Partial<PatientFacts> = {}): PatientFacts => ({
  folderPath: 'Study A/Baseline',
  visibility: 'public',
  createdBy: 'bob',
  deleted: false,
  ...over,
});

describe('isPathWithin', () => {
  it.each([
    ['A', 'A', true],
    ['A/B', 'A', true],
    ['A/B/C', 'A/B', true],
    ['AB', 'A', false],
    ['A', 'A/B', false],
    ['Study A 2', 'Study A', false],
  ])('%s within %s is %s', (path, ancestor, expected) => {
    expect(isPathWithin(path, ancestor)).toBe(expected);
  });
});

describe('canSeePatient / canExportPatient', () => {
  const cases: Array<[string, ProjectAccess, PatientFacts, boolean, boolean]> = [
    // label, access, patient, may see, may export
    ['non-member', null, patient(), false, false],
    ['admin, public', admin, patient(), true, true],
    ['admin ignores grants', admin, patient({ folderPath: 'Study B' }), true, true],
    ['admin, debug', admin, patient({ visibility: 'debug' }), true, true],
    ['admin, private of another', admin, patient({ visibility: 'private' }), true, true],
    ['admin, deleted', admin, patient({ deleted: true }), false, false],
    ['member, public', member, patient(), true, true],
    ['member, debug', member, patient({ visibility: 'debug' }), false, false],
    ['member, private of another', member, patient({ visibility: 'private' }), false, false],
    ['member, own private', member, patient({ visibility: 'private', createdBy: 'alice' }), true, true],
    ['member, deleted', member, patient({ deleted: true }), false, false],
    ['viewer, public', viewer, patient(), true, false],
    ['viewer, debug', viewer, patient({ visibility: 'debug' }), false, false],
    ['granted member, in grant', grantedMember, patient(), true, true],
    ['granted member, below grant', grantedMember, patient({ folderPath: 'Study A/Baseline/Week 2' }), true, true],
    ['granted member, parent of grant', grantedMember, patient({ folderPath: 'Study A' }), false, false],
    ['granted member, sibling', grantedMember, patient({ folderPath: 'Study A/Follow-up' }), false, false],
    ['granted member, name prefix only', grantedMember, patient({ folderPath: 'Study A/Baseline 2' }), false, false],
    ['granted viewer, in grant', grantedViewer, patient({ folderPath: 'Study B/X' }), true, false],
  ];
  it.each(cases)('%s', (_label, access, facts, see, exportable) => {
    expect(canSeePatient(alice, access, facts)).toBe(see);
    expect(canExportPatient(alice, access, facts)).toBe(exportable);
  });

  it('gives a site administrator no patient data without membership', () => {
    expect(canSeePatient(root, null, patient())).toBe(false);
    expect(canManageProject(root, null)).toBe(true);
    expect(canManageUsers(root)).toBe(true);
    expect(canManageUsers(alice)).toBe(false);
    expect(canManageProject(alice, member)).toBe(false);
    expect(canManageProject(alice, admin)).toBe(true);
  });
});

describe('folders', () => {
  it('shows ancestors of a grant for navigation only', () => {
    expect(canSeeFolder(grantedMember, 'Study A')).toBe(false);
    expect(canSeeFolderAsAncestor(grantedMember, 'Study A')).toBe(true);
    expect(canSeeFolderAsAncestor(grantedMember, 'Study B')).toBe(false);
    expect(canSeeFolder(grantedMember, 'Study A/Baseline/x')).toBe(true);
    expect(canSeeFolder(null, 'Study A')).toBe(false);
  });
});

/** The scope a query applies must agree with the per-patient rule on every combination. */
function scopeAllows(scope: PatientScope, p: PatientFacts): boolean {
  if (p.deleted) return false;
  if (scope.folderPaths && !scope.folderPaths.some((g) => isPathWithin(p.folderPath, g))) return false;
  if (p.visibility === 'debug') return scope.includeDebug;
  if (p.visibility === 'private') return scope.privatePatients === 'all' || p.createdBy === scope.userId;
  return true;
}

describe('patientScope', () => {
  const accesses = [admin, member, viewer, grantedMember, grantedViewer];
  const folders = ['Study A', 'Study A/Baseline', 'Study A/Baseline/W2', 'Study B', 'Study B/X', 'Other'];
  const facts = folders.flatMap((folderPath) =>
    (['public', 'private', 'debug'] as const).flatMap((visibility) =>
      ['alice', 'bob', null].flatMap((createdBy) =>
        [false, true].map((deleted) => ({ folderPath, visibility, createdBy, deleted })),
      ),
    ),
  );
  it.each(accesses.map((a) => [a!.role, a!.grantedFolderPaths.join(',') || '(whole project)', a] as const))(
    'agrees with canSeePatient for %s %s',
    (_role, _grants, access) => {
      const scope = patientScope(alice, access!);
      for (const f of facts) expect([f, scopeAllows(scope, f)]).toEqual([f, canSeePatient(alice, access, f)]);
    },
  );
});
