import { describe, expect, it } from 'vitest';
import { testDatabases } from '../../../test/helpers/databases.js';
import { migrateToLatest } from './database.js';

describe.each(testDatabases())('database on $name', ({ open }) => {
  it('migrates an empty database, seeds the modalities, and is idempotent', async () => {
    const handle = await open();
    try {
      const modalities = await handle.db.selectFrom('modalities').select(['slug', 'subtypes']).orderBy('sort_order').execute();
      expect(modalities.map((m) => m.slug)).toEqual(
        expect.arrayContaining(['cbct', 'ios', 'intraoral-photo', 'panoramic', 'teleradiography']),
      );
      expect(JSON.parse(modalities.find((m) => m.slug === 'ios')!.subtypes)).toEqual(['upper', 'lower', 'bite']);
      expect(await migrateToLatest(handle)).toEqual([]);
    } finally {
      await handle.destroy();
    }
  });

  it('returns timestamps as ISO strings and big sizes as numbers', async () => {
    const handle = await open();
    try {
      const now = new Date('2026-01-02T03:04:05.678Z').toISOString();
      await handle.db.insertInto('projects').values({ id: 'p1', slug: 'p', name: 'P', description: '', created_at: now }).execute();
      const row = await handle.db.selectFrom('projects').selectAll().executeTakeFirstOrThrow();
      expect(row.created_at).toBe(now);
      const { n } = await handle.db.selectFrom('projects').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
      expect(n).toBe(1);
    } finally {
      await handle.destroy();
    }
  });
});
