/**
 * A streaming ZIP writer for exports: many large entries (CBCT volumes, meshes, photos) go into one
 * archive of possibly hundreds of GB that is piped straight to storage.
 *
 * Design choice: the format is written here directly, with `zlib.crc32` and zlib's raw deflate,
 * rather than on top of yazl. yazl 3 reports a size mismatch only as a generic error *after* the
 * wrong-sized data has been written, pipes added streams without handling their errors (an S3 read
 * error would crash the process), computes CRC-32 in JavaScript (buffer-crc32: ~0.4 GB/s here,
 * native zlib.crc32 ~4.7 GB/s, which matters at hundreds of GB) and writes 8-byte data descriptors
 * for entries at offsets ≥ 4 GiB without a ZIP64 extra field in their local header, which streaming
 * readers misparse; learning each entry's CRC and end would need a second measuring stage anyway.
 * Owning the format code lets every byte be measured exactly once, a size mismatch fail at the first
 * excess byte, and keeps the ZIP64 decisions (below) explicit and testable.
 *
 * Layout of each streamed entry: local header with general purpose bits 3 (CRC and sizes follow the
 * data, in a data descriptor) and 11 (UTF-8 name), the data, the data descriptor. The size expected
 * from the file registry decides up front whether the entry is ZIP64 (then the local header carries
 * a ZIP64 extra field and the descriptor 8-byte sizes, as APPNOTE 4.3.9 asks). The central
 * directory gets a ZIP64 extra field for an entry whenever its sizes or offset do not fit 32 bits;
 * the archive gets a ZIP64 end of central directory record and locator when it has 65,535 or more
 * entries or its central directory's size or offset does not fit. `addBuffer` entries know their
 * CRC and sizes up front and are written without a data descriptor.
 *
 * Deflated entries use several cores (`deflateConcurrency`, default one per core up to the libuv
 * thread pool's size less one): their input is cut into 512 KiB blocks that are deflated
 * concurrently on the pool and joined into one raw deflate stream (parallel-deflate.ts,
 * pigz-style); with a concurrency of 1 an entry goes through one `zlib.createDeflateRaw` stream.
 * CRC-32 and the size check see the input in order either way.
 *
 * Memory is bounded by a few chunks per stage (source, meter, deflate, the output buffer of
 * OUTPUT_HIGH_WATER_MARK = 1 MiB), with parallel deflate by `deflateConcurrency + 1` input blocks and
 * their outputs, plus ~100 bytes of central directory bookkeeping per entry; nothing is
 * proportional to an entry's or the archive's size. Data is only pushed to `output` while its
 * consumer asks for more, so a slow consumer slows the reading of sources.
 */
import { finished as whenFinished, Readable, Transform, Writable, type TransformCallback } from 'node:stream';
import { finished, pipeline } from 'node:stream/promises';
import { promisify } from 'node:util';
import zlib from 'node:zlib';
import { DEFAULT_DEFLATE_BLOCK_SIZE, deflatedSizeBound, deflateParallel, defaultDeflateConcurrency, toBuffer } from './parallel-deflate.js';

export interface ZipEntryOptions {
  /** Deflate (true) or store (false). */
  compress: boolean;
  /** Expected uncompressed size (from the file registry); the entry fails if the source disagrees. */
  size: number;
  mtime?: Date;
}

export interface ZipEntryResult {
  crc32: number;
  size: number;
  compressedSize: number;
}

export interface ZipWriter {
  /** The ZIP bytes, to be piped to storage. Errors in entries surface here and in addEntry's promise. */
  readonly output: Readable;
  /**
   * Adds one entry from a stream; resolves when the entry's bytes have been fully consumed and written
   * to `output`, with the CRC-32 and byte counts actually seen.
   *
   * Calls may be queued: entries are written strictly in the order `addEntry`/`addBuffer` were
   * called, and a queued source is not read until its turn (the pipeline awaits each call anyway;
   * a queued source that is an open S3 response holds its connection while it waits). The writer
   * owns `source` from this call on: it pauses it at once (so it does not flow to other 'data'
   * listeners before its turn), then reads it to its end or destroys it (on an invalid path, or
   * when the writer fails).
   * Any failure of an entry (source error, SizeMismatchError) aborts the whole writer: this promise,
   * `output`, the promises of queued entries and `finish()` all reject with that error.
   * Invalid arguments (path, size) only reject this call.
   */
  addEntry(path: string, source: Readable, options: ZipEntryOptions): Promise<ZipEntryResult>;
  /** Adds a small in-memory entry (metadata.json, SHA256SUMS); queued like addEntry. */
  addBuffer(path: string, data: Buffer, options: { compress: boolean; mtime?: Date }): Promise<void>;
  /** Writes the central directory after all queued entries; resolves with the total ZIP size once output has ended. */
  finish(): Promise<{ size: number }>;
  /** Stops: destroys output, the current source and queued sources with the error. No effect once finish() resolved. */
  abort(error: Error): void;
}

export interface ZipWriterOptions {
  /** zlib level for compressed entries, 0–9 (default 6). */
  compressionLevel?: number;
  /**
   * Write every entry and the end of central directory in ZIP64 form even when nothing needs it.
   * For tests (ZIP64 paths without 4 GiB of data) and for consumers that want uniform archives.
   */
  forceZip64?: boolean;
  /**
   * Most blocks of a deflated entry compressed at once, on the libuv thread pool (default: one per
   * core, at most the pool size less one; see defaultDeflateConcurrency). 1 deflates each entry as
   * one zlib stream on one thread. Above 1, entries are split into 512 KiB blocks deflated in
   * parallel (see parallel-deflate.ts): output ~0.01 % larger on meshes, same guarantees otherwise.
   */
  deflateConcurrency?: number;
}

/** The source yielded more or fewer bytes than the size the entry was added with. */
export class SizeMismatchError extends Error {
  constructor(
    readonly path: string,
    readonly expected: number,
    /** Bytes seen. When the source yielded too many, counting stops at the chunk that overflowed. */
    readonly actual: number,
  ) {
    super(
      actual > expected
        ? `ZIP entry "${path}": source yielded more bytes than expected (expected ${expected}, got at least ${actual})`
        : `ZIP entry "${path}": source yielded fewer bytes than expected (expected ${expected}, got ${actual})`,
    );
    this.name = 'SizeMismatchError';
  }
}

/** An entry path or option that cannot go into the archive; rejects only that call. */
export class InvalidZipEntryError extends Error {
  constructor(
    readonly path: string,
    reason: string,
  ) {
    super(`Invalid ZIP entry ${JSON.stringify(path)}: ${reason}`);
    this.name = 'InvalidZipEntryError';
  }
}

/** The writer was used after finish() was called. */
export class ZipWriterClosedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ZipWriterClosedError';
  }
}

export function createZipWriter(options: ZipWriterOptions = {}): ZipWriter {
  return new StreamingZipWriter(options);
}

// --- format constants -------------------------------------------------------------------------

const MAX32 = 0xffffffff;
const MAX16 = 0xffff;
const SIG_LOCAL = 0x04034b50;
const SIG_DESCRIPTOR = 0x08074b50;
const SIG_CENTRAL = 0x02014b50;
const SIG_ZIP64_EOCD = 0x06064b50;
const SIG_ZIP64_LOCATOR = 0x07064b50;
const SIG_EOCD = 0x06054b50;
const FLAG_DATA_DESCRIPTOR = 1 << 3;
const FLAG_UTF8 = 1 << 11;
const METHOD_STORE = 0;
const METHOD_DEFLATE = 8;
const VERSION_DEFAULT = 20; // deflate, UTF-8 names
const VERSION_ZIP64 = 45;
const VERSION_MADE_BY = (3 << 8) | VERSION_ZIP64; // Unix, APPNOTE 4.5
const EXTERNAL_ATTRIBUTES = (0o100644 << 16) >>> 0; // regular file, rw-r--r--
const EXTRA_ZIP64 = 0x0001;
const EXTRA_TIMESTAMP = 0x5455; // Info-ZIP extended timestamp, mtime in UTC

const OUTPUT_HIGH_WATER_MARK = 1024 * 1024;
const DEFLATE_CHUNK_SIZE = 64 * 1024;
const DEFLATE_BLOCK_SIZE = DEFAULT_DEFLATE_BLOCK_SIZE;
const CENTRAL_DIRECTORY_BATCH = 256 * 1024;
const SYNC_DEFLATE_LIMIT = 64 * 1024;

const deflateRaw = promisify(zlib.deflateRaw);
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

interface CentralRecord {
  name: Buffer;
  flags: number;
  method: number;
  dosTime: number;
  dosDate: number;
  unixTime: number;
  crc32: number;
  size: number;
  compressedSize: number;
  offset: number;
  /** The local header carried a ZIP64 extra field. */
  zip64Local: boolean;
}

interface Demand {
  promise: Promise<void>;
  resolve: () => void;
  reject: (error: Error) => void;
}

/** The archive bytes. Data is pushed by the writer; `_read` signals that the consumer wants more. */
class ZipOutput extends Readable {
  onDemand: () => void = () => {};

  override _read(): void {
    this.onDemand();
  }
}

class StreamingZipWriter implements ZipWriter {
  readonly output: ZipOutput;
  private readonly level: number;
  private readonly forceZip64: boolean;
  private readonly deflateConcurrency: number;
  private readonly defaultMtime = new Date();
  private readonly records: CentralRecord[] = [];
  private readonly names = new Set<string>();
  /** Sources added but not yet started. */
  private readonly queued = new Set<Readable>();
  /** Source of the entry being written, destroyed on abort. */
  private current: Readable | undefined;
  private tail: Promise<unknown> = Promise.resolve();
  private offset = 0;
  private failure: Error | undefined;
  private finishPromise: Promise<{ size: number }> | undefined;
  private completed = false;
  private demand: Demand | undefined;
  private demanded = false;

  constructor(options: ZipWriterOptions) {
    const level = options.compressionLevel ?? 6;
    if (!Number.isInteger(level) || level < 0 || level > 9) {
      throw new RangeError(`compressionLevel must be an integer from 0 to 9, got ${level}`);
    }
    this.level = level;
    this.forceZip64 = options.forceZip64 ?? false;
    const concurrency = options.deflateConcurrency ?? defaultDeflateConcurrency();
    if (!Number.isInteger(concurrency) || concurrency < 1) {
      throw new RangeError(`deflateConcurrency must be a positive integer, got ${concurrency}`);
    }
    this.deflateConcurrency = concurrency;
    this.output = new ZipOutput({ highWaterMark: OUTPUT_HIGH_WATER_MARK });
    this.output.onDemand = () => {
      this.demanded = true;
      const demand = this.demand;
      this.demand = undefined;
      demand?.resolve();
    };
    // Errors reach the consumer through its own listeners (pipeline) and the promises; this one only
    // keeps an unconsumed, failed output from crashing the process.
    this.output.on('error', () => {});
    this.output.on('close', () => {
      if (!this.output.readableEnded) {
        this.fail(this.output.errored ?? new Error('The ZIP output was closed before the archive was complete'));
      }
    });
  }

  addEntry(path: string, source: Readable, options: ZipEntryOptions): Promise<ZipEntryResult> {
    let name: Buffer;
    let mtime: Date;
    try {
      this.checkOpen();
      if (!Number.isSafeInteger(options.size) || options.size < 0) {
        throw new InvalidZipEntryError(path, `size must be a non-negative integer, got ${options.size}`);
      }
      mtime = this.checkMtime(path, options.mtime);
      name = this.claimName(path);
    } catch (error) {
      // Release the source without emitting 'error' on it: the caller may not listen for one.
      source.destroy();
      return Promise.reject(error);
    }
    // Errors of the source are handled where it is read; this listener only keeps one that occurs
    // while the source waits its turn, or after the writer destroyed it, from crashing the process.
    source.on('error', () => {});
    // Hold the source until its turn even if the caller listens to its 'data' events (progress,
    // hashing): a flowing source would hand its bytes to those listeners and not to the archive.
    // An explicitly paused stream is not resumed by a new 'data' listener; pipe() and pumpStored()
    // resume it when they start reading.
    source.pause();
    this.queued.add(source);
    return this.enqueue(() => {
      this.queued.delete(source);
      return this.writeStreamEntry(path, name, source, options.size, options.compress, mtime);
    });
  }

  addBuffer(path: string, data: Buffer, options: { compress: boolean; mtime?: Date }): Promise<void> {
    let name: Buffer;
    let mtime: Date;
    try {
      this.checkOpen();
      mtime = this.checkMtime(path, options.mtime);
      name = this.claimName(path);
    } catch (error) {
      return Promise.reject(error);
    }
    return this.enqueue(() => this.writeBufferEntry(name, data, options.compress, mtime));
  }

  finish(): Promise<{ size: number }> {
    if (!this.finishPromise) {
      this.finishPromise = this.tail.then(() => this.writeCentralDirectory());
    }
    return this.finishPromise;
  }

  abort(error: Error): void {
    this.fail(error);
  }

  // --- internals ------------------------------------------------------------------------------

  private checkOpen(): void {
    if (this.failure) throw this.failure;
    if (this.finishPromise) throw new ZipWriterClosedError('Cannot add ZIP entries after finish() was called');
  }

  private checkMtime(path: string, mtime: Date | undefined): Date {
    const date = mtime ?? this.defaultMtime;
    if (!(date instanceof Date) || Number.isNaN(date.getTime())) throw new InvalidZipEntryError(path, 'mtime is not a valid date');
    return date;
  }

  /** Validates a path (relative, `/`-separated, no `.`/`..` segments, unique) and returns its UTF-8 bytes. */
  private claimName(path: string): Buffer {
    if (typeof path !== 'string' || path.length === 0) throw new InvalidZipEntryError(String(path), 'empty path');
    if (path.includes('\0')) throw new InvalidZipEntryError(path, 'contains a NUL character');
    if (path.includes('\\')) throw new InvalidZipEntryError(path, 'contains a backslash; use "/" as separator');
    if (path.startsWith('/') || /^[A-Za-z]:/.test(path)) throw new InvalidZipEntryError(path, 'must be relative');
    for (const segment of path.split('/')) {
      if (segment === '') throw new InvalidZipEntryError(path, 'has an empty segment or a trailing "/"');
      if (segment === '.' || segment === '..') throw new InvalidZipEntryError(path, `contains a "${segment}" segment`);
    }
    if (LONE_SURROGATE.test(path)) throw new InvalidZipEntryError(path, 'is not well-formed Unicode');
    const name = Buffer.from(path, 'utf8');
    if (name.length > MAX16) throw new InvalidZipEntryError(path, 'is longer than 65,535 bytes in UTF-8');
    if (this.names.has(path)) throw new InvalidZipEntryError(path, 'is already in the archive');
    this.names.add(path);
    return name;
  }

  private enqueue<T>(task: () => Promise<T>): Promise<T> {
    const run = this.tail.then(() => {
      if (this.failure) throw this.failure;
      return task();
    });
    this.tail = run.catch(() => {});
    return run;
  }

  /** Fails the writer once: the first error wins and is what every pending promise rejects with. */
  private fail(error: Error): void {
    if (this.failure || this.completed) return;
    this.failure = error;
    this.current?.destroy(error);
    for (const source of this.queued) source.destroy(error);
    this.queued.clear();
    const demand = this.demand;
    this.demand = undefined;
    demand?.reject(error);
    if (!this.output.destroyed) this.output.destroy(error);
  }

  /** Pushes bytes to `output` now; false when its consumer's buffer is full (then wait for demand). */
  private pushOut(chunk: Buffer): boolean {
    if (this.failure) throw this.failure;
    if (this.output.destroyed) {
      throw this.failWith(this.output.errored ?? new Error('The ZIP output was closed before the archive was complete'));
    }
    this.offset += chunk.length;
    this.demanded = false;
    // `demanded`: the consumer asked for more during push() itself.
    return this.output.push(chunk) || this.demanded;
  }

  /** Resolves when the consumer of `output` wants more data; rejects when the writer fails. */
  private waitForDemand(): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    if (!this.demand) {
      let resolve!: () => void;
      let reject!: (error: Error) => void;
      const promise = new Promise<void>((res, rej) => {
        resolve = res;
        reject = rej;
      });
      this.demand = { promise, resolve, reject };
    }
    return this.demand.promise;
  }

  /** Pushes bytes to `output`; waits while the consumer's buffer is full. */
  private async write(chunk: Buffer): Promise<void> {
    if (chunk.length === 0) return;
    if (!this.pushOut(chunk)) await this.waitForDemand();
  }

  /**
   * Copies a stored entry's source to `output`, measuring it. Uses 'data' events and pause/resume
   * rather than pipeline() or `for await`: pipeline costs tens of µs per entry (stored entries may be
   * tens of thousands of small files), and the async iterator calls `read()`, which concatenates
   * (copies) whatever the source has buffered. Here every chunk is passed on as it came.
   */
  private pumpStored(source: Readable, meter: Meter): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      let settled = false;
      let waiting = false;
      const settle = (error?: Error) => {
        if (settled) return;
        settled = true;
        source.off('data', onData);
        stopWatching();
        if (error) reject(error);
        else resolve();
      };
      const onData = (chunk: unknown) => {
        if (settled) return;
        try {
          const buffer = toBuffer(chunk);
          meter.update(buffer);
          // A chunk that arrives while paused is still pushed: `output` may exceed its high water
          // mark by a chunk, but order is kept and nothing is held here.
          if (!this.pushOut(buffer) && !waiting) {
            waiting = true;
            source.pause();
            this.waitForDemand().then(
              () => {
                waiting = false;
                if (!settled) source.resume();
              },
              (error: Error) => settle(error),
            );
          }
        } catch (error) {
          settle(error as Error);
        }
      };
      const stopWatching = whenFinished(source, (error) => {
        if (error) return settle(error);
        try {
          meter.end();
          settle();
        } catch (endError) {
          settle(endError as Error);
        }
      });
      source.on('data', onData);
      source.resume();
    });
  }

  private async writeStreamEntry(
    path: string,
    name: Buffer,
    source: Readable,
    size: number,
    compress: boolean,
    mtime: Date,
  ): Promise<ZipEntryResult> {
    this.current = source;
    try {
      return await this.writeStreamEntryData(path, name, source, size, compress, mtime);
    } finally {
      this.current = undefined;
    }
  }

  private async writeStreamEntryData(
    path: string,
    name: Buffer,
    source: Readable,
    size: number,
    compress: boolean,
    mtime: Date,
  ): Promise<ZipEntryResult> {
    if (source.errored) throw this.failWith(source.errored);
    if (source.destroyed || source.readableEnded) {
      throw this.failWith(new Error(`ZIP entry "${path}": the source stream was closed before it was read`));
    }
    // Deflate can expand incompressible data slightly (zlib's bound is ~0.03 % + a few bytes, plus a
    // few bytes per block when split into blocks); the bound is far wider, so an entry that is not
    // ZIP64 up front always fits 32-bit sizes. The same bound for either deflate path: whether an
    // entry is ZIP64 does not depend on the concurrency.
    const worstCase = compress ? deflatedSizeBound(size, DEFLATE_BLOCK_SIZE) : size;
    const zip64 = this.forceZip64 || worstCase >= MAX32;
    const record: CentralRecord = {
      name,
      flags: FLAG_UTF8 | FLAG_DATA_DESCRIPTOR,
      method: compress ? METHOD_DEFLATE : METHOD_STORE,
      ...dosDateTime(mtime),
      unixTime: unixSeconds(mtime),
      crc32: 0,
      size: 0,
      compressedSize: 0,
      offset: this.offset,
      zip64Local: zip64,
    };
    await this.write(localHeader(record, undefined));

    const meter = new Meter(path, size);
    try {
      if (compress && this.deflateConcurrency > 1) {
        record.compressedSize = await deflateParallel(
          source,
          meter,
          { push: (chunk) => this.pushOut(chunk), demand: () => this.waitForDemand() },
          { level: this.level, concurrency: this.deflateConcurrency, blockSize: DEFLATE_BLOCK_SIZE, expectedSize: size },
        );
      } else if (compress) {
        // Deflate is CPU-bound (tens of MB/s), so pipeline's per-entry cost does not matter here.
        const deflate = zlib.createDeflateRaw({ level: this.level, chunkSize: DEFLATE_CHUNK_SIZE });
        const sink = new OutputSink((chunk) => this.write(chunk));
        await pipeline(source, new MeterTransform(meter), deflate, sink);
        record.compressedSize = sink.bytes;
      } else {
        await this.pumpStored(source, meter);
        record.compressedSize = meter.bytes;
      }
    } catch (error) {
      throw this.failWith(error as Error);
    }
    if (this.failure) throw this.failure;

    record.crc32 = meter.crc32;
    record.size = meter.bytes;
    if (!zip64 && record.compressedSize >= MAX32) {
      throw this.failWith(new Error(`ZIP entry "${path}": compressed size exceeds 4 GiB without ZIP64 (internal error)`));
    }
    await this.write(dataDescriptor(record));
    this.records.push(record);
    return { crc32: record.crc32, size: record.size, compressedSize: record.compressedSize };
  }

  private async writeBufferEntry(name: Buffer, data: Buffer, compress: boolean, mtime: Date): Promise<void> {
    let body = data;
    if (compress) {
      // Small buffers are deflated synchronously (µs; the thread pool round trip costs more).
      body = data.length <= SYNC_DEFLATE_LIMIT ? zlib.deflateRawSync(data, { level: this.level }) : await deflateRaw(data, { level: this.level });
    }
    if (this.failure) throw this.failure;
    const record: CentralRecord = {
      name,
      flags: FLAG_UTF8,
      method: compress ? METHOD_DEFLATE : METHOD_STORE,
      ...dosDateTime(mtime),
      unixTime: unixSeconds(mtime),
      crc32: zlib.crc32(data),
      size: data.length,
      compressedSize: body.length,
      offset: this.offset,
      zip64Local: this.forceZip64 || data.length >= MAX32 || body.length >= MAX32,
    };
    await this.write(localHeader(record, record));
    await this.write(body);
    this.records.push(record);
  }

  private async writeCentralDirectory(): Promise<{ size: number }> {
    if (this.failure) throw this.failure;
    const start = this.offset;
    let batch: Buffer[] = [];
    let batchBytes = 0;
    for (const record of this.records) {
      const buffer = centralHeader(record);
      batch.push(buffer);
      batchBytes += buffer.length;
      if (batchBytes >= CENTRAL_DIRECTORY_BATCH) {
        await this.write(Buffer.concat(batch, batchBytes));
        batch = [];
        batchBytes = 0;
      }
    }
    if (batchBytes > 0) await this.write(Buffer.concat(batch, batchBytes));
    const cdSize = this.offset - start;
    const count = this.records.length;

    const zip64 = this.forceZip64 || count >= MAX16 || cdSize >= MAX32 || start >= MAX32;
    const parts: Buffer[] = [];
    if (zip64) {
      const zip64EocdOffset = this.offset;
      const record = Buffer.alloc(56);
      record.writeUInt32LE(SIG_ZIP64_EOCD, 0);
      record.writeBigUInt64LE(BigInt(56 - 12), 4); // size of the rest of the record
      record.writeUInt16LE(VERSION_MADE_BY, 12);
      record.writeUInt16LE(VERSION_ZIP64, 14);
      record.writeUInt32LE(0, 16); // this disk
      record.writeUInt32LE(0, 20); // disk with the central directory
      record.writeBigUInt64LE(BigInt(count), 24); // entries on this disk
      record.writeBigUInt64LE(BigInt(count), 32); // entries in total
      record.writeBigUInt64LE(BigInt(cdSize), 40);
      record.writeBigUInt64LE(BigInt(start), 48);
      const locator = Buffer.alloc(20);
      locator.writeUInt32LE(SIG_ZIP64_LOCATOR, 0);
      locator.writeUInt32LE(0, 4); // disk with the ZIP64 end of central directory
      locator.writeBigUInt64LE(BigInt(zip64EocdOffset), 8);
      locator.writeUInt32LE(1, 16); // total disks
      parts.push(record, locator);
    }
    const eocd = Buffer.alloc(22);
    eocd.writeUInt32LE(SIG_EOCD, 0);
    eocd.writeUInt16LE(0, 4); // this disk
    eocd.writeUInt16LE(0, 6); // disk with the central directory
    // With a ZIP64 record, every field defers to it (as Go's archive/zip does), so readers cannot mix.
    eocd.writeUInt16LE(zip64 ? MAX16 : count, 8);
    eocd.writeUInt16LE(zip64 ? MAX16 : count, 10);
    eocd.writeUInt32LE(zip64 ? MAX32 : cdSize, 12);
    eocd.writeUInt32LE(zip64 ? MAX32 : start, 16);
    eocd.writeUInt16LE(0, 20); // comment length
    parts.push(eocd);
    await this.write(Buffer.concat(parts));

    if (this.failure) throw this.failure;
    this.output.push(null);
    try {
      await finished(this.output);
    } catch (error) {
      throw this.failure ?? error;
    }
    if (this.failure) throw this.failure;
    this.completed = true;
    return { size: this.offset };
  }

  /** Fails the writer with `error` (unless it already failed) and returns the error to reject with. */
  private failWith(error: Error): Error {
    this.fail(error);
    return this.failure ?? error;
  }
}

/** Counts and CRCs the uncompressed bytes; throws as soon as the count leaves the expected size. */
class Meter {
  crc32 = 0;
  bytes = 0;

  constructor(
    private readonly path: string,
    private readonly expected: number,
  ) {}

  update(chunk: Buffer): void {
    this.bytes += chunk.length;
    if (this.bytes > this.expected) throw new SizeMismatchError(this.path, this.expected, this.bytes);
    this.crc32 = zlib.crc32(chunk, this.crc32);
  }

  end(): void {
    if (this.bytes !== this.expected) throw new SizeMismatchError(this.path, this.expected, this.bytes);
  }
}

class MeterTransform extends Transform {
  constructor(private readonly meter: Meter) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    try {
      this.meter.update(chunk);
    } catch (error) {
      callback(error as Error);
      return;
    }
    callback(null, chunk);
  }

  override _flush(callback: TransformCallback): void {
    try {
      this.meter.end();
    } catch (error) {
      callback(error as Error);
      return;
    }
    callback();
  }
}

/** End of an entry's pipeline: forwards (compressed) bytes to the archive output, counting them. */
class OutputSink extends Writable {
  bytes = 0;

  constructor(private readonly forward: (chunk: Buffer) => Promise<void>) {
    super();
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.bytes += chunk.length;
    this.forward(chunk).then(() => callback(), callback);
  }
}

// --- records ----------------------------------------------------------------------------------

function timestampExtra(unixTime: number): Buffer {
  const extra = Buffer.alloc(9);
  extra.writeUInt16LE(EXTRA_TIMESTAMP, 0);
  extra.writeUInt16LE(5, 2);
  extra.writeUInt8(1, 4); // flags: mtime present
  extra.writeInt32LE(unixTime, 5);
  return extra;
}

/** `known` carries CRC and sizes for entries written without a data descriptor. */
function localHeader(record: CentralRecord, known: CentralRecord | undefined): Buffer {
  const extras = [timestampExtra(record.unixTime)];
  if (record.zip64Local) {
    // With a data descriptor both sizes are zero here; the descriptor then has 8-byte sizes.
    const zip64 = Buffer.alloc(20);
    zip64.writeUInt16LE(EXTRA_ZIP64, 0);
    zip64.writeUInt16LE(16, 2);
    zip64.writeBigUInt64LE(BigInt(known?.size ?? 0), 4);
    zip64.writeBigUInt64LE(BigInt(known?.compressedSize ?? 0), 12);
    extras.push(zip64);
  }
  const extra = Buffer.concat(extras);
  const header = Buffer.alloc(30);
  header.writeUInt32LE(SIG_LOCAL, 0);
  header.writeUInt16LE(record.zip64Local ? VERSION_ZIP64 : VERSION_DEFAULT, 4);
  header.writeUInt16LE(record.flags, 6);
  header.writeUInt16LE(record.method, 8);
  header.writeUInt16LE(record.dosTime, 10);
  header.writeUInt16LE(record.dosDate, 12);
  header.writeUInt32LE(known?.crc32 ?? 0, 14);
  header.writeUInt32LE(record.zip64Local ? MAX32 : (known?.compressedSize ?? 0), 18);
  header.writeUInt32LE(record.zip64Local ? MAX32 : (known?.size ?? 0), 22);
  header.writeUInt16LE(record.name.length, 26);
  header.writeUInt16LE(extra.length, 28);
  return Buffer.concat([header, record.name, extra]);
}

function dataDescriptor(record: CentralRecord): Buffer {
  if (record.zip64Local) {
    const descriptor = Buffer.alloc(24);
    descriptor.writeUInt32LE(SIG_DESCRIPTOR, 0);
    descriptor.writeUInt32LE(record.crc32, 4);
    descriptor.writeBigUInt64LE(BigInt(record.compressedSize), 8);
    descriptor.writeBigUInt64LE(BigInt(record.size), 16);
    return descriptor;
  }
  const descriptor = Buffer.alloc(16);
  descriptor.writeUInt32LE(SIG_DESCRIPTOR, 0);
  descriptor.writeUInt32LE(record.crc32, 4);
  descriptor.writeUInt32LE(record.compressedSize, 8);
  descriptor.writeUInt32LE(record.size, 12);
  return descriptor;
}

function centralHeader(record: CentralRecord): Buffer {
  // Like Go's archive/zip: when anything needs 64 bits, all three fields move to the extra field,
  // which then holds exactly the fields set to 0xFFFFFFFF, in APPNOTE order.
  const zip64 = record.zip64Local || record.size >= MAX32 || record.compressedSize >= MAX32 || record.offset >= MAX32;
  const extras = [timestampExtra(record.unixTime)];
  if (zip64) {
    const extra = Buffer.alloc(28);
    extra.writeUInt16LE(EXTRA_ZIP64, 0);
    extra.writeUInt16LE(24, 2);
    extra.writeBigUInt64LE(BigInt(record.size), 4);
    extra.writeBigUInt64LE(BigInt(record.compressedSize), 12);
    extra.writeBigUInt64LE(BigInt(record.offset), 20);
    extras.push(extra);
  }
  const extra = Buffer.concat(extras);
  const header = Buffer.alloc(46);
  header.writeUInt32LE(SIG_CENTRAL, 0);
  header.writeUInt16LE(VERSION_MADE_BY, 4);
  header.writeUInt16LE(zip64 ? VERSION_ZIP64 : VERSION_DEFAULT, 6);
  header.writeUInt16LE(record.flags, 8);
  header.writeUInt16LE(record.method, 10);
  header.writeUInt16LE(record.dosTime, 12);
  header.writeUInt16LE(record.dosDate, 14);
  header.writeUInt32LE(record.crc32, 16);
  header.writeUInt32LE(zip64 ? MAX32 : record.compressedSize, 20);
  header.writeUInt32LE(zip64 ? MAX32 : record.size, 24);
  header.writeUInt16LE(record.name.length, 28);
  header.writeUInt16LE(extra.length, 30);
  header.writeUInt16LE(0, 32); // comment length
  header.writeUInt16LE(0, 34); // disk number start
  header.writeUInt16LE(0, 36); // internal attributes
  header.writeUInt32LE(EXTERNAL_ATTRIBUTES, 38);
  header.writeUInt32LE(zip64 ? MAX32 : record.offset, 42);
  return Buffer.concat([header, record.name, extra]);
}

/** MS-DOS date and time, in local time as readers expect, clamped to 1980–2107. */
function dosDateTime(date: Date): { dosDate: number; dosTime: number } {
  const min = new Date(1980, 0, 1);
  const max = new Date(2107, 11, 31, 23, 59, 58);
  const d = date < min ? min : date > max ? max : date;
  return {
    dosDate: (((d.getFullYear() - 1980) & 0x7f) << 9) | ((d.getMonth() + 1) << 5) | d.getDate(),
    dosTime: (d.getHours() << 11) | (d.getMinutes() << 5) | Math.floor(d.getSeconds() / 2),
  };
}

function unixSeconds(date: Date): number {
  return Math.min(0x7fffffff, Math.max(-0x80000000, Math.floor(date.getTime() / 1000)));
}
