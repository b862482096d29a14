/**
 * Runs a query per slice of a long id list and joins the results: SQLite allows 32,766 bound
 * parameters per statement and PostgreSQL 65,535, while an export may name a million files.
 */
export async function inChunks<T>(ids: readonly string[], query: (chunk: string[]) => Promise<T[]>, size = 5000): Promise<T[]> {
  const out: T[] = [];
  for (let i = 0; i < ids.length; i += size) out.push(...(await query(ids.slice(i, i + size))));
  return out;
}
