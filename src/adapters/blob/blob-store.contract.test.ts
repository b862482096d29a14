import { HeadObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { BlobNotFoundError, BlobRangeError, type BlobStore } from './blob-store.js';
import { createBlobStore } from './create-blob-store.js';
import { LocalBlobStore } from './local-blob-store.js';
import { S3BlobStore } from './s3-blob-store.js';
import { startS3TestServer, type S3TestServer } from '../../../test/helpers/s3.js';

const MiB = 1024 * 1024;
const byteOrder = (a: string, b: string) => Buffer.compare(Buffer.from(a), Buffer.from(b));

/** Random bytes produced on demand; optionally stops producing once `stallAt` bytes have been read. */
function randomSource(totalBytes: number, stallAt = Infinity) {
  const hash = createHash('sha256');
  let produced = 0;
  let onStall!: () => void;
  const stalled = new Promise<void>((resolve) => (onStall = resolve));
  const stream = new Readable({
    highWaterMark: MiB,
    read() {
      if (produced >= stallAt) return onStall();
      if (produced >= totalBytes) return void this.push(null);
      const chunk = randomBytes(Math.min(MiB, totalBytes - produced));
      hash.update(chunk);
      produced += chunk.length;
      this.push(chunk);
    },
  });
  return { stream, stalled, sha256: () => hash.digest('hex') };
}

async function sha256Of(stream: Readable): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of stream) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

async function bytesOf(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

async function collect(keys: AsyncIterable<string>): Promise<string[]> {
  const out: string[] = [];
  for await (const key of keys) out.push(key);
  return out;
}

interface Fixture {
  store: BlobStore;
  /** Uploads begun but neither completed nor cleaned up: partial files, or S3 multipart uploads. */
  pendingUploads(): Promise<string[]>;
  teardown(): Promise<void>;
}

async function localFixture(): Promise<Fixture> {
  const root = await mkdtemp(path.join(tmpdir(), 'cohort-blobs-'));
  const store = new LocalBlobStore(root);
  return {
    store,
    pendingUploads: async () => readdir(path.join(root, '.partial')).catch(() => []),
    teardown: () => rm(root, { recursive: true, force: true }),
  };
}

async function s3Fixture(): Promise<Fixture> {
  const s3 = await startS3TestServer();
  return { store: s3.store, pendingUploads: () => s3.pendingUploads(), teardown: () => s3.close() };
}

// --- the contract ----------------------------------------------------------------------------------

describe.each([
  { name: 'LocalBlobStore', setup: localFixture },
  { name: 'S3BlobStore (s3rver)', setup: s3Fixture },
])('$name', ({ setup }) => {
  let fx: Fixture;
  let store: BlobStore;
  beforeAll(async () => {
    fx = await setup();
    store = fx.store;
  });
  afterAll(() => fx?.teardown());

  it('round-trips a 20 MiB stream of unknown length', async () => {
    const source = randomSource(20 * MiB);
    const { size } = await store.put('files/p1/big', source.stream, { contentType: 'application/octet-stream' });
    expect(size).toBe(20 * MiB);
    expect(await sha256Of(await store.get('files/p1/big'))).toBe(source.sha256());
    expect((await store.stat('files/p1/big'))?.size).toBe(20 * MiB);
    expect(await fx.pendingUploads()).toEqual([]);
  });

  it('stores an empty blob', async () => {
    expect(await store.put('files/p1/empty', Readable.from([]))).toEqual({ size: 0 });
    expect((await bytesOf(await store.get('files/p1/empty'))).length).toBe(0);
    expect((await store.stat('files/p1/empty'))?.size).toBe(0);
    await expect(store.get('files/p1/empty', { start: 0, end: 0 })).rejects.toBeInstanceOf(BlobRangeError);
  });

  it('replaces an existing blob', async () => {
    await store.put('files/p1/twice', Readable.from([Buffer.from('first version')]));
    await store.put('files/p1/twice', Readable.from([Buffer.from('second')]));
    expect((await bytesOf(await store.get('files/p1/twice'))).toString()).toBe('second');
  });

  describe('byte ranges', () => {
    const data = randomBytes(100_000);
    beforeAll(async () => {
      await store.put('files/p1/ranged', Readable.from([data]));
    });

    it.each([
      ['first byte', { start: 0, end: 0 }, data.subarray(0, 1)],
      ['middle', { start: 1000, end: 49_999 }, data.subarray(1000, 50_000)],
      ['last byte', { start: 99_999, end: 99_999 }, data.subarray(99_999)],
      ['whole, explicitly', { start: 0, end: 99_999 }, data],
      ['whole, by omission', undefined, data],
      ['from an offset to the end', { start: 99_000 }, data.subarray(99_000)],
      ['from the start to an offset', { end: 9 }, data.subarray(0, 10)],
    ])('%s', async (_label, range, expected) => {
      const got = await bytesOf(await store.get('files/p1/ranged', range));
      expect(got.length).toBe(expected.length);
      expect(got.equals(expected)).toBe(true);
    });

    it.each([
      ['start after end', { start: 10, end: 9 }],
      ['end beyond the blob', { start: 0, end: 100_000 }],
      ['start beyond the blob', { start: 100_000 }],
      ['negative start', { start: -1, end: 5 }],
      ['fractional end', { start: 0, end: 1.5 }],
    ])('rejects %s', async (_label, range) => {
      await expect(store.get('files/p1/ranged', range)).rejects.toBeInstanceOf(BlobRangeError);
    });
  });

  it('stats present and absent blobs', async () => {
    const before = Date.now();
    await store.put('files/p2/stat-me', Readable.from([Buffer.alloc(1234, 7)]));
    const stat = await store.stat('files/p2/stat-me');
    expect(stat?.size).toBe(1234);
    // S3 keeps whole seconds.
    expect(stat!.modifiedAt.getTime()).toBeGreaterThanOrEqual(Math.floor(before / 1000) * 1000);
    expect(stat!.modifiedAt.getTime()).toBeLessThanOrEqual(Date.now() + 1000);
    expect(await store.stat('files/p2/never-written')).toBeNull();
  });

  it('deletes present blobs and ignores absent ones', async () => {
    await store.put('files/p2/doomed', Readable.from([Buffer.from('bye')]));
    await store.delete('files/p2/doomed');
    expect(await store.stat('files/p2/doomed')).toBeNull();
    await expect(store.get('files/p2/doomed')).rejects.toBeInstanceOf(BlobNotFoundError);
    await expect(store.delete('files/p2/doomed')).resolves.toBeUndefined();
    await expect(store.delete('files/p2/never-written')).resolves.toBeUndefined();
  });

  it('lists keys under a prefix in lexical order', async () => {
    // Written out of order; `a-c` sorts before `a/b` because `-` < `/`, which a naive directory walk gets wrong.
    const keys = ['list/z', 'list/a/b', 'list/a-c', 'list/m/n/o', 'list/a.txt', 'list/b', 'listing/other', 'lis/t'];
    for (const key of keys) await store.put(key, Readable.from([Buffer.from(key)]));
    expect(await collect(store.list('list/'))).toEqual(['list/a-c', 'list/a.txt', 'list/a/b', 'list/b', 'list/m/n/o', 'list/z']);
    expect(await collect(store.list('list'))).toEqual([
      'list/a-c',
      'list/a.txt',
      'list/a/b',
      'list/b',
      'list/m/n/o',
      'list/z',
      'listing/other',
    ]);
    expect(await collect(store.list('list/a'))).toEqual(['list/a-c', 'list/a.txt', 'list/a/b']);
    expect(await collect(store.list('list/m/'))).toEqual(['list/m/n/o']);
    expect(await collect(store.list('nothing-here/'))).toEqual([]);
    const all = await collect(store.list(''));
    expect(all).toEqual([...all].sort(byteOrder));
    expect(all).toEqual(expect.arrayContaining(keys));
  });

  it('rejects a get of a missing key with BlobNotFoundError', async () => {
    const err = await store.get('files/p3/missing').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BlobNotFoundError);
    expect((err as BlobNotFoundError).key).toBe('files/p3/missing');
    await expect(store.get('files/p3/missing', { start: 0, end: 0 })).rejects.toBeInstanceOf(BlobNotFoundError);
  });

  it.each(['../x', '/abs', 'a//b', 'a/./b', 'trailing/', ''])('rejects the invalid key %j', async (key) => {
    const body = Readable.from([Buffer.from('x')]);
    await expect(store.put(key, body)).rejects.toThrow(/Invalid blob key/);
    expect(body.destroyed).toBe(true);
    await expect(store.get(key)).rejects.toThrow(/Invalid blob key/);
    await expect(store.stat(key)).rejects.toThrow(/Invalid blob key/);
    await expect(store.delete(key)).rejects.toThrow(/Invalid blob key/);
  });

  it('leaves nothing behind when the source stream fails midway', async () => {
    const source = randomSource(30 * MiB, 10 * MiB);
    const put = store.put('files/p4/broken', source.stream);
    await source.stalled;
    // Make sure the upload really is under way (for S3: the multipart upload exists) before breaking it.
    await vi.waitFor(async () => expect(await fx.pendingUploads()).toHaveLength(1));
    source.stream.destroy(new Error('disk on fire'));
    await expect(put).rejects.toThrow('disk on fire');
    expect(await store.stat('files/p4/broken')).toBeNull();
    expect(await collect(store.list('files/p4/'))).toEqual([]);
    expect(await fx.pendingUploads()).toEqual([]);
  });

  it('keeps the previous blob when a replacing put fails', async () => {
    await store.put('files/p4/keep', Readable.from([Buffer.from('original')]));
    const source = randomSource(30 * MiB, 10 * MiB);
    const put = store.put('files/p4/keep', source.stream);
    await source.stalled;
    await vi.waitFor(async () => expect(await fx.pendingUploads()).toHaveLength(1));
    source.stream.destroy(new Error('connection reset'));
    await expect(put).rejects.toThrow('connection reset');
    expect((await bytesOf(await store.get('files/p4/keep'))).toString()).toBe('original');
    expect(await fx.pendingUploads()).toEqual([]);
  });

  it('leaves nothing behind when aborted midway, and rejects with the abort reason', async () => {
    const source = randomSource(30 * MiB, 10 * MiB);
    const controller = new AbortController();
    const put = store.put('files/p5/aborted', source.stream, { signal: controller.signal });
    await source.stalled;
    await vi.waitFor(async () => expect(await fx.pendingUploads()).toHaveLength(1));
    const reason = new Error('export cancelled');
    controller.abort(reason);
    await expect(put).rejects.toBe(reason);
    expect(source.stream.destroyed).toBe(true);
    expect(await store.stat('files/p5/aborted')).toBeNull();
    expect(await fx.pendingUploads()).toEqual([]);
  });

  it('refuses to start when already aborted', async () => {
    const controller = new AbortController();
    controller.abort();
    const body = Readable.from([Buffer.from('x')]);
    await expect(store.put('files/p5/never', body, { signal: controller.signal })).rejects.toMatchObject({ name: 'AbortError' });
    expect(body.destroyed).toBe(true);
    expect(await store.stat('files/p5/never')).toBeNull();
  });
});

// --- store-specific behaviour ----------------------------------------------------------------------

describe('LocalBlobStore only', () => {
  let root: string;
  let store: LocalBlobStore;
  beforeAll(async () => {
    root = await mkdtemp(path.join(tmpdir(), 'cohort-blobs-'));
    store = new LocalBlobStore(root);
  });
  afterAll(() => rm(root, { recursive: true, force: true }));

  it('keeps blobs as plain files under the root', async () => {
    await store.put('exports/e1.zip', Readable.from([Buffer.from('zip bytes')]));
    expect(await readFile(path.join(root, 'exports', 'e1.zip'), 'utf8')).toBe('zip bytes');
  });

  it('cleans up partial files older than the given age, and never lists them', async () => {
    const partials = path.join(root, '.partial');
    await mkdir(partials, { recursive: true });
    await writeFile(path.join(partials, 'crashed'), 'half an upload');
    await writeFile(path.join(partials, 'in-progress'), 'still arriving');
    const twoHoursAgo = new Date(Date.now() - 2 * 3600_000);
    await utimes(path.join(partials, 'crashed'), twoHoursAgo, twoHoursAgo);

    const listed = await collect(store.list(''));
    expect(listed).toContain('exports/e1.zip');
    expect(listed.filter((key) => key.includes('partial'))).toEqual([]);
    expect(await store.cleanupPartials(3600_000)).toBe(1);
    expect((await readdir(partials)).sort()).toEqual(['in-progress']);
    expect(await store.cleanupPartials(0)).toBe(1);
    expect(await readdir(partials)).toEqual([]);
  });

  it('reports zero cleaned partials before any upload', async () => {
    const fresh = new LocalBlobStore(path.join(root, 'not-yet-created'));
    expect(await fresh.cleanupPartials(0)).toBe(0);
  });

  it('does not let keys reach into .partial', async () => {
    await expect(store.put('.partial/x', Readable.from([Buffer.from('x')]))).rejects.toThrow(/Invalid blob key/);
  });

  it('treats a directory as no blob', async () => {
    await store.put('files/p9/a/b', Readable.from([Buffer.from('x')]));
    expect(await store.stat('files/p9/a')).toBeNull();
    await expect(store.get('files/p9/a')).rejects.toBeInstanceOf(BlobNotFoundError);
  });

  it('reports the free bytes of its filesystem, as df does', async () => {
    const dfAvailable = () => Number(execFileSync('df', ['-B1', '--output=avail', root], { encoding: 'utf8' }).trim().split('\n')[1]);
    const before = dfAvailable();
    const free = await store.freeBytes();
    const after = dfAvailable();
    expect(Number.isSafeInteger(free)).toBe(true);
    expect(free).toBeGreaterThan(0);
    // Other processes write meanwhile; agreement within 256 MiB is plenty to catch a wrong formula.
    expect(Math.abs(free - (before + after) / 2)).toBeLessThan(256 * MiB);
    // A root that does not exist yet reports its future filesystem.
    expect(Math.abs((await new LocalBlobStore(path.join(root, 'a', 'b')).freeBytes()) - free)).toBeLessThan(256 * MiB);
  });
});

describe('S3BlobStore only', () => {
  let fx: S3TestServer;
  beforeAll(async () => {
    fx = await startS3TestServer({ prefix: 'tenant-a' });
  });
  afterAll(() => fx?.close());

  it('keeps objects under the prefix and lists keys without it', async () => {
    const { store } = fx;
    expect(store.prefix).toBe('tenant-a/');
    await store.put('exports/e1.zip', Readable.from([Buffer.from('zip')]), { contentType: 'application/zip' });
    const head = await store.client.send(new HeadObjectCommand({ Bucket: store.bucket, Key: 'tenant-a/exports/e1.zip' }));
    expect(head.ContentLength).toBe(3);
    expect(head.ContentType).toBe('application/zip');
    // Another tenant's object, and one that merely shares the prefix's letters, stay invisible.
    for (const Key of ['tenant-b/exports/e2.zip', 'tenant-aa/exports/e3.zip']) {
      await store.client.send(new PutObjectCommand({ Bucket: store.bucket, Key, Body: 'x' }));
    }
    expect(await collect(store.list('exports/'))).toEqual(['exports/e1.zip']);
    expect(await collect(store.list(''))).toEqual(['exports/e1.zip']);
  });

  it('aborts the multipart upload of a failed put (lib-storage, leavePartsOnError false)', async () => {
    const before = fx.stats.abortedUploads;
    const source = randomSource(30 * MiB, 17 * MiB);
    const put = fx.store.put('files/p1/aborted-mpu', source.stream);
    await source.stalled;
    await vi.waitFor(async () => expect(await fx.pendingUploads()).toEqual(['tenant-a/files/p1/aborted-mpu']));
    source.stream.destroy(new Error('gone'));
    await expect(put).rejects.toThrow('gone');
    expect(fx.stats.abortedUploads).toBe(before + 1);
    expect(await fx.pendingUploads()).toEqual([]);
  });

  it('removes an object that S3 completed after the abort, and still rejects', async () => {
    let arrived!: () => void;
    let release!: () => void;
    const requestArrived = new Promise<void>((resolve) => (arrived = resolve));
    const released = new Promise<void>((resolve) => (release = resolve));
    fx.stats.holdPut = async (key) => {
      if (!key.endsWith('/late-abort')) return;
      arrived();
      await released;
    };
    try {
      const controller = new AbortController();
      const put = fx.store.put('files/p1/late-abort', Readable.from([Buffer.from('every byte')]), { signal: controller.signal });
      await requestArrived;
      const reason = new Error('too late');
      controller.abort(reason);
      release();
      await expect(put).rejects.toBe(reason);
      expect(await fx.store.stat('files/p1/late-abort')).toBeNull();
    } finally {
      fx.stats.holdPut = undefined;
    }
  });

  it('creates the bucket only when missing', async () => {
    await expect(fx.store.ensureBucket()).resolves.toBeUndefined();
    const other = new S3BlobStore(fx.storeOptions({ bucket: 'second-bucket', prefix: '' }));
    try {
      await expect(other.list('')[Symbol.asyncIterator]().next()).rejects.toMatchObject({ name: 'NoSuchBucket' });
      await other.ensureBucket();
      await other.put('x', Readable.from([Buffer.from('x')]));
      expect(await collect(other.list(''))).toEqual(['x']);
    } finally {
      other.close();
    }
  });

  it('refuses half-given credentials', () => {
    expect(
      () => new S3BlobStore({ bucket: 'b', region: 'us-east-1', accessKeyId: 'only-id', forcePathStyle: false, prefix: '' }),
    ).toThrow(/both/);
  });
});

describe('createBlobStore', () => {
  it('builds the store the configuration names', async () => {
    const local = await createBlobStore({ kind: 'local', root: '/tmp/cohort-does-not-matter' });
    expect(local).toBeInstanceOf(LocalBlobStore);
    expect((local as LocalBlobStore).root).toBe('/tmp/cohort-does-not-matter');
    const s3 = await createBlobStore({ kind: 's3', bucket: 'b', region: 'eu-west-1', forcePathStyle: false, prefix: 'p' });
    expect(s3).toBeInstanceOf(S3BlobStore);
    expect((s3 as S3BlobStore).bucket).toBe('b');
    expect((s3 as S3BlobStore).prefix).toBe('p/');
    (s3 as S3BlobStore).close();
  });
});
