import { execFile, spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, open, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PassThrough, Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { promisify } from 'node:util';
import zlib from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createZipWriter,
  InvalidZipEntryError,
  SizeMismatchError,
  ZipWriterClosedError,
  type ZipWriter,
  type ZipWriterOptions,
} from './zip-writer.js';
import { DEFAULT_DEFLATE_BLOCK_SIZE, deflatedSizeBound } from './parallel-deflate.js';
import { makeBinaryStl } from '../../services/demo/sample-files.js';

const KiB = 1024;
const MiB = 1024 * KiB;
const GiB = 1024 * MiB;
const run = promisify(execFile);

const hasTool = (tool: string) => spawnSync('which', [tool]).status === 0;
const tools = { unzip: hasTool('unzip'), sevenZip: hasTool('7z'), python: hasTool('python3') };

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'zip-writer-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

// --- helpers ------------------------------------------------------------------------------------

const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');

/** A byte stream over `data` in `chunkSize` slices (not object mode). */
function bufferSource(data: Buffer, chunkSize = 64 * KiB): Readable {
  let offset = 0;
  return new Readable({
    highWaterMark: 64 * KiB,
    read() {
      if (offset >= data.length) return void this.push(null);
      this.push(data.subarray(offset, offset + chunkSize));
      offset += chunkSize;
    },
  });
}

/** `total` bytes cycling through `pool`, counting what has been read from it. */
function countingSource(pool: Buffer, total: number, chunkSize = 64 * KiB) {
  const state = { produced: 0, stream: undefined as unknown as Readable };
  state.stream = new Readable({
    highWaterMark: chunkSize,
    read() {
      if (state.produced >= total) return void this.push(null);
      const n = Math.min(chunkSize, total - state.produced);
      const start = state.produced % (pool.length - chunkSize);
      state.produced += n;
      this.push(pool.subarray(start, start + n));
    },
  });
  return state;
}

/** Deterministic, compressible text, generated lazily in ~64 KiB chunks. */
function* textChunks(total: number): Generator<Buffer> {
  let produced = 0;
  let line = 0;
  while (produced < total) {
    let text = '';
    while (text.length < 64 * KiB) text += `voxel ${line} intensity ${(line++ * 7919) % 4096} hu\n`;
    const chunk = Buffer.from(text).subarray(0, Math.min(text.length, total - produced));
    produced += chunk.length;
    yield chunk;
  }
}

function digestOf(chunks: Iterable<Buffer>) {
  const hash = createHash('sha256');
  let crc32 = 0;
  let size = 0;
  for (const chunk of chunks) {
    hash.update(chunk);
    crc32 = zlib.crc32(chunk, crc32);
    size += chunk.length;
  }
  return { sha256: hash.digest('hex'), crc32, size };
}

/** Starts a writer whose output goes to a temp file; `done` settles when the file is written. */
function zipToFile(name: string, options?: ZipWriterOptions) {
  const file = path.join(dir, name);
  const writer = createZipWriter(options);
  const done = pipeline(writer.output, createWriteStream(file));
  return { file, writer, done };
}

interface PyEntry {
  name: string;
  size: number;
  compressSize: number;
  method: number;
  flags: number;
  crc: number;
  offset: number;
  dateTime: number[];
  sha256?: string;
}

const PYTHON_READER = `
import sys, json, zipfile, hashlib
path, mode, wanted = sys.argv[1], sys.argv[2], set(sys.argv[3:])
with zipfile.ZipFile(path) as z:
    out = {'count': len(z.namelist())}
    if mode == 'count':
        print(json.dumps(out)); sys.exit(0)
    if mode == 'full':
        out['testzip'] = z.testzip()
    entries = []
    for i in z.infolist():
        e = dict(name=i.filename, size=i.file_size, compressSize=i.compress_size, method=i.compress_type,
                 flags=i.flag_bits, crc=i.CRC, offset=i.header_offset, dateTime=list(i.date_time))
        if mode == 'full' or i.filename in wanted:
            h = hashlib.sha256()
            with z.open(i) as f:
                for b in iter(lambda: f.read(1 << 20), b''):
                    h.update(b)
            e['sha256'] = h.hexdigest()
        entries.append(e)
    out['entries'] = entries
    print(json.dumps(out))
`;

async function python(file: string, mode: 'full' | 'list' | 'count', read: string[] = []) {
  const { stdout } = await run('python3', ['-c', PYTHON_READER, file, mode, ...read], { maxBuffer: 256 * MiB });
  return JSON.parse(stdout) as { count: number; testzip?: string | null; entries: PyEntry[] };
}

function skipped(tool: string): void {
  console.warn(`[zip-writer.test] ${tool} is not installed (\`which ${tool}\` failed): skipping the ${tool} check`);
}

/** `unzip -t` and `7z t` over the whole archive (or only `members`). */
async function testWithTools(file: string, members: string[] = []): Promise<void> {
  if (tools.unzip) {
    const { stdout } = await run('unzip', ['-t', file, ...members], { maxBuffer: 256 * MiB });
    expect(stdout).toMatch(/No errors detected/);
  } else skipped('unzip');
  if (tools.sevenZip) {
    const { stdout } = await run('7z', ['t', file, ...members], { maxBuffer: 256 * MiB });
    expect(stdout).toMatch(/Everything is Ok/);
  } else skipped('7z');
}

/** The end of the archive: classic EOCD fields and, if present, the ZIP64 record. */
async function readEnd(file: string) {
  const { size } = await stat(file);
  const handle = await open(file, 'r');
  try {
    const tail = Buffer.alloc(98);
    await handle.read(tail, 0, 98, size - 98);
    const eocd = tail.subarray(76);
    expect(eocd.readUInt32LE(0)).toBe(0x06054b50);
    const hasZip64 = tail.readUInt32LE(56) === 0x07064b50;
    return {
      entries16: eocd.readUInt16LE(10),
      cdSize32: eocd.readUInt32LE(12),
      cdOffset32: eocd.readUInt32LE(16),
      zip64: hasZip64
        ? {
            signatureOk: tail.readUInt32LE(0) === 0x06064b50,
            locatorOffset: Number(tail.readBigUInt64LE(64)),
            recordOffset: size - 98,
            entries: Number(tail.readBigUInt64LE(32)),
            cdSize: Number(tail.readBigUInt64LE(40)),
            cdOffset: Number(tail.readBigUInt64LE(48)),
          }
        : undefined,
    };
  } finally {
    await handle.close();
  }
}

/** The data descriptor after the entry whose local header is at `offset` (8-byte sizes when `zip64`). */
async function readDescriptor(file: string, offset: number, compressedSize: number, zip64: boolean) {
  const handle = await open(file, 'r');
  try {
    const header = Buffer.alloc(30);
    await handle.read(header, 0, 30, offset);
    expect(header.readUInt32LE(0)).toBe(0x04034b50);
    expect(header.readUInt16LE(6) & 0x8).toBe(0x8);
    const dataStart = offset + 30 + header.readUInt16LE(26) + header.readUInt16LE(28);
    const descriptor = Buffer.alloc(24);
    await handle.read(descriptor, 0, 24, dataStart + compressedSize);
    expect(descriptor.readUInt32LE(0)).toBe(0x08074b50);
    return zip64
      ? { crc32: descriptor.readUInt32LE(4), compressedSize: Number(descriptor.readBigUInt64LE(8)), size: Number(descriptor.readBigUInt64LE(16)) }
      : { crc32: descriptor.readUInt32LE(4), compressedSize: descriptor.readUInt32LE(8), size: descriptor.readUInt32LE(12) };
  } finally {
    await handle.close();
  }
}

const SCAN = 'patient_001/cbct/scan.nii.gz';
const PHOTO = 'patient_002/intraoral-photo/Zoë 写真.jpg';
const MTIME = new Date(2024, 4, 17, 10, 30, 42); // local time, as DOS timestamps are

/** Writes the mixed archive used by the format tests; returns what each entry should contain. */
async function writeMixedArchive(writer: ZipWriter) {
  const scan = randomBytes(3 * MiB + 123);
  const scanFile = path.join(dir, `scan-${Math.random().toString(36).slice(2)}.nii.gz`);
  await writeFile(scanFile, scan);
  const photo = randomBytes(300 * KiB + 7);
  const lazySize = 12 * MiB + 5;
  const lazy = digestOf(textChunks(lazySize));

  const expected = new Map<string, { sha256: string; crc32: number; size: number; method: number }>();
  type Digest = { crc32: number; size: number; sha256: string };
  const check = (name: string, result: { crc32: number; size: number; compressedSize: number }, data: Digest, compress: boolean) => {
    expect(result.crc32).toBe(data.crc32);
    expect(result.size).toBe(data.size);
    if (!compress) expect(result.compressedSize).toBe(data.size);
    expected.set(name, { ...data, method: compress ? 8 : 0 });
  };

  const scanResult = await writer.addEntry(SCAN, createReadStream(scanFile), { compress: false, size: scan.length, mtime: MTIME });
  check(SCAN, scanResult, { crc32: zlib.crc32(scan), size: scan.length, sha256: sha256(scan) }, false);

  const photoResult = await writer.addEntry(PHOTO, bufferSource(photo, 10_000), { compress: true, size: photo.length, mtime: MTIME });
  check(PHOTO, photoResult, { crc32: zlib.crc32(photo), size: photo.length, sha256: sha256(photo) }, true);
  expect(photoResult.compressedSize).toBeGreaterThanOrEqual(photo.length); // random data does not deflate

  const empty = { crc32: 0, size: 0, sha256: sha256(Buffer.alloc(0)) };
  const emptyStored = await writer.addEntry('patient_003/notes/empty-stored.txt', Readable.from([]), { compress: false, size: 0 });
  check('patient_003/notes/empty-stored.txt', emptyStored, empty, false);
  const emptyDeflated = await writer.addEntry('patient_003/notes/empty-deflated.txt', bufferSource(Buffer.alloc(0)), { compress: true, size: 0 });
  check('patient_003/notes/empty-deflated.txt', emptyDeflated, empty, true);

  // Object-mode stream of Buffers, generated as it is read.
  const lazyResult = await writer.addEntry('patient_003/mesh/segmentation.obj', Readable.from(textChunks(lazySize)), { compress: true, size: lazySize });
  check('patient_003/mesh/segmentation.obj', lazyResult, lazy, true);
  expect(lazyResult.compressedSize).toBeLessThan(lazySize / 3);
  const lazyStored = await writer.addEntry('patient_003/mesh/segmentation-raw.obj', Readable.from(textChunks(lazySize)), { compress: false, size: lazySize });
  check('patient_003/mesh/segmentation-raw.obj', lazyStored, lazy, false);

  const sums = Buffer.from([...expected].map(([name, e]) => `${e.sha256}  ${name}\n`).join(''));
  const metadata = Buffer.from(JSON.stringify({ export: 'e1', files: [...expected.keys()] }, null, 2));
  await writer.addBuffer('metadata.json', metadata, { compress: true, mtime: MTIME });
  await writer.addBuffer('SHA256SUMS', sums, { compress: false });
  expected.set('metadata.json', { sha256: sha256(metadata), crc32: zlib.crc32(metadata), size: metadata.length, method: 8 });
  expected.set('SHA256SUMS', { sha256: sha256(sums), crc32: zlib.crc32(sums), size: sums.length, method: 0 });
  await rm(scanFile);
  return expected;
}

async function expectReadableEverywhere(file: string, expected: Map<string, { sha256: string; crc32: number; size: number; method: number }>) {
  await testWithTools(file);
  const py = await python(file, 'full');
  expect(py.testzip).toBeNull();
  expect(py.entries.map((e) => e.name)).toEqual([...expected.keys()]);
  for (const entry of py.entries) {
    const want = expected.get(entry.name)!;
    expect(entry, entry.name).toMatchObject({ sha256: want.sha256, crc: want.crc32, size: want.size, method: want.method });
    expect(entry.flags & 0x800, `${entry.name} has the UTF-8 flag`).toBe(0x800);
  }
  return py;
}

// --- tests --------------------------------------------------------------------------------------

describe('createZipWriter', () => {
  it('writes stored and deflated entries with UTF-8 names that unzip, 7z and Python read back', async () => {
    const { file, writer, done } = zipToFile('mixed.zip');
    const expected = await writeMixedArchive(writer);
    const { size } = await writer.finish();
    await done;
    expect(size).toBe((await stat(file)).size);

    const py = await expectReadableEverywhere(file, expected);
    const byName = new Map(py.entries.map((e) => [e.name, e]));
    expect(byName.get(SCAN)!.dateTime).toEqual([2024, 5, 17, 10, 30, 42]);
    expect(byName.get(PHOTO)!.compressSize).toBeGreaterThan(0);
    if (tools.unzip) {
      // unzip prints the name as stored; the UTF-8 flag makes it decode as intended.
      const { stdout } = await run('unzip', ['-Z1', file]);
      expect(stdout.split('\n')).toContain(PHOTO);
      const { stdout: sums } = await run('unzip', ['-p', file, 'SHA256SUMS']);
      expect(sums).toContain(`  ${PHOTO}\n`);
    }
    if (tools.sevenZip) {
      const { stdout } = await run('7z', ['l', '-slt', file], { env: { ...process.env, LANG: 'C.UTF-8' } });
      expect(stdout).toContain(`Path = ${PHOTO}\n`);
    }
    const end = await readEnd(file);
    expect(end.zip64).toBeUndefined();
    expect(end.entries16).toBe(expected.size);
    for (const entry of py.entries.filter((e) => !['metadata.json', 'SHA256SUMS'].includes(e.name))) {
      expect(await readDescriptor(file, entry.offset, entry.compressSize, false), entry.name).toEqual({
        crc32: entry.crc,
        compressedSize: entry.compressSize,
        size: entry.size,
      });
    }
  });

  it('writes a forced ZIP64 archive that unzip, 7z and Python read back', async () => {
    const { file, writer, done } = zipToFile('forced-zip64.zip', { forceZip64: true });
    const expected = await writeMixedArchive(writer);
    const { size } = await writer.finish();
    await done;
    expect(size).toBe((await stat(file)).size);

    const py = await expectReadableEverywhere(file, expected);
    for (const entry of py.entries.filter((e) => !['metadata.json', 'SHA256SUMS'].includes(e.name))) {
      expect(await readDescriptor(file, entry.offset, entry.compressSize, true), entry.name).toEqual({
        crc32: entry.crc,
        compressedSize: entry.compressSize,
        size: entry.size,
      });
    }
    const end = await readEnd(file);
    expect(end).toMatchObject({ entries16: 0xffff, cdSize32: 0xffffffff, cdOffset32: 0xffffffff });
    expect(end.zip64).toMatchObject({ signatureOk: true, entries: expected.size });
    expect(end.zip64!.locatorOffset).toBe(end.zip64!.recordOffset);
    expect(end.zip64!.cdOffset + end.zip64!.cdSize).toBe(end.zip64!.recordOffset);
    // Every local header carries the ZIP64 extra field and version 4.5.
    const bytes = await readFile(file);
    expect(bytes.readUInt32LE(0)).toBe(0x04034b50);
    expect(bytes.readUInt16LE(4)).toBe(45);
    expect(bytes.readUInt32LE(22)).toBe(0xffffffff);
  });

  it('writes queued entries strictly in the order they were added', async () => {
    const { file, writer, done } = zipToFile('queued.zip');
    const slow = new Readable({ read() {} });
    setTimeout(() => {
      slow.push('first, but slow');
      slow.push(null);
    }, 50);
    const results = await Promise.all([
      writer.addEntry('a/1.txt', slow, { compress: false, size: 15 }),
      writer.addBuffer('a/2.json', Buffer.from('{"second":true}'), { compress: true }),
      writer.addEntry('a/3.txt', Readable.from([Buffer.from('third')]), { compress: true, size: 5 }),
    ]);
    expect(results[0]).toMatchObject({ size: 15, crc32: zlib.crc32('first, but slow') });
    await writer.finish();
    await done;
    const py = await python(file, 'full');
    expect(py.entries.map((e) => e.name)).toEqual(['a/1.txt', 'a/2.json', 'a/3.txt']);
    expect(py.entries.map((e) => e.sha256)).toEqual(['first, but slow', '{"second":true}', 'third'].map((s) => sha256(Buffer.from(s))));
  });

  it('holds a source with other data listeners until its turn, so they see all bytes and so does the archive', async () => {
    // The export pipeline pipes each blob through a hashing stream and counts progress on its 'data'
    // events before handing it to addEntry. Such a source must not flow while it waits its turn.
    const writer = createZipWriter();
    const received: Buffer[] = [];
    const slowConsumer = new Writable({
      write(chunk: Buffer, _encoding, callback) {
        received.push(chunk);
        setTimeout(callback, 1);
      },
    });
    const done = pipeline(writer.output, slowConsumer);
    const first = randomBytes(4 * MiB);
    const pending: Promise<unknown>[] = [writer.addEntry('first.bin', bufferSource(first), { compress: false, size: first.length })];
    for (const compress of [false, true]) {
      const data = randomBytes(2 * MiB + 17);
      const hashing = new PassThrough();
      bufferSource(data).pipe(hashing);
      let seen = 0;
      hashing.on('data', (chunk: Buffer) => (seen += chunk.length));
      pending.push(
        writer.addEntry(`queued-${compress}.bin`, hashing, { compress, size: data.length }).then((result) => {
          expect(seen).toBe(data.length);
          expect(result).toMatchObject({ size: data.length, crc32: zlib.crc32(data) });
        }),
      );
    }
    await Promise.all(pending);
    await writer.finish();
    await done;
    const file = path.join(dir, 'listeners.zip');
    await writeFile(file, Buffer.concat(received));
    const py = await python(file, 'full');
    expect(py.testzip).toBeNull();
    expect(py.entries.map((e) => e.name)).toEqual(['first.bin', 'queued-false.bin', 'queued-true.bin']);
  });

  it('rejects invalid paths without aborting, and entries after finish()', async () => {
    const { file, writer, done } = zipToFile('paths.zip');
    await writer.addBuffer('ok/a.txt', Buffer.from('a'), { compress: false });
    for (const bad of ['', '/etc/passwd', '../escape.txt', 'a/../b', 'a//b', 'dir/', 'a\\b', 'C:/x', 'ok/a.txt']) {
      const source = Readable.from([Buffer.from('x')]);
      await expect(writer.addEntry(bad, source, { compress: false, size: 1 })).rejects.toBeInstanceOf(InvalidZipEntryError);
      expect(source.destroyed).toBe(true);
    }
    await expect(writer.addEntry('ok/neg.txt', Readable.from([]), { compress: false, size: -1 })).rejects.toBeInstanceOf(InvalidZipEntryError);
    await writer.addEntry('ok/b.txt', Readable.from([Buffer.from('b')]), { compress: false, size: 1 });
    const finishing = writer.finish();
    await expect(writer.addBuffer('late.txt', Buffer.from('x'), { compress: false })).rejects.toBeInstanceOf(ZipWriterClosedError);
    await finishing;
    await done;
    expect((await python(file, 'full')).entries.map((e) => e.name)).toEqual(['ok/a.txt', 'ok/b.txt']);
  });

  describe.each([
    { compress: false, label: 'stored', deflateConcurrency: undefined },
    { compress: true, label: 'deflated, one stream', deflateConcurrency: 1 },
    { compress: true, label: 'deflated, 2 threads', deflateConcurrency: 2 },
  ])('size mismatch ($label)', ({ compress, deflateConcurrency }) => {
    it('rejects with SizeMismatchError when the source yields more bytes, and errors the output', async () => {
      const { writer, done } = zipToFile(`more-${compress}-${deflateConcurrency}.zip`, { deflateConcurrency });
      await writer.addBuffer('before.txt', Buffer.from('fine'), { compress });
      const source = bufferSource(randomBytes(300 * KiB), 64 * KiB);
      const entry = writer.addEntry('too-long.bin', source, { compress, size: 200 * KiB });
      const error = await entry.catch((e: unknown) => e);
      expect(error).toBeInstanceOf(SizeMismatchError);
      expect(error).toMatchObject({ path: 'too-long.bin', expected: 200 * KiB, actual: 256 * KiB });
      expect((error as Error).message).toMatch(/more bytes than expected \(expected 204800, got at least 262144\)/);
      await expect(done).rejects.toBe(error);
      expect(source.destroyed).toBe(true);
      await expect(writer.finish()).rejects.toBe(error);
      await expect(writer.addBuffer('after.txt', Buffer.from('x'), { compress })).rejects.toBe(error);
    });

    it('rejects with SizeMismatchError when the source yields fewer bytes, and errors the output', async () => {
      const { writer, done } = zipToFile(`fewer-${compress}-${deflateConcurrency}.zip`, { deflateConcurrency });
      const entry = writer.addEntry('truncated.nii.gz', bufferSource(randomBytes(100 * KiB + 1)), { compress, size: 100 * KiB + 2 });
      const error = await entry.catch((e: unknown) => e);
      expect(error).toBeInstanceOf(SizeMismatchError);
      expect(error).toMatchObject({ path: 'truncated.nii.gz', expected: 100 * KiB + 2, actual: 100 * KiB + 1 });
      expect((error as Error).message).toMatch(/fewer bytes than expected/);
      await expect(done).rejects.toBe(error);
      await expect(writer.finish()).rejects.toBe(error);
    });
  });

  it('passes a source error to the entry and the output', async () => {
    const { writer, done } = zipToFile('source-error.zip');
    const failure = new Error('S3 connection reset');
    let reads = 0;
    const source = new Readable({
      read() {
        if (reads++ < 3) this.push(randomBytes(16 * KiB));
        else this.destroy(failure);
      },
    });
    await expect(writer.addEntry('x.bin', source, { compress: false, size: MiB })).rejects.toBe(failure);
    await expect(done).rejects.toBe(failure);
  });

  it.each([
    { compress: false, deflateConcurrency: undefined },
    { compress: true, deflateConcurrency: 1 },
    { compress: true, deflateConcurrency: 2 },
  ])('a failing consumer (storage upload) rejects the entry and destroys its source (compress: $compress, deflateConcurrency: $deflateConcurrency)', async ({
    compress,
    deflateConcurrency,
  }) => {
    const writer = createZipWriter({ deflateConcurrency });
    const uploadFailed = new Error('upload failed: 503');
    let received = 0;
    const storage = new Writable({
      write(chunk: Buffer, _encoding, callback) {
        received += chunk.length;
        callback(received > 2 * MiB ? uploadFailed : null);
      },
    });
    const uploaded = pipeline(writer.output, storage);
    const source = countingSource(randomBytes(4 * MiB), 64 * MiB);
    const entry = writer.addEntry('scan.raw', source.stream, { compress, size: 64 * MiB });
    await expect(uploaded).rejects.toBe(uploadFailed);
    await expect(entry).rejects.toBe(uploadFailed);
    await expect(writer.finish()).rejects.toBe(uploadFailed);
    expect(source.stream.destroyed).toBe(true);
    expect(source.produced).toBeLessThan(8 * MiB);
  });

  it('abort() mid-entry stops the output and destroys the current and queued sources with the error', async () => {
    const { writer, done } = zipToFile('aborted.zip');
    const pool = randomBytes(2 * MiB);
    const current = countingSource(pool, 100 * GiB);
    const queued = Readable.from([Buffer.from('never read')]);
    const entry = writer.addEntry('huge.bin', current.stream, { compress: false, size: 100 * GiB });
    const next = writer.addEntry('next.bin', queued, { compress: false, size: 10 });
    entry.catch(() => {});
    next.catch(() => {});
    while (current.produced < 4 * MiB) await new Promise((r) => setTimeout(r, 5));

    const cancelled = new Error('export cancelled by user');
    writer.abort(cancelled);
    await expect(entry).rejects.toBe(cancelled);
    await expect(next).rejects.toBe(cancelled);
    await expect(done).rejects.toBe(cancelled);
    await expect(writer.finish()).rejects.toBe(cancelled);
    expect(current.stream.destroyed).toBe(true);
    expect(current.stream.errored).toBe(cancelled);
    expect(queued.destroyed).toBe(true);
    expect(writer.output.destroyed).toBe(true);
    const producedAtAbort = current.produced;
    await new Promise((r) => setTimeout(r, 20));
    expect(current.produced).toBe(producedAtAbort);
  });

  describe.each([
    { compress: false, label: 'stored', total: 32 * MiB, delayEvery: 2, delayMs: 1, deflateConcurrency: undefined },
    // One deflate stream at level 1 is barely faster than a consumer taking 64 KiB per ms on a busy
    // machine, so that consumer is slower here, to stay the bottleneck.
    { compress: true, label: 'deflated, one stream', total: 8 * MiB, delayEvery: 1, delayMs: 3, deflateConcurrency: 1 },
    { compress: true, label: 'deflated, 2 threads', total: 8 * MiB, delayEvery: 1, delayMs: 1, deflateConcurrency: 2 },
    { compress: true, label: 'deflated, default threads', total: 8 * MiB, delayEvery: 1, delayMs: 1, deflateConcurrency: undefined },
  ])('backpressure ($label, incompressible data)', ({ compress, total, delayEvery, delayMs, deflateConcurrency }) => {
    it('reads the source only a bounded amount ahead of what a slow consumer took', async () => {
      const writer = createZipWriter({ compressionLevel: 1, deflateConcurrency });
      const pool = randomBytes(4 * MiB);
      const source = countingSource(pool, total);
      let consumed = 0;
      let maxLead = 0;
      let writes = 0;
      const slowConsumer = new Writable({
        highWaterMark: 16 * KiB,
        write(chunk: Buffer, _encoding, callback) {
          consumed += chunk.length;
          maxLead = Math.max(maxLead, source.produced - consumed);
          // A consumer much slower than the source (and than deflate): ≥ delayMs per 64–128 KiB.
          if (++writes % delayEvery === 0) setTimeout(callback, delayMs);
          else setImmediate(callback);
        },
      });
      const done = pipeline(writer.output, slowConsumer);
      const result = await writer.addEntry('volume.raw', source.stream, { compress, size: total });
      await writer.finish();
      await done;
      expect(result.size).toBe(total);
      expect(consumed).toBeGreaterThan(total);
      // Output buffer (1 MiB) + a few chunks in the source, the entry pipeline and zlib, or with
      // parallel deflate up to deflateConcurrency + 1 blocks of 512 KiB. The lower bound shows the
      // consumer really was the bottleneck, so the output buffer filled up.
      expect(maxLead).toBeLessThan(4 * MiB);
      expect(maxLead).toBeGreaterThan(512 * KiB);
    });
  });

  it.each([
    { compress: false, deflateConcurrency: undefined, bound: 3 * MiB },
    // Output buffer (1 MiB) + what the window holds (3 blocks of 512 KiB) + the source's buffer.
    { compress: true, deflateConcurrency: 2, bound: 3.5 * MiB },
  ])('stops reading while the consumer does not read at all (compress: $compress)', async ({ compress, deflateConcurrency, bound }) => {
    const writer = createZipWriter({ deflateConcurrency, compressionLevel: 1 });
    const source = countingSource(randomBytes(4 * MiB), 64 * MiB);
    const entry = writer.addEntry('stalled.raw', source.stream, { compress, size: 64 * MiB });
    entry.catch(() => {});
    // Wait until reading has stopped (deflating the window may take a while on a busy machine).
    let before = -1;
    for (let waited = 0; source.produced !== before && waited < 10_000; waited += 100) {
      before = source.produced;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(source.produced).toBeLessThan(bound);
    writer.abort(new Error('test over'));
    await expect(entry).rejects.toThrow('test over');
  });

  it('switches to ZIP64 for more than 65,535 entries', async () => {
    const { file, writer, done } = zipToFile('many.zip');
    const count = 70_000;
    const started = performance.now();
    const pending: Promise<unknown>[] = [];
    for (let i = 0; i < count; i++) {
      const name = `patient_${String(Math.floor(i / 100)).padStart(4, '0')}/file_${i}.txt`;
      const data = Buffer.from(`entry ${i}\n`);
      // Mostly in-memory entries (fast), every 10th through the streaming path; all queued at once.
      pending.push(
        i % 10 === 0
          ? writer.addEntry(name, Readable.from([data]), { compress: i % 500 === 0, size: data.length })
          : writer.addBuffer(name, data, { compress: i % 3 === 0 }),
      );
    }
    await Promise.all(pending);
    const { size } = await writer.finish();
    await done;
    expect(performance.now() - started).toBeLessThan(20_000); // ~1–3 s here; generous for loaded CI machines
    expect(size).toBe((await stat(file)).size);

    const end = await readEnd(file);
    expect(end.entries16).toBe(0xffff);
    expect(end.zip64).toMatchObject({ signatureOk: true, entries: count });
    expect((await python(file, 'count')).count).toBe(count);
    if (tools.unzip) {
      const { stdout } = await run('unzip', ['-l', file], { maxBuffer: 256 * MiB });
      expect(stdout.trim().split('\n').at(-1)).toMatch(new RegExp(`\\s${count} files$`));
      const { stdout: tested } = await run('unzip', ['-tq', file], { maxBuffer: 256 * MiB });
      expect(tested).toMatch(/No errors detected/);
    } else skipped('unzip');
    if (tools.sevenZip) {
      const { stdout } = await run('7z', ['t', file], { maxBuffer: 256 * MiB });
      expect(stdout).toMatch(/Everything is Ok/);
      expect(stdout).toMatch(new RegExp(`Files: ${count}`));
    } else skipped('7z');
  });

  it('writes a real ZIP64 entry over 4 GiB and an entry at an offset over 4 GiB (sparse file)', async () => {
    // 4 GiB of zeros pass through the writer (CRC and all); the consumer writes only non-zero chunks,
    // leaving holes in a sparse file, so the test needs neither 4 GiB of disk nor of disk bandwidth.
    const file = path.join(dir, 'big.zip');
    const handle = await open(file, 'w');
    const zeros = Buffer.alloc(MiB);
    const bigSize = 4 * GiB + 64 * KiB + 3;
    let position = 0;
    const sparseSink = new Writable({
      highWaterMark: MiB,
      write(chunk: Buffer, _encoding, callback) {
        const at = position;
        position += chunk.length;
        if (chunk.length <= zeros.length && chunk.equals(zeros.subarray(0, chunk.length))) return callback();
        handle.write(chunk, 0, chunk.length, at).then(() => callback(), callback);
      },
    });
    const writer = createZipWriter();
    const done = pipeline(writer.output, sparseSink);
    let produced = 0;
    let zeroCrc = 0;
    const big = new Readable({
      highWaterMark: MiB,
      read() {
        if (produced >= bigSize) return void this.push(null);
        const chunk = zeros.subarray(0, Math.min(MiB, bigSize - produced));
        produced += chunk.length;
        this.push(chunk);
      },
    });
    const result = await writer.addEntry('patient_004/cbct/huge.raw', big, { compress: false, size: bigSize });
    for (let left = bigSize; left > 0; left -= MiB) zeroCrc = zlib.crc32(zeros.subarray(0, Math.min(MiB, left)), zeroCrc);
    expect(result).toEqual({ crc32: zeroCrc, size: bigSize, compressedSize: bigSize });
    const small = Buffer.from('after the big one');
    await writer.addEntry('patient_004/notes.txt', Readable.from([small]), { compress: true, size: small.length });
    await writer.addBuffer('SHA256SUMS', Buffer.from('x  y\n'), { compress: false });
    const { size } = await writer.finish();
    await done;
    await handle.truncate(position);
    await handle.close();
    expect(size).toBe(position);

    const py = await python(file, 'list', ['patient_004/notes.txt']);
    expect(py.entries.map((e) => [e.name, e.size])).toEqual([
      ['patient_004/cbct/huge.raw', bigSize],
      ['patient_004/notes.txt', small.length],
      ['SHA256SUMS', 5],
    ]);
    expect(py.entries[0]!.crc).toBe(zeroCrc);
    expect(py.entries[1]!.offset).toBeGreaterThan(4 * GiB);
    expect(py.entries[1]!.sha256).toBe(sha256(small));
    const end = await readEnd(file);
    expect(end.zip64).toMatchObject({ signatureOk: true, entries: 3 });
    expect(end.zip64!.cdOffset).toBeGreaterThan(4 * GiB);

    // The big entry's data descriptor has 8-byte sizes (its local header has the ZIP64 extra field).
    expect(await readDescriptor(file, 0, bigSize, true)).toEqual({ crc32: zeroCrc, compressedSize: bigSize, size: bigSize });

    // Test the entries after the big one (testing all would read 4 GiB).
    await testWithTools(file, ['patient_004/notes.txt', 'SHA256SUMS']);
    if (tools.unzip) {
      const { stdout } = await run('unzip', ['-l', file]);
      expect(stdout).toContain(String(bigSize));
    }
    if (tools.sevenZip) {
      const { stdout } = await run('7z', ['l', file]);
      expect(stdout).toContain(String(bigSize));
    }
  });
});

describe('createZipWriter with parallel deflate', () => {
  const B = DEFAULT_DEFLATE_BLOCK_SIZE;
  const blockSizes = [0, 1, B - 1, B, B + 1, 5 * B + 7];

  /** The raw entry data of `entry`, read from after its local header. */
  async function rawEntryData(file: string, entry: PyEntry): Promise<Buffer> {
    const handle = await open(file, 'r');
    try {
      const header = Buffer.alloc(30);
      await handle.read(header, 0, 30, entry.offset);
      const dataStart = entry.offset + 30 + header.readUInt16LE(26) + header.readUInt16LE(28);
      const data = Buffer.alloc(entry.compressSize);
      await handle.read(data, 0, data.length, dataStart);
      return data;
    } finally {
      await handle.close();
    }
  }

  /** Compressible (mesh-like text) and incompressible entries at block-boundary sizes. */
  async function writeBlockBoundaryArchive(writer: ZipWriter) {
    const contents = new Map<string, Buffer>();
    for (const kind of ['text', 'random'] as const) {
      for (const size of blockSizes) {
        const data = kind === 'text' ? Buffer.concat([...textChunks(size)], size) : randomBytes(size);
        const name = `${kind}/${size}.bin`;
        // Odd chunk sizes for some, so chunks straddle block boundaries.
        const result = await writer.addEntry(name, bufferSource(data, size % 2 ? 10_000 : 64 * KiB), { compress: true, size, mtime: MTIME });
        expect(result, name).toMatchObject({ crc32: zlib.crc32(data), size });
        expect(result.compressedSize, name).toBeLessThanOrEqual(deflatedSizeBound(size, B));
        if (kind === 'text' && size > B) expect(result.compressedSize, name).toBeLessThan(size / 3);
        contents.set(name, data);
      }
    }
    return contents;
  }

  it.each([1, 2, 3])('writes entries at block boundaries that unzip, 7z, Python and inflateRawSync read back (deflateConcurrency %i)', async (deflateConcurrency) => {
    const { file, writer, done } = zipToFile(`blocks-${deflateConcurrency}.zip`, { deflateConcurrency });
    const contents = await writeBlockBoundaryArchive(writer);
    await writer.finish();
    await done;
    const expected = new Map([...contents].map(([name, data]) => [name, { sha256: sha256(data), crc32: zlib.crc32(data), size: data.length, method: 8 }]));
    const py = await expectReadableEverywhere(file, expected);
    for (const entry of py.entries) {
      const raw = await rawEntryData(file, entry);
      expect(zlib.inflateRawSync(raw).equals(contents.get(entry.name)!), entry.name).toBe(true);
      expect(await readDescriptor(file, entry.offset, entry.compressSize, false), entry.name).toEqual({
        crc32: entry.crc,
        compressedSize: entry.compressSize,
        size: entry.size,
      });
    }
  });

  it('writes the same bytes whatever the number of threads (deterministic blocks)', async () => {
    const data = Buffer.concat([...textChunks(3 * B + 99)]);
    const archives: string[] = [];
    for (const deflateConcurrency of [2, 3]) {
      const { file, writer, done } = zipToFile(`same-${deflateConcurrency}.zip`, { deflateConcurrency });
      await writer.addEntry('mesh.obj', bufferSource(data, deflateConcurrency === 2 ? 64 * KiB : 12_345), { compress: true, size: data.length, mtime: MTIME });
      await writer.finish();
      await done;
      archives.push(sha256(await readFile(file)));
    }
    expect(archives[1]).toBe(archives[0]);
  });

  it('compresses STL meshes within 1 % of a single deflate stream', async () => {
    const mesh = Buffer.concat([makeBinaryStl({ seed: 3, arch: 'upper', segments: 1500 }), makeBinaryStl({ seed: 4, arch: 'lower', segments: 1500 })]);
    const sizes: number[] = [];
    for (const deflateConcurrency of [1, 2]) {
      const writer = createZipWriter({ deflateConcurrency });
      const done = pipeline(writer.output, new Writable({ write: (_chunk, _encoding, callback) => callback() }));
      const result = await writer.addEntry('upper.stl', bufferSource(mesh), { compress: true, size: mesh.length });
      await writer.finish();
      await done;
      expect(result).toMatchObject({ size: mesh.length, crc32: zlib.crc32(mesh) });
      sizes.push(result.compressedSize);
    }
    const [single, parallel] = sizes as [number, number];
    console.log(`[zip-writer.test] ${mesh.length}-byte STL: one stream ${single} bytes, blocks on 2 threads ${parallel} bytes`);
    expect(parallel / single).toBeLessThan(1.01);
    expect(single).toBeLessThan(mesh.length * 0.6);
  });

  it('rejects with SizeMismatchError at the first excess chunk of a many-block entry, after blocks were written', async () => {
    const { writer, done } = zipToFile('more-parallel.zip', { deflateConcurrency: 2 });
    const expectedSize = 6 * B + 5;
    const source = countingSource(randomBytes(4 * MiB), 12 * B, 64 * KiB);
    const entry = writer.addEntry('too-long.stl', source.stream, { compress: true, size: expectedSize });
    const error = await entry.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SizeMismatchError);
    expect(error).toMatchObject({ path: 'too-long.stl', expected: expectedSize, actual: 6 * B + 64 * KiB });
    await expect(done).rejects.toBe(error);
    expect(source.stream.destroyed).toBe(true);
    expect(source.produced).toBeLessThan(12 * B);
    await expect(writer.finish()).rejects.toBe(error);
    await expect(writer.addBuffer('after.txt', Buffer.from('x'), { compress: true })).rejects.toBe(error);
  });

  it('rejects with SizeMismatchError when a many-block entry ends early', async () => {
    const { writer, done } = zipToFile('fewer-parallel.zip', { deflateConcurrency: 2 });
    const data = Buffer.concat([...textChunks(4 * B + 1)]);
    const error = await writer.addEntry('short.stl', bufferSource(data), { compress: true, size: 4 * B + 2 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SizeMismatchError);
    expect(error).toMatchObject({ path: 'short.stl', expected: 4 * B + 2, actual: 4 * B + 1 });
    await expect(done).rejects.toBe(error);
    await expect(writer.finish()).rejects.toBe(error);
  });

  it('abort() mid-entry stops the output and destroys the current and queued sources with the error', async () => {
    const { writer, done } = zipToFile('aborted-parallel.zip', { deflateConcurrency: 2 });
    const pool = Buffer.concat([...textChunks(2 * MiB)]);
    const current = countingSource(pool, 100 * GiB);
    const queued = Readable.from([Buffer.from('never read')]);
    const entry = writer.addEntry('huge.stl', current.stream, { compress: true, size: 100 * GiB });
    const next = writer.addEntry('next.bin', queued, { compress: true, size: 10 });
    entry.catch(() => {});
    next.catch(() => {});
    while (current.produced < 4 * MiB) await new Promise((r) => setTimeout(r, 5));

    const cancelled = new Error('export cancelled by user');
    writer.abort(cancelled);
    await expect(entry).rejects.toBe(cancelled);
    await expect(next).rejects.toBe(cancelled);
    await expect(done).rejects.toBe(cancelled);
    await expect(writer.finish()).rejects.toBe(cancelled);
    expect(current.stream.destroyed).toBe(true);
    expect(current.stream.errored).toBe(cancelled);
    expect(queued.destroyed).toBe(true);
    expect(writer.output.destroyed).toBe(true);
    const producedAtAbort = current.produced;
    await new Promise((r) => setTimeout(r, 100)); // blocks still deflating finish in the pool, unused
    expect(current.produced).toBe(producedAtAbort);
  });

  it('decides ZIP64 with a bound that has room for the block overhead', () => {
    // zlib's own bound is size + ~0.03 % + 13 bytes; each sync-flushed block adds a few bytes more.
    // (parallel-deflate.test.ts checks real outputs, incompressible and at levels 0–9, against it.)
    for (const size of [0, 1, B, 10 * B + 1, 4 * GiB - 8 * MiB]) {
      const blocks = Math.max(1, Math.ceil(size / B));
      expect(deflatedSizeBound(size, B)).toBeGreaterThanOrEqual(size + Math.ceil(size * 0.0003) + 13 + blocks * 16);
    }
    expect(deflatedSizeBound(4 * GiB - 8 * MiB, B)).toBeLessThan(0xffffffff); // still a 32-bit entry
  });

  it('rejects an invalid deflateConcurrency', () => {
    expect(() => createZipWriter({ deflateConcurrency: 0 })).toThrow(RangeError);
    expect(() => createZipWriter({ deflateConcurrency: 1.5 })).toThrow(RangeError);
  });
});
