import { sql, type ExpressionBuilder, type Expression, type SqlBool } from 'kysely';
import type { PatientScope } from '../../../domain/policy.js';
import type { Database } from '../schema.js';

type PatientFolderEB = ExpressionBuilder<Database & { p: Database['patients']; f: Database['folders'] }, 'p' | 'f'>;

/** `f.path` is `path` or lies below it; compares a prefix so LIKE wildcards in names mean nothing. */
export function folderPathWithin(eb: PatientFolderEB, path: string): Expression<SqlBool> {
  const prefix = `${path}/`;
  return eb.or([eb('f.path', '=', path), eb(sql`substr(f.path, 1, ${[...prefix].length})`, '=', prefix)]);
}

/**
 * The SQL form of `domain/policy.patientScope`, for a query that joins `patients as p` and
 * `folders as f`. The policy tests check the scope against the per-patient rule; the repository
 * tests check this translation against the same rule on real databases.
 */
export function patientScopeFilter(eb: PatientFolderEB, scope: PatientScope): Expression<SqlBool> {
  const conditions: Expression<SqlBool>[] = [eb('p.deleted_at', 'is', null)];
  if (scope.folderPaths) {
    conditions.push(scope.folderPaths.length ? eb.or(scope.folderPaths.map((g) => folderPathWithin(eb, g))) : sql<SqlBool>`1 = 0`);
  }
  const visible: Expression<SqlBool>[] = [eb('p.visibility', '=', 'public')];
  visible.push(
    scope.privatePatients === 'all'
      ? eb('p.visibility', '=', 'private')
      : eb.and([eb('p.visibility', '=', 'private'), eb('p.created_by', '=', scope.userId)]),
  );
  if (scope.includeDebug) visible.push(eb('p.visibility', '=', 'debug'));
  conditions.push(eb.or(visible));
  return eb.and(conditions);
}
