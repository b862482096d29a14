import { sql, type Kysely } from 'kysely';
import { columnTypes } from '../column-types.js';

export async function up(db: Kysely<any>): Promise<void> {
  const t = columnTypes(db);
  await db.schema.alterTable('users').addColumn('export_emails', 'integer', (c) => c.notNull().defaultTo(1)).execute();

  // `none` (nothing to send yet), `pending`, `sent`, `failed` (gave up after retries), `skipped` (turned off, cancelled).
  await db.schema.alterTable('dataset_exports').addColumn('notification_status', 'text', (c) => c.notNull().defaultTo('none')).execute();
  await db.schema.alterTable('dataset_exports').addColumn('notification_attempts', 'integer', (c) => c.notNull().defaultTo(0)).execute();
  await db.schema.alterTable('dataset_exports').addColumn('notification_next_at', t.timestamp).execute();
  await db.schema.alterTable('dataset_exports').addColumn('notified_at', t.timestamp).execute();
  await db.schema.alterTable('dataset_exports').addColumn('notification_error', 'text').execute();
  await db.schema.createIndex('dataset_exports_notification_idx').on('dataset_exports').columns(['notification_status', 'notification_next_at']).execute();

  await db.schema
    .createTable('export_shares')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('export_id', 'text', (c) => c.notNull().references('dataset_exports.id').onDelete('cascade'))
    .addColumn('token_hash', 'text', (c) => c.notNull().unique())
    .addColumn('access', 'text', (c) => c.notNull().check(sql.raw(`access in ('members', 'link')`)))
    .addColumn('created_by', 'text', (c) => c.notNull().references('users.id'))
    .addColumn('created_at', t.timestamp, (c) => c.notNull())
    .addColumn('expires_at', t.timestamp, (c) => c.notNull())
    .addColumn('max_downloads', 'integer')
    .addColumn('download_count', 'integer', (c) => c.notNull().defaultTo(0))
    // A download limit is kept in bytes served, so resuming a broken download stays within it
    // while ranged requests cannot fetch the ZIP again and again without being counted.
    .addColumn('bytes_served', 'bigint', (c) => c.notNull().defaultTo(0))
    .addColumn('last_download_at', t.timestamp)
    .addColumn('revoked_at', t.timestamp)
    .execute();
  await db.schema.createIndex('export_shares_export_idx').on('export_shares').column('export_id').execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('export_shares').execute();
  for (const column of ['notification_error', 'notified_at', 'notification_next_at', 'notification_attempts', 'notification_status']) {
    await db.schema.alterTable('dataset_exports').dropColumn(column).execute();
  }
  await db.schema.alterTable('users').dropColumn('export_emails').execute();
}
