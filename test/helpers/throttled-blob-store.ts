import { Transform, type Readable } from 'node:stream';
import type { BlobRange, BlobStore } from '../../src/adapters/blob/blob-store.js';

const PIECE = 16 * 1024;

/**
 * Reads like the store it wraps, but lets bytes out 16 KiB at a time, each piece after `delayMs`
 * (0: no delay), whatever size the store reads in, so a test can watch or cancel an export while
 * it runs; with `confirmDelayMs`, a finished write is confirmed only after that pause. Delays can
 * be changed at any time and apply to operations started afterwards.
 */
export class ThrottledBlobStore implements BlobStore {
  constructor(
    private readonly inner: BlobStore,
    public delayMs = 0,
    public confirmDelayMs = 0,
  ) {}

  async put(key: string, body: Readable, options?: { signal?: AbortSignal; contentType?: string }) {
    const pause = this.confirmDelayMs;
    const result = await this.inner.put(key, body, options);
    if (pause > 0) await new Promise((resolve) => setTimeout(resolve, pause));
    return result;
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
