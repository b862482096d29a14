import { Transform, type Readable } from 'node:stream';
import type { BlobRange, BlobStore } from '../../src/adapters/blob/blob-store.js';

/**
 * Reads like the store it wraps, but lets bytes out 16 KiB at a time, each piece after `delayMs`
 * (0: no delay), whatever size the store reads in, so a test can watch or cancel an export while
 * it runs. The delay can be changed at any time and
 * applies to reads started afterwards. Writes, stats, deletes and listings go straight through.
 */
const PIECE = 16 * 1024;

export class ThrottledBlobStore implements BlobStore {
  constructor(
    private readonly inner: BlobStore,
    public delayMs = 0,
  ) {}

  put(key: string, body: Readable, options?: { signal?: AbortSignal; contentType?: string }) {
    return this.inner.put(key, body, options);
  }

  async get(key: string, range?: BlobRange): Promise<Readable> {
    const source = await this.inner.get(key, range);
    const delay = this.delayMs;
    if (delay <= 0) return source;
    const slow = new Transform({
      highWaterMark: PIECE,
      transform(chunk: Buffer, _encoding, done) {
        let offset = 0;
        const next = () => {
          if (offset >= chunk.length) return done();
          slow.push(chunk.subarray(offset, offset + PIECE));
          offset += PIECE;
          setTimeout(next, delay);
        };
        setTimeout(next, delay);
      },
    });
    source.once('error', (error) => slow.destroy(error));
    return source.pipe(slow);
  }

  stat(key: string) {
    return this.inner.stat(key);
  }

  delete(key: string) {
    return this.inner.delete(key);
  }

  list(prefix: string) {
    return this.inner.list(prefix);
  }

  cleanupAbandoned(olderThanMs: number) {
    return this.inner.cleanupAbandoned(olderThanMs);
  }
}
