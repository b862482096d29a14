import { sql, type Kysely } from 'kysely';
import { columnTypes } from '../column-types.js';

export async function up(db: Kysely<any>): Promise<void> {
  const t = columnTypes(db);
  await db.schema
    .createTable('dataset_exports')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('project_id', 'text', (c) => c.notNull().references('projects.id').onDelete('cascade'))
    .addColumn('created_by', 'text', (c) => c.notNull().references('users.id'))
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('notes', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('status', 'text', (c) =>
      c.notNull().check(sql.raw(`status in ('pending', 'processing', 'completed', 'failed', 'cancelled', 'expired')`)),
    )
    .addColumn('request', 'text', (c) => c.notNull())
    .addColumn('patient_count', 'integer', (c) => c.notNull())
    .addColumn('file_count', 'integer', (c) => c.notNull())
    .addColumn('total_bytes', 'bigint', (c) => c.notNull())
    .addColumn('zip_key', 'text')
    .addColumn('zip_size', 'bigint')
    .addColumn('zip_sha256', 'text')
    .addColumn('created_at', t.timestamp, (c) => c.notNull())
    .addColumn('started_at', t.timestamp)
    .addColumn('completed_at', t.timestamp)
    .addColumn('expires_at', t.timestamp)
    .addColumn('updated_at', t.timestamp, (c) => c.notNull())
    .addColumn('progress_phase', 'text', (c) => c.notNull().defaultTo('queued'))
    .addColumn('files_done', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('bytes_done', 'bigint', (c) => c.notNull().defaultTo(0))
    .addColumn('attempt', 'integer', (c) => c.notNull().defaultTo(0))
    // Attempts stay numbered across retries (a late worker of attempt 1 must never finish attempt 3),
    // so the limit for automatic retries is stored as the attempt number not to pass.
    .addColumn('attempt_limit', 'integer', (c) => c.notNull())
    .addColumn('worker_id', 'text')
    .addColumn('heartbeat_at', t.timestamp)
    .addColumn('cancel_requested_at', t.timestamp)
    .addColumn('error_message', 'text')
    .addColumn('error_detail', 'text')
    .addColumn('skipped', 'text', (c) => c.notNull().defaultTo('[]'))
    .addColumn('download_count', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('last_download_at', t.timestamp)
    .addColumn('deleted_at', t.timestamp)
    .execute();
  await db.schema.createIndex('dataset_exports_project_created_idx').on('dataset_exports').columns(['project_id', 'created_at']).execute();
  await db.schema.createIndex('dataset_exports_user_status_idx').on('dataset_exports').columns(['created_by', 'status']).execute();
  await db.schema.createIndex('dataset_exports_status_heartbeat_idx').on('dataset_exports').columns(['status', 'heartbeat_at']).execute();

  // The patient list frozen at creation, in ZIP order; also the pseudonym mapping (folder ↔ patient).
  await db.schema
    .createTable('dataset_export_patients')
    .addColumn('export_id', 'text', (c) => c.notNull().references('dataset_exports.id').onDelete('cascade'))
    .addColumn('ordinal', 'integer', (c) => c.notNull())
    .addColumn('patient_id', 'text', (c) => c.notNull())
    .addColumn('folder', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('dataset_export_patients_pk', ['export_id', 'ordinal'])
    .execute();

  // The frozen plan: every file with its ZIP path and the checksums it must match.
  await db.schema
    .createTable('dataset_export_entries')
    .addColumn('export_id', 'text', (c) => c.notNull().references('dataset_exports.id').onDelete('cascade'))
    .addColumn('seq', 'integer', (c) => c.notNull())
    .addColumn('file_id', 'text', (c) => c.notNull())
    .addColumn('patient_id', 'text', (c) => c.notNull())
    .addColumn('path', 'text', (c) => c.notNull())
    .addColumn('size_bytes', 'bigint', (c) => c.notNull())
    .addColumn('sha256', 'text', (c) => c.notNull())
    .addColumn('crc32', 'bigint', (c) => c.notNull())
    .addColumn('compress', 'integer', (c) => c.notNull())
    .addPrimaryKeyConstraint('dataset_export_entries_pk', ['export_id', 'seq'])
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('dataset_export_entries').execute();
  await db.schema.dropTable('dataset_export_patients').execute();
  await db.schema.dropTable('dataset_exports').execute();
}
