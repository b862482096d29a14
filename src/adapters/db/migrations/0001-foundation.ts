import { randomUUID } from 'node:crypto';
import { sql, type Kysely } from 'kysely';
import { columnTypes, dialectOf } from '../column-types.js';

export const BUILT_IN_MODALITIES = [
  { slug: 'cbct', name: 'CBCT', subtypes: [], extensions: ['nii.gz', 'nii', 'dcm', 'nrrd', 'mha', 'zip'] },
  { slug: 'ios', name: 'Intraoral scan', subtypes: ['upper', 'lower', 'bite'], extensions: ['stl', 'ply', 'obj'] },
  { slug: 'intraoral-photo', name: 'Intraoral photo', subtypes: [], extensions: ['jpg', 'jpeg', 'png', 'tif', 'tiff', 'heic'] },
  { slug: 'extraoral-photo', name: 'Extraoral photo', subtypes: [], extensions: ['jpg', 'jpeg', 'png', 'tif', 'tiff', 'heic'] },
  { slug: 'panoramic', name: 'Panoramic', subtypes: [], extensions: ['dcm', 'jpg', 'jpeg', 'png', 'tif', 'tiff'] },
  { slug: 'teleradiography', name: 'Teleradiography', subtypes: [], extensions: ['dcm', 'jpg', 'jpeg', 'png', 'tif', 'tiff'] },
  { slug: 'face-scan', name: 'Face scan', subtypes: [], extensions: ['obj', 'ply', 'stl', 'mtl', 'jpg', 'png'] },
];

export async function up(db: Kysely<any>): Promise<void> {
  const t = columnTypes(db);

  await db.schema
    .createTable('users')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('username', 'text', (c) => c.notNull().unique())
    .addColumn('email', 'text', (c) => c.notNull())
    .addColumn('display_name', 'text', (c) => c.notNull())
    .addColumn('password_hash', 'text')
    .addColumn('is_site_admin', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('disabled_at', t.timestamp)
    .addColumn('created_at', t.timestamp, (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('projects')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('slug', 'text', (c) => c.notNull().unique())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('description', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('created_at', t.timestamp, (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('project_members')
    .addColumn('project_id', 'text', (c) => c.notNull().references('projects.id').onDelete('cascade'))
    .addColumn('user_id', 'text', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('role', 'text', (c) => c.notNull().check(sqlIn('role', ['admin', 'member', 'viewer'])))
    .addColumn('created_at', t.timestamp, (c) => c.notNull())
    .addPrimaryKeyConstraint('project_members_pk', ['project_id', 'user_id'])
    .execute();
  await db.schema.createIndex('project_members_user_idx').on('project_members').column('user_id').execute();

  await db.schema
    .createTable('folders')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('project_id', 'text', (c) => c.notNull().references('projects.id').onDelete('cascade'))
    .addColumn('parent_id', 'text', (c) => c.references('folders.id').onDelete('cascade'))
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('path', 'text', (c) => c.notNull())
    .addColumn('created_at', t.timestamp, (c) => c.notNull())
    .addUniqueConstraint('folders_project_path_uq', ['project_id', 'path'])
    .execute();
  await db.schema.createIndex('folders_parent_idx').on('folders').column('parent_id').execute();

  await db.schema
    .createTable('folder_grants')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('project_id', 'text', (c) => c.notNull().references('projects.id').onDelete('cascade'))
    .addColumn('user_id', 'text', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('folder_id', 'text', (c) => c.notNull().references('folders.id').onDelete('cascade'))
    .addColumn('created_at', t.timestamp, (c) => c.notNull())
    .addUniqueConstraint('folder_grants_user_folder_uq', ['user_id', 'folder_id'])
    .execute();
  await db.schema.createIndex('folder_grants_project_user_idx').on('folder_grants').columns(['project_id', 'user_id']).execute();

  await db.schema
    .createTable('patients')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('project_id', 'text', (c) => c.notNull().references('projects.id').onDelete('cascade'))
    .addColumn('folder_id', 'text', (c) => c.notNull().references('folders.id'))
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('code', 'text')
    .addColumn('visibility', 'text', (c) => c.notNull().defaultTo('public').check(sqlIn('visibility', ['public', 'private', 'debug'])))
    .addColumn('created_by', 'text', (c) => c.references('users.id').onDelete('set null'))
    .addColumn('created_at', t.timestamp, (c) => c.notNull())
    .addColumn('deleted_at', t.timestamp)
    .execute();
  await db.schema.createIndex('patients_folder_idx').on('patients').columns(['folder_id', 'name']).execute();
  await db.schema.createIndex('patients_project_idx').on('patients').columns(['project_id', 'deleted_at']).execute();
  await db.schema
    .createIndex('patients_project_code_uq')
    .on('patients')
    .columns(['project_id', 'code'])
    .unique()
    .where('code', 'is not', null)
    .execute();

  await db.schema
    .createTable('tags')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('project_id', 'text', (c) => c.notNull().references('projects.id').onDelete('cascade'))
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('color', 'text')
    .addColumn('created_at', t.timestamp, (c) => c.notNull())
    .addUniqueConstraint('tags_project_name_uq', ['project_id', 'name'])
    .execute();

  await db.schema
    .createTable('patient_tags')
    .addColumn('patient_id', 'text', (c) => c.notNull().references('patients.id').onDelete('cascade'))
    .addColumn('tag_id', 'text', (c) => c.notNull().references('tags.id').onDelete('cascade'))
    .addPrimaryKeyConstraint('patient_tags_pk', ['patient_id', 'tag_id'])
    .execute();
  await db.schema.createIndex('patient_tags_tag_idx').on('patient_tags').columns(['tag_id', 'patient_id']).execute();

  await db.schema
    .createTable('modalities')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('slug', 'text', (c) => c.notNull().unique())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('subtypes', 'text', (c) => c.notNull().defaultTo('[]'))
    .addColumn('extensions', 'text', (c) => c.notNull().defaultTo('[]'))
    .addColumn('sort_order', 'integer', (c) => c.notNull().defaultTo(0))
    .execute();

  await db.schema
    .createTable('project_modalities')
    .addColumn('project_id', 'text', (c) => c.notNull().references('projects.id').onDelete('cascade'))
    .addColumn('modality_id', 'text', (c) => c.notNull().references('modalities.id').onDelete('cascade'))
    .addPrimaryKeyConstraint('project_modalities_pk', ['project_id', 'modality_id'])
    .execute();

  await db.schema
    .createTable('files')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('project_id', 'text', (c) => c.notNull().references('projects.id').onDelete('cascade'))
    .addColumn('patient_id', 'text', (c) => c.notNull().references('patients.id').onDelete('cascade'))
    .addColumn('modality_id', 'text', (c) => c.notNull().references('modalities.id'))
    .addColumn('subtype', 'text')
    .addColumn('kind', 'text', (c) => c.notNull().check(sqlIn('kind', ['raw', 'processed'])))
    .addColumn('original_name', 'text', (c) => c.notNull())
    .addColumn('storage', 'text', (c) => c.notNull().check(sqlIn('storage', ['store', 'inplace'])))
    .addColumn('storage_key', 'text', (c) => c.notNull())
    .addColumn('size_bytes', 'bigint', (c) => c.notNull())
    .addColumn('sha256', 'text', (c) => c.notNull())
    .addColumn('crc32', 'bigint', (c) => c.notNull())
    .addColumn('media_type', 'text', (c) => c.notNull())
    .addColumn('metadata', 'text', (c) => c.notNull().defaultTo('{}'))
    .addColumn('created_by', 'text', (c) => c.references('users.id').onDelete('set null'))
    .addColumn('created_at', t.timestamp, (c) => c.notNull())
    .addColumn('deleted_at', t.timestamp)
    .execute();
  // One live registry row per (patient, modality, kind, name): re-imports find it instead of adding a copy.
  await db.schema
    .createIndex('files_identity_uq')
    .on('files')
    .columns(['patient_id', 'modality_id', 'kind', 'original_name'])
    .unique()
    .where(sql.ref('deleted_at'), 'is', null)
    .execute();
  await db.schema.createIndex('files_project_modality_idx').on('files').columns(['project_id', 'modality_id', 'kind']).execute();

  await db.schema
    .createTable('sessions')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('token_hash', 'text', (c) => c.notNull().unique())
    .addColumn('user_id', 'text', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('csrf_token', 'text', (c) => c.notNull())
    .addColumn('ip', 'text')
    .addColumn('user_agent', 'text')
    .addColumn('created_at', t.timestamp, (c) => c.notNull())
    .addColumn('last_seen_at', t.timestamp, (c) => c.notNull())
    .addColumn('expires_at', t.timestamp, (c) => c.notNull())
    .execute();
  await db.schema.createIndex('sessions_user_idx').on('sessions').column('user_id').execute();

  await db.schema
    .createTable('api_tokens')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('user_id', 'text', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('token_hash', 'text', (c) => c.notNull().unique())
    .addColumn('token_prefix', 'text', (c) => c.notNull())
    .addColumn('created_at', t.timestamp, (c) => c.notNull())
    .addColumn('last_used_at', t.timestamp)
    .addColumn('expires_at', t.timestamp)
    .addColumn('revoked_at', t.timestamp)
    .execute();

  await db.schema
    .createTable('audit_log')
    .addColumn('id', t.autoId, (c) => (dialectOf(db) === 'postgres' ? c.primaryKey() : c.primaryKey().autoIncrement()))
    .addColumn('at', t.timestamp, (c) => c.notNull())
    .addColumn('user_id', 'text')
    .addColumn('project_id', 'text')
    .addColumn('action', 'text', (c) => c.notNull())
    .addColumn('target_type', 'text')
    .addColumn('target_id', 'text')
    .addColumn('ip', 'text')
    .addColumn('details', 'text', (c) => c.notNull().defaultTo('{}'))
    .execute();
  await db.schema.createIndex('audit_log_project_at_idx').on('audit_log').columns(['project_id', 'at']).execute();

  await db
    .insertInto('modalities')
    .values(
      BUILT_IN_MODALITIES.map((m, i) => ({
        id: randomUUID(),
        slug: m.slug,
        name: m.name,
        subtypes: JSON.stringify(m.subtypes),
        extensions: JSON.stringify(m.extensions),
        sort_order: (i + 1) * 10,
      })),
    )
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  for (const table of [
    'audit_log', 'api_tokens', 'sessions', 'files', 'project_modalities', 'modalities', 'patient_tags',
    'tags', 'patients', 'folder_grants', 'folders', 'project_members', 'projects', 'users',
  ]) {
    await db.schema.dropTable(table).execute();
  }
}

/** A CHECK constraint listing the allowed values; values are our own constants, never input. */
function sqlIn(column: string, values: string[]) {
  return sql.raw(`${column} in (${values.map((v) => `'${v}'`).join(', ')})`);
}
