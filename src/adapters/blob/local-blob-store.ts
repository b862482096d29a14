import { randomUUID } from 'node:crypto';
import { createWriteStream, type Dirent } from 'node:fs';
import { mkdir, open, readdir, rename, rm, stat, statfs, unlink, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import {
  assertRangeShape,
  assertValidBlobKey,
  BlobNotFoundError,
  BlobRangeError,
  isPartialRange,
  type BlobRange,
  type BlobStat,
  type BlobStore,
} from './blob-store.js';

const PARTIAL_DIR = '.partial';
const READ_CHUNK = 1 << 20;

/** Blobs as plain files under one directory; `<root>/.partial` holds uploads in progress. */
export class LocalBlobStore implements BlobStore {
  readonly root: string;
  private readonly partialDir: string;

  constructor(root: string) {
    this.root = path.resolve(root);
    this.partialDir = path.join(this.root, PARTIAL_DIR);
  }

  async put(key: string, body: Readable, options: { signal?: AbortSignal; contentType?: string } = {}): Promise<{ size: number }> {
    const { signal } = options;
    // Written beside the final path's filesystem so that the rename below is atomic.
    const partial = path.join(this.partialDir, randomUUID());
    try {
      const target = this.pathFor(key);
      signal?.throwIfAborted();
      await mkdir(this.partialDir, { recursive: true });
      const out = createWriteStream(partial, { flags: 'wx', mode: 0o644 });
      await pipeline(body, out, { signal });
      // A FileHandle shared with a stream cannot be closed while the stream holds it, so the
      // fsync that makes the bytes durable before the rename uses a handle of its own.
      const handle = await open(partial, 'r+');
      try {
        await handle.sync();
      } finally {
        await handle.close();
      }
      signal?.throwIfAborted();
      const dir = path.dirname(target);
      await mkdir(dir, { recursive: true });
      await rename(partial, target);
      await syncDirectory(dir);
      return { size: out.bytesWritten };
    } catch (err) {
      body.destroy();
      await rm(partial, { force: true });
      throw signal?.aborted ? signal.reason : err;
    }
  }

  async get(key: string, range?: BlobRange): Promise<Readable> {
    const file = this.pathFor(key);
    if (range) assertRangeShape(key, range);
    let handle: FileHandle;
    try {
      handle = await open(file, 'r');
    } catch (err) {
      if (isAbsent(err)) throw new BlobNotFoundError(key);
      throw err;
    }
    try {
      // Size checked on the open handle so a concurrent replace cannot slip in between check and read.
      const info = await handle.stat();
      if (!info.isFile()) throw new BlobNotFoundError(key);
      // 1 MiB reads: a quarter of the per-chunk overhead of the 64 KiB default on large files.
      if (!isPartialRange(range)) return handle.createReadStream({ highWaterMark: READ_CHUNK });
      const start = range.start ?? 0;
      const end = range.end ?? info.size - 1;
      if (start >= info.size || end >= info.size || start > end) throw new BlobRangeError(key, range, info.size);
      return handle.createReadStream({ start, end, highWaterMark: READ_CHUNK });
    } catch (err) {
      await handle.close().catch(() => undefined);
      throw err;
    }
  }

  async stat(key: string): Promise<BlobStat | null> {
    const file = this.pathFor(key);
    try {
      const info = await stat(file);
      return info.isFile() ? { size: info.size, modifiedAt: info.mtime } : null;
    } catch (err) {
      if (isAbsent(err)) return null;
      throw err;
    }
  }

  async delete(key: string): Promise<void> {
    const file = this.pathFor(key);
    try {
      await unlink(file);
    } catch (err) {
      if (!isAbsent(err)) throw err;
    }
  }

  async *list(prefix: string): AsyncIterable<string> {
    yield* this.walk(this.root, '', prefix);
  }

  /**
   * Removes partial files left by a process that died mid-upload. Partial files are written as data
   * arrives, so their mtime is recent while an upload is alive; choose an age well above any stall.
   */
  cleanupAbandoned(olderThanMs: number): Promise<number> {
    return this.cleanupPartials(olderThanMs);
  }

  async cleanupPartials(olderThanMs: number): Promise<number> {
    let names: string[];
    try {
      names = await readdir(this.partialDir);
    } catch (err) {
      if (isAbsent(err)) return 0;
      throw err;
    }
    const cutoff = Date.now() - olderThanMs;
    let removed = 0;
    for (const name of names) {
      const file = path.join(this.partialDir, name);
      try {
        const info = await stat(file);
        if (info.mtimeMs < cutoff) {
          await rm(file, { force: true, recursive: true });
          removed += 1;
        }
      } catch (err) {
        if (!isAbsent(err)) throw err;
      }
    }
    return removed;
  }

  /** Bytes available to this process on the store's filesystem. */
  async freeBytes(): Promise<number> {
    // The root may not exist before the first put; its nearest existing ancestor is on the same filesystem.
    let dir = this.root;
    for (;;) {
      try {
        const fs = await statfs(dir);
        return fs.bavail * fs.bsize;
      } catch (err) {
        const parent = path.dirname(dir);
        if (!isAbsent(err) || parent === dir) throw err;
        dir = parent;
      }
    }
  }

  private pathFor(key: string): string {
    assertValidBlobKey(key);
    const parts = key.split('/');
    if (parts[0] === PARTIAL_DIR) throw new Error(`Invalid blob key: ${JSON.stringify(key)} (reserved)`);
    return path.join(this.root, ...parts);
  }

  /** Yields keys in lexical order by visiting entries sorted as the keys beneath them would sort. */
  private async *walk(dir: string, keyPrefix: string, wanted: string): AsyncGenerator<string> {
    let entries: Dirent[];
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch (err) {
      // Removed while listing, or a prefix that names no directory.
      if (isAbsent(err)) return;
      throw err;
    }
    const sortable = entries.flatMap((entry) => {
      if (keyPrefix === '' && entry.name === PARTIAL_DIR) return [];
      const key = keyPrefix + entry.name;
      if (entry.isDirectory()) {
        // Every key below a directory starts with `name/`, so that is its position among its siblings.
        const below = `${key}/`;
        return below.startsWith(wanted) || wanted.startsWith(below) ? [{ sortKey: below, key, name: entry.name, dir: true }] : [];
      }
      return entry.isFile() && key.startsWith(wanted) ? [{ sortKey: key, key, name: entry.name, dir: false }] : [];
    });
    sortable.sort((a, b) => compareKeys(a.sortKey, b.sortKey));
    for (const entry of sortable) {
      if (entry.dir) yield* this.walk(path.join(dir, entry.name), `${entry.key}/`, wanted);
      else yield entry.key;
    }
  }
}

/** Byte order of the UTF-8 encoding, which is how S3 orders keys. */
function compareKeys(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}

function isAbsent(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException | null)?.code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}

/** Makes the rename itself durable; not every platform lets a directory be opened and synced. */
async function syncDirectory(dir: string): Promise<void> {
  let handle: FileHandle | undefined;
  try {
    handle = await open(dir, 'r');
    await handle.sync();
  } catch {
    // Durability nicety only: the blob is already complete and visible.
  } finally {
    await handle?.close().catch(() => undefined);
  }
}
