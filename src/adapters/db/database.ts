import fs from 'node:fs';
import path from 'node:path';
import { Kysely, Migrator, PostgresDialect, SqliteDialect, sql, type Migration, type MigrationProvider } from 'kysely';
import type pg from 'pg';
import { dialectOf, type SqlDialect } from './column-types.js';
import * as m0001 from './migrations/0001-foundation.js';
import * as m0002 from './migrations/0002-exports.js';
import * as m0003 from './migrations/0003-notifications-and-shares.js';
import type { Database } from './schema.js';

export interface DatabaseHandle {
  db: Kysely<Database>;
  dialect: SqlDialect;
  /** PostgreSQL schema the tables live in, when not the default. */
  schema?: string;
  destroy(): Promise<void>;
}

export interface DatabaseOptions {
  /** `sqlite:<file>` (or `sqlite::memory:`) or `postgres://…`. */
  url: string;
  /** PostgreSQL only: the schema to work in (created when missing); used to isolate test runs. */
  schema?: string;
}

const migrations: Record<string, Migration> = {
  '0001-foundation': m0001,
  '0002-exports': m0002,
  '0003-notifications-and-shares': m0003,
};

class StaticMigrationProvider implements MigrationProvider {
  async getMigrations(): Promise<Record<string, Migration>> {
    return migrations;
  }
}

// int8 (counts, sums, byte sizes) as numbers: every size Cohort handles is far below 2^53.
const PG_INT8 = 20;
const PG_NUMERIC = 1700;
const PG_TIMESTAMPTZ = 1184;
const PG_TIMESTAMP = 1114;

function pgTypes(pgTypeParsers: typeof pg.types): pg.CustomTypesConfig {
  return {
    getTypeParser(oid: number, format?: any) {
      if (oid === PG_INT8 || oid === PG_NUMERIC) return (v: string) => Number(v);
      if (oid === PG_TIMESTAMPTZ || oid === PG_TIMESTAMP) return (v: string) => new Date(v).toISOString();
      return pgTypeParsers.getTypeParser(oid, format);
    },
  } as pg.CustomTypesConfig;
}

export async function openDatabase(options: DatabaseOptions): Promise<DatabaseHandle> {
  if (options.url.startsWith('sqlite:')) {
    const file = options.url.slice('sqlite:'.length);
    if (file !== ':memory:') fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
    // Each driver is loaded only when used, so a process carries just the one it needs.
    const { default: SQLite } = await import('better-sqlite3');
    const sqlite = new SQLite(file);
    sqlite.pragma('journal_mode = WAL');
    sqlite.pragma('foreign_keys = ON');
    sqlite.pragma('busy_timeout = 5000');
    sqlite.pragma('synchronous = NORMAL');
    const db = new Kysely<Database>({ dialect: new SqliteDialect({ database: sqlite }) });
    return { db, dialect: 'sqlite', destroy: () => db.destroy() };
  }
  const schema = options.schema;
  if (schema !== undefined && !/^[a-z_][a-z0-9_]{0,62}$/.test(schema)) throw new Error(`Invalid schema name: ${schema}`);
  const { default: pgModule } = await import('pg');
  const pool = new pgModule.Pool({
    connectionString: options.url,
    max: 10,
    types: pgTypes(pgModule.types),
    // With a schema of its own, parallel query is off: PostgreSQL's parallel workers were seen to
    // fail to resolve a just-created schema ("schema does not exist"), and Cohort's queries are small.
    ...(schema ? { options: `-c search_path=${schema} -c max_parallel_workers_per_gather=0` } : {}),
  });
  if (schema) await pool.query(`create schema if not exists ${schema}`);
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  return { db, dialect: 'postgres', schema, destroy: () => db.destroy() };
}

/**
 * Held by anything that changes the schemas of a PostgreSQL database (migrations, dropping a
 * schema): Kysely's migrator reads the catalog of every schema, and fails if another one is
 * dropped or half-created at that moment.
 */
export const SCHEMA_CHANGE_LOCK = 727_274_001;

export async function migrateToLatest(handle: Pick<DatabaseHandle, 'db' | 'schema'>): Promise<string[]> {
  if (dialectOf(handle.db) !== 'postgres') return runMigrations(handle.db, handle.schema);
  // One connection holds the session lock for the whole run.
  return handle.db.connection().execute(async (conn) => {
    await sql`select pg_advisory_lock(${SCHEMA_CHANGE_LOCK})`.execute(conn);
    try {
      return await runMigrations(conn, handle.schema);
    } finally {
      await sql`select pg_advisory_unlock(${SCHEMA_CHANGE_LOCK})`.execute(conn);
    }
  });
}

async function runMigrations(db: Kysely<Database>, schema: string | undefined): Promise<string[]> {
  // Naming the schema matters: Kysely looks for its bookkeeping tables across all schemas otherwise,
  // and would find another schema's when several share one database.
  const migrator = new Migrator({ db, provider: new StaticMigrationProvider(), migrationTableSchema: schema });
  const { error, results } = await migrator.migrateToLatest();
  if (error) {
    const failed = results?.find((r) => r.status === 'Error');
    throw new Error(`Database migration ${failed?.migrationName ?? ''} failed: ${(error as Error).message ?? error}`, { cause: error });
  }
  return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
}
