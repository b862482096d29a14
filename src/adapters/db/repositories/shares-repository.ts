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

  /** Counts one download if the limit allows it; false when the link is used up. */
  async countDownload(id: string, now: string): Promise<boolean> {
    const result = await this.db
      .updateTable('export_shares')
      .set((eb) => ({ download_count: eb('download_count', '+', 1), last_download_at: now }))
      .where('id', '=', id)
      .where((eb) => eb.or([eb('max_downloads', 'is', null), eb('download_count', '<', eb.ref('max_downloads'))]))
      .executeTakeFirst();
    return Number(result.numUpdatedRows) > 0;
  }
}
