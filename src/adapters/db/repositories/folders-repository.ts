import { randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { Database, FolderRow } from '../schema.js';

export class FoldersRepository {
  constructor(private readonly db: Kysely<Database>) {}

  findByPath(projectId: string, path: string): Promise<FolderRow | undefined> {
    return this.db.selectFrom('folders').selectAll().where('project_id', '=', projectId).where('path', '=', path).executeTakeFirst();
  }

  /** Finds or creates each folder along `names` (already validated), returning the deepest. */
  async ensurePath(projectId: string, names: readonly string[], now: string): Promise<FolderRow> {
    let parent: FolderRow | undefined;
    for (let i = 0; i < names.length; i++) {
      const path = names.slice(0, i + 1).join('/');
      let folder = await this.findByPath(projectId, path);
      if (!folder) {
        folder = { id: randomUUID(), project_id: projectId, parent_id: parent?.id ?? null, name: names[i]!, path, created_at: now };
        await this.db
          .insertInto('folders')
          .values(folder)
          .onConflict((oc) => oc.columns(['project_id', 'path']).doNothing())
          .execute();
        folder = (await this.findByPath(projectId, path))!;
      }
      parent = folder;
    }
    if (!parent) throw new Error('A folder path needs at least one name');
    return parent;
  }
}
