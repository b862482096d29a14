/**
 * Block-parallel raw deflate, pigz-style, for the ZIP writer's deflated entries.
 *
 * One zlib stream runs on one libuv thread at a time, so a single deflate stream uses one core.
 * Here an entry's input is cut into fixed-size blocks (by offset, independent of how the source
 * chunks its data) and each block is compressed on its own with the async `zlib.deflateRaw` (libuv
 * thread pool), up to `concurrency` blocks at a time:
 *
 * - every block but the last is ended with Z_SYNC_FLUSH: its output stops at a byte boundary
 *   (after an empty stored block, 00 00 FF FF) without a final block, so the next block's output
 *   can simply follow it; the last block is ended with Z_FINISH. Concatenated in order, the outputs
 *   are one valid raw deflate stream, which any inflater reads like a single-stream one;
 * - each block is primed with the last 32 KiB of the input before it as its `dictionary`, so matches
 *   can reach back across block boundaries as in a single stream: the size stays within a fraction of
 *   a percent of single-stream deflate's (each boundary costs the sync-flush marker and a restarted
 *   Huffman block);
 * - the output is deterministic: it depends on the data, the level and the block size only, not on
 *   the concurrency, the timing or the source's chunking.
 *
 * The CRC-32 and the size check stay with the caller's meter, which sees the input chunks in order.
 *
 * Memory: at most `concurrency + 1` input blocks are held (sealed blocks waiting for or in
 * compression, plus the one being filled), each block's output until it has been written, and a
 * 32 KiB dictionary. The source is paused while that window is full and while the consumer of the
 * output has no demand; outputs are written strictly in block order, in slices, each after the
 * consumer asked for more.
 */
import type { Readable } from 'node:stream';
import { finished } from 'node:stream';
import os from 'node:os';
import zlib from 'node:zlib';

/**
 * Default input block size. pigz uses 128 KiB; larger blocks mean fewer sync-flush boundaries and
 * thread-pool round trips, smaller ones less memory (`(concurrency + 1)` blocks are held) and a
 * shorter lead of the source over a slow consumer. With 512 KiB blocks, binary STL meshes deflate
 * ~0.01 % larger than in one stream (the dictionary carries matches across boundaries).
 */
export const DEFAULT_DEFLATE_BLOCK_SIZE = 512 * 1024;

/** Deflate's window: the most a match can reach back, so the most of a dictionary that is used. */
const WINDOW_SIZE = 32 * 1024;
/** Compressed output is written to the consumer in slices of at most this size. */
const OUTPUT_SLICE = 64 * 1024;
/** zlib's output chunk size per block (one thread-pool round trip each). */
const ZLIB_CHUNK_SIZE = 64 * 1024;
/** An entry that is one block of at most this size is deflated synchronously (the pool round trip costs more). */
const SYNC_DEFLATE_LIMIT = 64 * 1024;

/** Counts, checks and CRCs the input in order; throws to fail the entry (SizeMismatchError). */
export interface DeflateInputMeter {
  update(chunk: Buffer): void;
  /** Called when the source ended; throws when it yielded too few bytes. */
  end(): void;
}

/** Where the compressed bytes go, in order. */
export interface DeflateOutputSink {
  /** Takes compressed bytes now; false when the consumer wants no more for the moment. May throw (writer failed). */
  push(chunk: Buffer): boolean;
  /** Resolves when the consumer wants more; rejects when the writer failed. */
  demand(): Promise<void>;
}

export interface ParallelDeflateOptions {
  /** zlib level, 0–9. */
  level: number;
  /** Most blocks compressed at once (≥ 1). */
  concurrency: number;
  /** Input block size in bytes (≥ 1); DEFAULT_DEFLATE_BLOCK_SIZE in the ZIP writer. */
  blockSize: number;
  /**
   * The size the source must have. The block that ends at this offset is the final one (Z_FINISH),
   * so the last block need not be held back until the source signals its end; a source that yields
   * more or fewer bytes fails through the meter.
   */
  expectedSize: number;
}

/**
 * Default number of blocks deflated at once: one per core, but at most the libuv thread pool's
 * size less one. The pool (UV_THREADPOOL_SIZE, default 4) also serves file reads and DNS lookups;
 * with every pool thread busy deflating, a source's file reads would queue behind ~20–50 ms jobs,
 * and more jobs than pool threads only wait in its queue anyway.
 */
export function defaultDeflateConcurrency(): number {
  const configured = Number.parseInt(process.env.UV_THREADPOOL_SIZE ?? '', 10);
  const poolSize = Number.isInteger(configured) && configured > 0 ? Math.min(configured, 1024) : 4;
  return Math.max(1, Math.min(os.availableParallelism(), poolSize - 1));
}

/**
 * An upper bound of the deflated size of `size` bytes, for the single-stream and the block-split
 * stream alike. zlib's own bound for one stream is size + ~0.03 % + 13 bytes (stored blocks of
 * ≥ 16 KiB with 5-byte headers); each Z_SYNC_FLUSH boundary adds at most an end-of-block code, bit
 * padding, an empty stored block (5 bytes) and the headers of the restarted block (< 64 bytes).
 */
export function deflatedSizeBound(size: number, blockSize: number): number {
  const blocks = Math.max(1, Math.ceil(size / blockSize));
  return size + Math.ceil(size / 1000) + 1024 + blocks * 64;
}

/**
 * Reads `source` to its end, deflating it in blocks on up to `options.concurrency` pool threads and
 * pushing the raw deflate stream to `sink` in order. Resolves with the compressed size once the
 * source has ended and all output has been pushed; rejects with the first error (source, meter,
 * zlib, sink). Does not destroy the source: on failure, the caller does (the writer fails as a whole).
 */
export function deflateParallel(
  source: Readable,
  meter: DeflateInputMeter,
  sink: DeflateOutputSink,
  options: ParallelDeflateOptions,
): Promise<number> {
  const { level, concurrency, blockSize, expectedSize } = options;
  if (!Number.isInteger(level) || level < 0 || level > 9) throw new RangeError(`level must be an integer from 0 to 9, got ${level}`);
  if (!Number.isInteger(concurrency) || concurrency < 1) throw new RangeError(`concurrency must be a positive integer, got ${concurrency}`);
  if (!Number.isSafeInteger(blockSize) || blockSize < 1) throw new RangeError(`blockSize must be a positive integer, got ${blockSize}`);
  if (!Number.isSafeInteger(expectedSize) || expectedSize < 0) {
    throw new RangeError(`expectedSize must be a non-negative integer, got ${expectedSize}`);
  }
  return new BlockDeflater(source, meter, sink, options).run();
}

export function toBuffer(chunk: unknown): Buffer {
  if (Buffer.isBuffer(chunk)) return chunk;
  if (typeof chunk === 'string') return Buffer.from(chunk, 'utf8');
  if (chunk instanceof Uint8Array) return Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
  throw new TypeError(`ZIP entry sources must yield Buffers, Uint8Arrays or strings, got ${typeof chunk}`);
}

interface Block {
  /** Uncompressed bytes; dropped once compressed. */
  input: Buffer | undefined;
  /** The last ≤ 32 KiB of input before this block. */
  dictionary: Buffer | undefined;
  final: boolean;
  started: boolean;
  output: Buffer | undefined;
}

class BlockDeflater {
  /** Sealed blocks in order, from queued through compressing to compressed-but-not-yet-written. */
  private readonly blocks: Block[] = [];
  private inFlight = 0;
  /** The block being filled. */
  private filling: Buffer[] = [];
  private fillingBytes = 0;
  private received = 0;
  /** The last ≤ 32 KiB of input sealed so far: the next block's dictionary. */
  private history: Buffer | undefined;
  private finalSealed = false;
  private finalWritten = false;
  private sourceEnded = false;
  private writing = false;
  private waitingForDemand = false;
  private flowing = false;
  private compressedSize = 0;
  private settled = false;
  private resolve!: (compressedSize: number) => void;
  private reject!: (error: Error) => void;
  private stopWatching: () => void = () => {};

  constructor(
    private readonly source: Readable,
    private readonly meter: DeflateInputMeter,
    private readonly sink: DeflateOutputSink,
    private readonly options: ParallelDeflateOptions,
  ) {}

  run(): Promise<number> {
    return new Promise<number>((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
      this.stopWatching = finished(this.source, (error) => (error ? this.settle(error) : this.onEnd()));
      this.source.on('data', this.onData);
      this.schedule();
    });
  }

  private readonly onData = (chunk: unknown): void => {
    if (this.settled) return;
    try {
      const buffer = toBuffer(chunk);
      // First: a chunk past the expected size fails here, before any of it is compressed.
      this.meter.update(buffer);
      this.add(buffer);
      this.schedule();
    } catch (error) {
      this.settle(error as Error);
    }
  };

  private onEnd(): void {
    if (this.settled) return;
    try {
      this.meter.end();
      this.sourceEnded = true;
      // Only an empty entry gets here without its final block: the meter checked the size, and a
      // non-empty entry's final block was sealed when its last byte arrived.
      if (!this.finalSealed) this.seal(true);
      this.schedule();
    } catch (error) {
      this.settle(error as Error);
    }
  }

  /** Appends input to the filling block, sealing blocks at block boundaries and at the expected end. */
  private add(buffer: Buffer): void {
    const { blockSize, expectedSize } = this.options;
    let offset = 0;
    while (offset < buffer.length) {
      const take = Math.min(buffer.length - offset, blockSize - this.fillingBytes);
      this.filling.push(take === buffer.length ? buffer : buffer.subarray(offset, offset + take));
      this.fillingBytes += take;
      this.received += take;
      offset += take;
      const final = this.received === expectedSize;
      if (this.fillingBytes === blockSize || final) this.seal(final);
    }
  }

  private seal(final: boolean): void {
    const input = this.filling.length === 1 ? this.filling[0]! : Buffer.concat(this.filling, this.fillingBytes);
    this.filling = [];
    this.fillingBytes = 0;
    const dictionary = this.history;
    if (final) this.finalSealed = true;
    else this.history = lastWindow(this.history, input);
    this.blocks.push({ input, dictionary, final, started: false, output: undefined });
  }

  /** Starts what can start, writes what is ready, and pauses or resumes the source accordingly. */
  private schedule(): void {
    if (this.settled) return;
    for (const block of this.blocks) {
      if (this.inFlight >= this.options.concurrency) break;
      if (!block.started) this.compress(block);
    }
    // Runs synchronously up to its first wait for demand, and may settle meanwhile.
    if (!this.writing && this.blocks[0]?.output) void this.writeReady();
    if (this.settled) return;
    if (this.finalWritten && this.sourceEnded) {
      this.settle();
      return;
    }
    // Read on while at most `concurrency` blocks are sealed (the one being filled makes it + 1) and
    // the consumer wants data. After the final block, only the end (or excess bytes) can come.
    const flow = !this.sourceEnded && (this.finalSealed || (!this.waitingForDemand && this.blocks.length <= this.options.concurrency));
    if (flow !== this.flowing) {
      this.flowing = flow;
      if (flow) this.source.resume();
      else this.source.pause();
    }
  }

  private compress(block: Block): void {
    block.started = true;
    const input = block.input!;
    const flush = block.final ? zlib.constants.Z_FINISH : zlib.constants.Z_SYNC_FLUSH;
    if (block.final && !block.dictionary && input.length <= SYNC_DEFLATE_LIMIT) {
      // A small entry that is a single block: µs of work, less than a pool round trip.
      block.output = zlib.deflateRawSync(input, { level: this.options.level });
      block.input = undefined;
      return;
    }
    const zlibOptions: zlib.ZlibOptions = { level: this.options.level, chunkSize: ZLIB_CHUNK_SIZE, finishFlush: flush };
    if (block.dictionary) zlibOptions.dictionary = block.dictionary;
    this.inFlight++;
    zlib.deflateRaw(input, zlibOptions, (error, output) => {
      this.inFlight--;
      if (this.settled) return;
      if (error) return this.settle(error);
      block.output = output;
      block.input = undefined;
      block.dictionary = undefined;
      this.schedule();
    });
  }

  /** Writes compressed blocks from the head of the window, in order, as long as they are ready. */
  private async writeReady(): Promise<void> {
    this.writing = true;
    try {
      let block: Block | undefined;
      while (!this.settled && (block = this.blocks[0])?.output) {
        const output = block.output;
        for (let offset = 0; offset < output.length; offset += OUTPUT_SLICE) {
          const end = Math.min(output.length, offset + OUTPUT_SLICE);
          if (!this.sink.push(offset === 0 && end === output.length ? output : output.subarray(offset, end))) {
            this.waitingForDemand = true;
            this.schedule(); // pauses the source
            await this.sink.demand();
            this.waitingForDemand = false;
            if (this.settled) return;
          }
        }
        this.compressedSize += output.length;
        this.blocks.shift();
        if (block.final) this.finalWritten = true;
        this.schedule();
      }
    } catch (error) {
      this.settle(error as Error);
    } finally {
      this.writing = false;
    }
    // A block may have completed while the last write awaited demand, with this loop still marked busy.
    this.schedule();
  }

  private settle(error?: Error): void {
    if (this.settled) return;
    this.settled = true;
    this.source.off('data', this.onData);
    this.stopWatching();
    if (this.flowing) this.source.pause();
    this.flowing = false;
    this.blocks.length = 0;
    this.filling = [];
    this.history = undefined;
    if (error) this.reject(error);
    else this.resolve(this.compressedSize);
  }
}

/** The last ≤ 32 KiB of `history` followed by `input`, copied (so the input block can be freed). */
function lastWindow(history: Buffer | undefined, input: Buffer): Buffer {
  if (input.length >= WINDOW_SIZE || !history) return Buffer.from(input.subarray(Math.max(0, input.length - WINDOW_SIZE)));
  const joined = Buffer.concat([history, input]);
  return joined.subarray(Math.max(0, joined.length - WINDOW_SIZE));
}
