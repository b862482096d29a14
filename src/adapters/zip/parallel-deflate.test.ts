import { randomBytes } from 'node:crypto';
import os from 'node:os';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import zlib from 'node:zlib';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { makeBinaryStl } from '../../services/demo/sample-files.js';
import {
  DEFAULT_DEFLATE_BLOCK_SIZE,
  defaultDeflateConcurrency,
  deflatedSizeBound,
  deflateParallel,
  type DeflateInputMeter,
  type DeflateOutputSink,
} from './parallel-deflate.js';
import { createZipWriter } from './zip-writer.js';

const KiB = 1024;
const MiB = 1024 * KiB;

afterEach(() => {
  vi.restoreAllMocks();
});

/** A byte stream over `data` in `chunkSize` slices. */
function bufferSource(data: Buffer, chunkSize = 16 * KiB, highWaterMark = 16 * KiB) {
  const state = { produced: 0, stream: undefined as unknown as Readable };
  state.stream = new Readable({
    highWaterMark,
    read() {
      if (state.produced >= data.length) return void this.push(null);
      const chunk = data.subarray(state.produced, state.produced + chunkSize);
      state.produced += chunk.length;
      this.push(chunk);
    },
  });
  return state;
}

class CountingMeter implements DeflateInputMeter {
  bytes = 0;
  crc32 = 0;
  ended = false;
  constructor(private readonly expected: number) {}
  update(chunk: Buffer): void {
    this.bytes += chunk.length;
    if (this.bytes > this.expected) throw new Error(`too many bytes: ${this.bytes}`);
    this.crc32 = zlib.crc32(chunk, this.crc32);
  }
  end(): void {
    if (this.bytes !== this.expected) throw new Error(`too few bytes: ${this.bytes}`);
    this.ended = true;
  }
}

/** A sink that always wants more and keeps everything. */
class CollectingSink implements DeflateOutputSink {
  chunks: Buffer[] = [];
  push(chunk: Buffer): boolean {
    this.chunks.push(chunk);
    return true;
  }
  demand(): Promise<void> {
    return Promise.resolve();
  }
  get output(): Buffer {
    return Buffer.concat(this.chunks);
  }
}

async function deflate(data: Buffer, options: { blockSize: number; concurrency: number; level?: number; chunkSize?: number }) {
  const source = bufferSource(data, options.chunkSize ?? 16 * KiB);
  const meter = new CountingMeter(data.length);
  const sink = new CollectingSink();
  const size = await deflateParallel(source.stream, meter, sink, {
    level: options.level ?? 6,
    concurrency: options.concurrency,
    blockSize: options.blockSize,
    expectedSize: data.length,
  });
  const output = sink.output;
  expect(size).toBe(output.length);
  expect(meter.crc32).toBe(zlib.crc32(data));
  return output;
}

/** The expected output, block by block with the synchronous API: the format the parallel path must produce. */
function referenceBlocks(data: Buffer, blockSize: number, level = 6): Buffer {
  const parts: Buffer[] = [];
  let offset = 0;
  do {
    const end = Math.min(data.length, offset + blockSize);
    const final = end === data.length;
    const dictionary = data.subarray(Math.max(0, offset - 32 * KiB), offset);
    parts.push(
      zlib.deflateRawSync(data.subarray(offset, end), {
        level,
        finishFlush: final ? zlib.constants.Z_FINISH : zlib.constants.Z_SYNC_FLUSH,
        ...(offset > 0 ? { dictionary } : {}),
      }),
    );
    if (!final) expect(parts.at(-1)!.subarray(-4)).toEqual(Buffer.from([0x00, 0x00, 0xff, 0xff])); // sync-flush marker
    offset = end;
  } while (offset < data.length);
  return Buffer.concat(parts);
}

function text(size: number, seed = 1): Buffer {
  let out = '';
  for (let line = seed; out.length < size; line++) out += `vertex ${line} ${(line * 7919) % 4096} ${(line * 104729) % 997}\n`;
  return Buffer.from(out.slice(0, size));
}

const stl = makeBinaryStl({ seed: 7, arch: 'lower', segments: 1500 }); // ~3 MB of binary STL

describe('deflateParallel', () => {
  const blockSize = 40 * KiB; // larger than deflate's window, small enough for many blocks
  const sizes = [0, 1, blockSize - 1, blockSize, blockSize + 1, 2 * blockSize, 7 * blockSize + 3];
  const kinds = {
    compressible: (n: number) => text(n),
    incompressible: (n: number) => randomBytes(n),
    zeros: (n: number) => Buffer.alloc(n),
  };

  describe.each(Object.entries(kinds))('%s data', (_kind, make) => {
    it.each(sizes)('round-trips %i bytes, block by block, the same for every concurrency and chunking', async (size) => {
      const data = make(size);
      const expected = referenceBlocks(data, blockSize);
      for (const concurrency of [1, 2, 4]) {
        for (const chunkSize of [1000, 16 * KiB, 3 * blockSize]) {
          const output = await deflate(data, { blockSize, concurrency, chunkSize });
          expect(output.equals(expected), `concurrency ${concurrency}, chunks of ${chunkSize}`).toBe(true);
        }
      }
      expect(zlib.inflateRawSync(expected).equals(data)).toBe(true);
      expect(expected.length).toBeLessThanOrEqual(deflatedSizeBound(size, blockSize));
      if (size <= blockSize) expect(expected.equals(zlib.deflateRawSync(data, { level: 6 }))).toBe(true); // one block: plain deflate
    });
  });

  it('carries the dictionary across blocks smaller than the 32 KiB window', async () => {
    const data = text(300 * KiB, 3);
    for (const small of [1000, 4 * KiB, 32 * KiB - 1]) {
      const output = await deflate(data, { blockSize: small, concurrency: 3 });
      expect(output.equals(referenceBlocks(data, small)), `blocks of ${small}`).toBe(true);
      expect(zlib.inflateRawSync(output).equals(data)).toBe(true);
    }
  });

  it.each([0, 1, 9])('works at level %i', async (level) => {
    const data = Buffer.concat([text(100 * KiB), randomBytes(50 * KiB)]);
    const output = await deflate(data, { blockSize: 32 * KiB, concurrency: 2, level });
    expect(output.equals(referenceBlocks(data, 32 * KiB, level))).toBe(true);
    expect(zlib.inflateRawSync(output).equals(data)).toBe(true);
    expect(output.length).toBeLessThanOrEqual(deflatedSizeBound(data.length, 32 * KiB));
  });

  it('stays within ~1 % of single-stream deflate on STL meshes and text at the default block size', async () => {
    for (const [name, data] of [
      ['stl', Buffer.concat([stl, makeBinaryStl({ seed: 8, arch: 'upper', segments: 1500 })])],
      ['text', text(6 * MiB)],
    ] as const) {
      const single = zlib.deflateRawSync(data, { level: 6 }).length;
      const output = await deflate(data, { blockSize: DEFAULT_DEFLATE_BLOCK_SIZE, concurrency: 2, chunkSize: 64 * KiB });
      expect(zlib.inflateRawSync(output).equals(data)).toBe(true);
      const overhead = output.length / single - 1;
      console.log(`[parallel-deflate] ${name}: ${data.length} → single stream ${single}, blocks ${output.length} (${(overhead * 100).toFixed(3)} % larger)`);
      expect(overhead).toBeLessThan(0.01);
    }
  });

  it('compresses at most `concurrency` blocks at once', async () => {
    const real = zlib.deflateRaw;
    let inFlight = 0;
    let maxInFlight = 0;
    vi.spyOn(zlib, 'deflateRaw').mockImplementation(((input: Buffer, options: zlib.ZlibOptions, callback: zlib.CompressCallback) => {
      maxInFlight = Math.max(maxInFlight, ++inFlight);
      real(input, options, (error, result) => {
        inFlight--;
        callback(error, result);
      });
    }) as typeof zlib.deflateRaw);
    const data = text(20 * 32 * KiB + 5);
    for (const concurrency of [2, 3]) {
      maxInFlight = 0;
      // One chunk holding every block: all are sealed at once, so only the limit holds them back.
      const output = await deflate(data, { blockSize: 32 * KiB, concurrency, chunkSize: data.length });
      expect(maxInFlight).toBe(concurrency);
      expect(zlib.inflateRawSync(output).equals(data)).toBe(true);
    }
  });

  it('pauses the source while the window of blocks is full', async () => {
    // Hold every deflate job until released: reading must stop at concurrency + 1 sealed blocks.
    const real = zlib.deflateRaw;
    const held: (() => void)[] = [];
    let holding = true;
    vi.spyOn(zlib, 'deflateRaw').mockImplementation(((input: Buffer, options: zlib.ZlibOptions, callback: zlib.CompressCallback) => {
      const start = () => real(input, options, callback);
      if (holding) held.push(start);
      else start();
    }) as typeof zlib.deflateRaw);
    const blockSize = 64 * KiB;
    const concurrency = 2;
    const data = randomBytes(40 * blockSize);
    const source = bufferSource(data, 16 * KiB, 16 * KiB);
    const sink = new CollectingSink();
    const done = deflateParallel(source.stream, new CountingMeter(data.length), sink, { level: 1, concurrency, blockSize, expectedSize: data.length });
    while (held.length < concurrency) await new Promise((r) => setTimeout(r, 5));
    await new Promise((r) => setTimeout(r, 100));
    expect(held.length).toBe(concurrency);
    // (concurrency + 1) sealed blocks, plus what the source buffered (its high water mark and a chunk).
    expect(source.produced).toBeGreaterThanOrEqual((concurrency + 1) * blockSize);
    expect(source.produced).toBeLessThanOrEqual((concurrency + 1) * blockSize + 32 * KiB);
    expect(sink.chunks).toHaveLength(0);
    holding = false;
    for (const start of held.splice(0)) start();
    expect(await done).toBe(sink.output.length);
    expect(zlib.inflateRawSync(sink.output).equals(data)).toBe(true);
  });

  it('pauses the source while the sink has no demand, and writes in slices only on demand', async () => {
    const blockSize = 64 * KiB;
    const concurrency = 2;
    const data = randomBytes(40 * blockSize);
    const source = bufferSource(data);
    const received: Buffer[] = [];
    let release: (() => void) | undefined;
    let demandCalls = 0;
    const sink: DeflateOutputSink = {
      push(chunk) {
        expect(release, 'no push while waiting for demand').toBeUndefined();
        received.push(chunk);
        return false; // a consumer that is always full
      },
      demand() {
        demandCalls++;
        return new Promise<void>((resolve) => (release = resolve));
      },
    };
    const done = deflateParallel(source.stream, new CountingMeter(data.length), sink, { level: 1, concurrency, blockSize, expectedSize: data.length });
    while (!release) await new Promise((r) => setTimeout(r, 5));
    await new Promise((r) => setTimeout(r, 150));
    expect(received).toHaveLength(1);
    expect(received[0]!.length).toBeLessThanOrEqual(64 * KiB);
    // The window (concurrency + 1 blocks, the first being written) and the source's buffer at most.
    expect(source.produced).toBeLessThanOrEqual((concurrency + 2) * blockSize + 32 * KiB);
    const producedWhileBlocked = source.produced;
    await new Promise((r) => setTimeout(r, 50));
    expect(source.produced).toBe(producedWhileBlocked);
    // Let it finish, one slice per demand.
    const pump = setInterval(() => {
      const resolve = release;
      release = undefined;
      resolve?.();
    }, 0);
    try {
      const size = await done;
      expect(size).toBe(Buffer.concat(received).length);
    } finally {
      clearInterval(pump);
    }
    expect(demandCalls).toBe(received.length);
    expect(zlib.inflateRawSync(Buffer.concat(received)).equals(data)).toBe(true);
  });

  it('takes no input while the sink has no demand, even with room in the window', async () => {
    const blockSize = 64 * KiB;
    const data = randomBytes(4 * blockSize);
    const source = new Readable({ read() {} }); // fed by hand below
    const meter = new CountingMeter(data.length);
    const received: Buffer[] = [];
    let release: (() => void) | undefined;
    const sink: DeflateOutputSink = {
      push(chunk) {
        received.push(chunk);
        return received.length > 1; // full after the first slice, then always wants more
      },
      demand: () => new Promise<void>((resolve) => (release = resolve)),
    };
    const done = deflateParallel(source, meter, sink, { level: 1, concurrency: 4, blockSize, expectedSize: data.length });
    source.push(data.subarray(0, blockSize + 100)); // one block to compress, one started
    while (!release) await new Promise((r) => setTimeout(r, 5));
    expect(meter.bytes).toBe(blockSize + 100);
    source.push(data.subarray(blockSize + 100, 3 * blockSize)); // the window has room for it
    await new Promise((r) => setTimeout(r, 50));
    expect(meter.bytes).toBe(blockSize + 100);
    release();
    source.push(data.subarray(3 * blockSize));
    source.push(null);
    expect(await done).toBe(Buffer.concat(received).length);
    expect(zlib.inflateRawSync(Buffer.concat(received)).equals(data)).toBe(true);
  });

  it('rejects with the meter error at the first excess chunk and stops reading', async () => {
    const data = text(10 * 32 * KiB);
    const source = bufferSource(data, 16 * KiB);
    const expectedSize = 3 * 32 * KiB + 5;
    const error = await deflateParallel(source.stream, new CountingMeter(expectedSize), new CollectingSink(), {
      level: 6,
      concurrency: 2,
      blockSize: 32 * KiB,
      expectedSize,
    }).catch((e: unknown) => e);
    expect(error).toMatchObject({ message: `too many bytes: ${7 * 16 * KiB}` });
    expect(source.stream.isPaused()).toBe(true);
  });

  it('rejects with the meter error when the source ends early', async () => {
    const data = text(5 * 32 * KiB);
    const error = await deflateParallel(bufferSource(data).stream, new CountingMeter(data.length + 1), new CollectingSink(), {
      level: 6,
      concurrency: 2,
      blockSize: 32 * KiB,
      expectedSize: data.length + 1,
    }).catch((e: unknown) => e);
    expect(error).toMatchObject({ message: `too few bytes: ${data.length}` });
  });

  it('rejects with the source error, and with a sink error', async () => {
    const failure = new Error('S3 connection reset');
    let reads = 0;
    const failing = new Readable({
      read() {
        if (reads++ < 20) this.push(text(16 * KiB));
        else this.destroy(failure);
      },
    });
    const options = { level: 6, concurrency: 2, blockSize: 32 * KiB, expectedSize: MiB };
    await expect(deflateParallel(failing, new CountingMeter(MiB), new CollectingSink(), options)).rejects.toBe(failure);

    const sinkFailure = new Error('writer failed');
    const sink: DeflateOutputSink = {
      push: () => {
        throw sinkFailure;
      },
      demand: () => Promise.resolve(),
    };
    const source = bufferSource(text(MiB));
    await expect(deflateParallel(source.stream, new CountingMeter(MiB), sink, options)).rejects.toBe(sinkFailure);
    expect(source.produced).toBeLessThan(MiB);
  });

  it('validates its options', () => {
    const source = Readable.from([]);
    const ok = { level: 6, concurrency: 2, blockSize: 1024, expectedSize: 0 };
    const sink = new CollectingSink();
    const meter = new CountingMeter(0);
    expect(() => deflateParallel(source, meter, sink, { ...ok, level: 10 })).toThrow(RangeError);
    expect(() => deflateParallel(source, meter, sink, { ...ok, concurrency: 0 })).toThrow(RangeError);
    expect(() => deflateParallel(source, meter, sink, { ...ok, blockSize: 0 })).toThrow(RangeError);
    expect(() => deflateParallel(source, meter, sink, { ...ok, expectedSize: -1 })).toThrow(RangeError);
  });

  it('defaults to one block per core, leaving a thread-pool thread for I/O', () => {
    const concurrency = defaultDeflateConcurrency();
    expect(concurrency).toBeGreaterThanOrEqual(1);
    expect(concurrency).toBeLessThanOrEqual(Math.max(1, os.availableParallelism()));
    if (process.env.UV_THREADPOOL_SIZE === undefined) expect(concurrency).toBeLessThanOrEqual(3); // pool of 4
  });
});

/**
 * Throughput of the ZIP writer on a ~200 MB binary STL entry, single stream vs blocks on 2 threads.
 * Prints only (the machine is shared): `ZIP_DEFLATE_BENCH=1 npx vitest run src/adapters/zip/parallel-deflate.test.ts`.
 */
describe.runIf(process.env.ZIP_DEFLATE_BENCH === '1')('throughput (ZIP_DEFLATE_BENCH=1)', () => {
  it('prints MB/s for deflateConcurrency 1 vs 2', { timeout: 600_000 }, async () => {
    // Like bench/dataset.ts: ~10 MB meshes cycled (far beyond deflate's window, so no gain from repetition).
    const pieces = [0, 1].flatMap((i) => (['upper', 'lower'] as const).map((arch) => makeBinaryStl({ seed: 100 + i, arch, segments: 5000 }).subarray(84)));
    const total = 200 * 1000 * 1000;
    const data = Buffer.alloc(total);
    for (let offset = 0, i = 0; offset < total; i++) offset += pieces[i % pieces.length]!.copy(data, offset);
    const runs = (process.env.ZIP_DEFLATE_BENCH_RUNS ?? '1,2,1,2').split(',').map(Number);
    const levels = (process.env.ZIP_DEFLATE_BENCH_LEVELS ?? '6').split(',').map(Number);
    for (const level of levels) {
      for (const concurrency of runs) {
        const writer = createZipWriter({ compressionLevel: level, deflateConcurrency: concurrency });
        let written = 0;
        const done = pipeline(
          writer.output,
          new Writable({
            highWaterMark: MiB,
            write(chunk: Buffer, _encoding, callback) {
              written += chunk.length;
              callback();
            },
          }),
        );
        const started = performance.now();
        const cpuStart = process.cpuUsage();
        const result = await writer.addEntry('mesh.stl', bufferSource(data, 64 * KiB, 64 * KiB).stream, { compress: true, size: total });
        const seconds = (performance.now() - started) / 1000;
        const cpu = process.cpuUsage(cpuStart);
        await writer.finish();
        await done;
        expect(written).toBeGreaterThan(result.compressedSize);
        console.log(
          `[parallel-deflate bench] level ${level}, deflateConcurrency ${concurrency}: ${(total / 1e6 / seconds).toFixed(1)} MB/s ` +
            `(${seconds.toFixed(2)} s, CPU ${((cpu.user + cpu.system) / 1e6).toFixed(2)} s, ` +
            `compressed ${((result.compressedSize / total) * 100).toFixed(2)} %)`,
        );
      }
    }
  });
});
