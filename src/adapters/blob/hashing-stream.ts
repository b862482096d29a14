import { createHash } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';
import zlib from 'node:zlib';

export interface Digest {
  size: number;
  sha256: string;
  /** 0 when the stream was told not to compute it. */
  crc32: number;
}

/**
 * A pass-through that measures what flows through it: byte count, SHA-256 and CRC-32, so a file is
 * read once whether it is being stored, verified or zipped. `digest()` is valid after the end.
 */
export class HashingStream extends Transform {
  private readonly sha = createHash('sha256');
  private crc = 0;
  private size = 0;
  private result: Digest | undefined;

  private readonly withCrc: boolean;
  private readonly onBytes?: (bytes: number) => void;

  /**
   * `onBytes` hears of every chunk as it passes, for progress that needs no extra listener.
   * `crc32: false` skips the CRC where another stage computes it anyway (every pass costs time).
   */
  constructor(options: { onBytes?: (bytes: number) => void; crc32?: boolean } = {}) {
    super({ highWaterMark: 1 << 20 });
    this.onBytes = options.onBytes;
    this.withCrc = options.crc32 ?? true;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.sha.update(chunk);
    if (this.withCrc) this.crc = zlib.crc32(chunk, this.crc);
    this.size += chunk.length;
    this.onBytes?.(chunk.length);
    callback(null, chunk);
  }

  override _flush(callback: TransformCallback): void {
    this.result = { size: this.size, sha256: this.sha.digest('hex'), crc32: this.crc };
    callback();
  }

  digest(): Digest {
    if (!this.result) throw new Error('The stream has not ended yet');
    return this.result;
  }
}

/**
 * `source` as seen through a HashingStream, for handing to a consumer such as `BlobStore.put`.
 * Errors of the source reach the consumer; `pipeline` would not do here, since it destroys its
 * last stream when the source ends, before the consumer has read it.
 */
export function measured(
  source: NodeJS.ReadableStream & { destroy(error?: Error): void },
  options: { onBytes?: (bytes: number) => void; crc32?: boolean } = {},
): HashingStream {
  const hashing = new HashingStream(options);
  source.once('error', (error) => hashing.destroy(error as Error));
  hashing.once('close', () => source.destroy());
  source.pipe(hashing);
  return hashing;
}
