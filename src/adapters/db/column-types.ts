import { PostgresAdapter, sql, type ColumnDataType, type Expression, type Kysely } from 'kysely';

export type SqlDialect = 'sqlite' | 'postgres';

export function dialectOf(db: Kysely<any>): SqlDialect {
  return db.getExecutor().adapter instanceof PostgresAdapter ? 'postgres' : 'sqlite';
}

/** Column types that differ between the two databases, chosen once per migration run. */
export function columnTypes(db: Kysely<any>): {
  timestamp: ColumnDataType | Expression<unknown>;
  autoId: ColumnDataType;
} {
  const pg = dialectOf(db) === 'postgres';
  return {
    timestamp: pg ? sql`timestamptz` : 'text',
    autoId: pg ? 'bigserial' : 'integer',
  };
}
