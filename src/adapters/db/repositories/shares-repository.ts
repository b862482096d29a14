import type { Kysely } from 'kysely';
import type { Database, ExportShareRow } from '../schema.js';

export class SharesRepository {
  constructor(private readonly db: Kysely<Database>) {}

  async insert(row: ExportShareRow): Promise<void> {
    await this.db.insertInto('export_shares').values(row).execute();
  }

  findByTokenHash(tokenHash: string): Promise<ExportShareRow | undefined> {
    return this.db.selectFrom('export_shares').selectAll().where('token_hash', '=', tokenHash).executeTakeFirst();
  }

  listForExport(exportId: string): Promise<ExportShareRow[]> {
    return this.db.selectFrom('export_shares').selectAll().where('export_id', '=', exportId).orderBy('created_at', 'desc').execute();
  }

  async revoke(exportId: string, id: string, now: string): Promise<boolean> {
    const result = await this.db
      .updateTable('export_shares')
      .set({ revoked_at: now })
      .where('export_id', '=', exportId)
      .where('id', '=', id)
      .where('revoked_at', 'is', null)
      .executeTakeFirst();
    return Number(result.numUpdatedRows) > 0;
  }

  async revokeAllOf(exportId: string, now: string): Promise<void> {
    await this.db.updateTable('export_shares').set({ revoked_at: now }).where('export_id', '=', exportId).where('revoked_at', 'is', null).execute();
  }

  /** Sets aside `bytes` of the link's allowance (`limit` bytes in all, or none); false when it does not fit. */
  async reserveBytes(id: string, bytes: number, limit: number | null): Promise<boolean> {
    let q = this.db
      .updateTable('export_shares')
      .set((eb) => ({ bytes_served: eb('bytes_served', '+', bytes) }))
      .where('id', '=', id);
    if (limit !== null) q = q.where('bytes_served', '<=', limit - bytes);
    const result = await q.executeTakeFirst();
    return Number(result.numUpdatedRows) > 0;
  }

  /** Gives back what a broken download did not send, so that resuming it fits the allowance. */
  async refundBytes(id: string, bytes: number): Promise<void> {
    await this.db
      .updateTable('export_shares')
      .set((eb) => ({ bytes_served: eb('bytes_served', '-', bytes) }))
      .where('id', '=', id)
      .execute();
  }

  async countDownload(id: string, now: string): Promise<void> {
    await this.db
      .updateTable('export_shares')
      .set((eb) => ({ download_count: eb('download_count', '+', 1), last_download_at: now }))
      .where('id', '=', id)
      .execute();
  }
}
