import type { Kysely } from 'kysely';
import type { Database } from '../schema.js';

export interface AuditEntry {
  action: string;
  userId?: string | null;
  projectId?: string | null;
  targetType?: string;
  targetId?: string;
  ip?: string | null;
  details?: Record<string, unknown>;
}

export class AuditRepository {
  constructor(private readonly db: Kysely<Database>) {}

  async record(entry: AuditEntry, at = new Date().toISOString()): Promise<void> {
    await this.db
      .insertInto('audit_log')
      .values({
        at,
        action: entry.action,
        user_id: entry.userId ?? null,
        project_id: entry.projectId ?? null,
        target_type: entry.targetType ?? null,
        target_id: entry.targetId ?? null,
        ip: entry.ip ?? null,
        details: JSON.stringify(entry.details ?? {}),
      })
      .execute();
  }

  recent(filter: { action?: string; userId?: string; limit?: number } = {}) {
    let q = this.db.selectFrom('audit_log').selectAll().orderBy('id', 'desc').limit(filter.limit ?? 100);
    if (filter.action) q = q.where('action', '=', filter.action);
    if (filter.userId) q = q.where('user_id', '=', filter.userId);
    return q.execute();
  }
}
