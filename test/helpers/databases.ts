import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { migrateToLatest, openDatabase, SCHEMA_CHANGE_LOCK, type DatabaseHandle } from '../../src/adapters/db/database.js';

export interface TestDatabase {
  name: 'sqlite' | 'postgres';
  /** A fresh, migrated database of its own; `destroy` removes it. */
  open(): Promise<DatabaseHandle>;
}

/**
 * The databases every data-touching test runs against: SQLite always, PostgreSQL when
 * `DATABASE_URL` names one (CI always sets it). Each open() gets its own file or schema.
 */
export function testDatabases(): TestDatabase[] {
  const list: TestDatabase[] = [{ name: 'sqlite', open: openSqlite }];
  const url = process.env.DATABASE_URL;
  if (url && /^postgres(ql)?:\/\//.test(url)) list.push({ name: 'postgres', open: () => openPostgres(url) });
  return list;
}

async function openSqlite(): Promise<DatabaseHandle> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cohort-db-'));
  const handle = await openDatabase({ url: `sqlite:${path.join(dir, 'test.db')}` });
  await migrateToLatest(handle);
  return {
    ...handle,
    async destroy() {
      await handle.destroy();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function openPostgres(url: string): Promise<DatabaseHandle> {
  const schema = `t_${Date.now().toString(36)}_${randomBytes(4).toString('hex')}`;
  const handle = await openDatabase({ url, schema });
  await migrateToLatest(handle);
  return {
    ...handle,
    async destroy() {
      await handle.destroy();
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      try {
        // Not while another test's migrations read the catalog (see SCHEMA_CHANGE_LOCK).
        await client.query('select pg_advisory_lock($1)', [SCHEMA_CHANGE_LOCK]);
        await client.query(`drop schema if exists ${schema} cascade`);
        await client.query('select pg_advisory_unlock($1)', [SCHEMA_CHANGE_LOCK]);
      } finally {
        await client.end();
      }
    },
  };
}
