import { ListMultipartUploadsCommand } from '@aws-sdk/client-s3';
import { createReadStream } from 'node:fs';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { S3BlobStore, type S3BlobStoreOptions } from '../../src/adapters/blob/s3-blob-store.js';

/** What the gap-filling middleware counts, and the hooks a test can set on it. */
export interface S3TestServerStats {
  /** Multipart uploads aborted so far (AbortMultipartUpload is answered by the shim, so it can count them). */
  abortedUploads: number;
  /** Awaited before s3rver sees a PutObject, to hold a request that already carries the whole body. */
  holdPut?: (key: string) => Promise<void>;
}

export interface S3TestServer {
  /** `http://127.0.0.1:<port>`. */
  endpoint: string;
  bucket: string;
  /** Configured for `endpoint`, `bucket` and the requested prefix; the bucket already exists. */
  store: S3BlobStore;
  /** Live, not a snapshot: the middleware updates `abortedUploads` and consults `holdPut` as requests arrive. */
  stats: S3TestServerStats;
  /** Options for another store on this server (another bucket or prefix, or a `kind: 's3'` blob configuration). */
  storeOptions(overrides?: Partial<S3BlobStoreOptions>): S3BlobStoreOptions;
  /** Object keys (store prefix included) of multipart uploads begun but neither completed nor aborted, bucket-wide. */
  pendingUploads(): Promise<string[]>;
  /** Stops the server, destroys the store's client and removes the server's directory. */
  close(): Promise<void>;
}

/**
 * An s3rver on 127.0.0.1 with a free port, keeping its objects in a fresh temporary directory, patched to
 * behave like S3 where s3rver 3.7 does not (see `s3rverGaps` and `fixFirstByteRange`).
 */
export async function startS3TestServer(options: { prefix?: string; bucket?: string } = {}): Promise<S3TestServer> {
  const { prefix = 'cohort-test/', bucket = 'cohort-blobs' } = options;
  const directory = await mkdtemp(path.join(tmpdir(), 'cohort-s3rver-'));
  const server = new S3rver({ address: '127.0.0.1', port: 0, silent: true, directory });
  const stats: S3TestServerStats = { abortedUploads: 0 };
  // Just before s3rver's router, the last middleware it installs.
  server.middleware.splice(server.middleware.length - 1, 0, s3rverGaps(server, stats));
  fixFirstByteRange(server.store);

  let port: number;
  try {
    ({ port } = await server.run());
  } catch (err) {
    await rm(directory, { recursive: true, force: true });
    throw err;
  }
  const endpoint = `http://127.0.0.1:${port}`;
  const storeOptions = (overrides: Partial<S3BlobStoreOptions> = {}): S3BlobStoreOptions => ({
    bucket,
    region: 'us-east-1',
    endpoint,
    // s3rver's default keys; left out, the SDK's default chain would go looking for real credentials.
    accessKeyId: 'S3RVER',
    secretAccessKey: 'S3RVER',
    forcePathStyle: true,
    prefix,
    ...overrides,
  });
  const store = new S3BlobStore(storeOptions());
  const close = async () => {
    store.close();
    try {
      await server.close();
    } finally {
      await rm(directory, { recursive: true, force: true });
    }
  };
  try {
    await store.ensureBucket();
  } catch (err) {
    await close();
    throw err;
  }

  return {
    endpoint,
    bucket,
    store,
    stats,
    storeOptions,
    pendingUploads: async () => {
      const res = await store.client.send(new ListMultipartUploadsCommand({ Bucket: bucket }));
      return (res.Uploads ?? []).map((u) => u.Key ?? '');
    },
    close,
  };
}

// --- s3rver internals, as far as the patches below touch them --------------------------------------

interface KoaContext {
  method: string;
  path: string;
  query: Record<string, string | string[] | undefined>;
  status: number;
  type: string;
  body: unknown;
}
type KoaMiddleware = (ctx: KoaContext, next: () => Promise<void>) => Promise<void>;
interface S3rverObject {
  key: string;
  content?: Readable;
  range?: { start: number; end: number };
}
interface S3rverStore {
  getBucket(bucket: string): Promise<unknown>;
  getResourcePath(bucket: string, key: string | undefined, resource: string): string;
  getObject(bucket: string, key: string, options?: { start?: number; end?: number }): Promise<S3rverObject | null>;
  listObjects(bucket: string, options: { prefix?: string; maxKeys?: number }): Promise<{ objects: S3rverObject[] }>;
}
interface S3rverServer {
  middleware: KoaMiddleware[];
  store: S3rverStore;
  run(): Promise<AddressInfo>;
  close(): Promise<void>;
}
// s3rver ships no type declarations.
const S3rver = createRequire(import.meta.url)('s3rver') as new (options: Record<string, unknown>) => S3rverServer;

const escapeXml = (s: string) => s.replace(/[<>&'"]/g, (c) => `&#${c.charCodeAt(0)};`);
const byteOrder = (a: string, b: string) => Buffer.compare(Buffer.from(a), Buffer.from(b));
/** Small so that listing a handful of keys already takes several ListObjectsV2 pages, exercising pagination. */
const SHIM_PAGE_SIZE = 2;

/**
 * s3rver 3.7 lacks ListMultipartUploads and AbortMultipartUpload (without which lib-storage cannot clean up a
 * failed upload), lists keys in readdir order rather than S3's lexical order, and encrypts continuation
 * tokens with DES, which OpenSSL 3 refuses. This middleware answers those three requests from s3rver's own
 * files, the way S3 does. It runs before s3rver's router (and its signature check, which is irrelevant here).
 */
function s3rverGaps(server: S3rverServer, stats: S3TestServerStats): KoaMiddleware {
  const uploadsDir = (bucket: string) => server.store.getResourcePath(bucket, undefined, 'uploads');
  const xml = (ctx: KoaContext, body: string) => {
    ctx.type = 'application/xml';
    ctx.body = `<?xml version="1.0" encoding="UTF-8"?>\n${body}`;
  };
  return async (ctx, next) => {
    const [bucket = '', ...rest] = ctx.path.slice(1).split('/').map(decodeURIComponent);
    const key = rest.join('/');
    const q = ctx.query;
    if (ctx.method === 'PUT' && key !== '' && !('uploadId' in q)) await stats.holdPut?.(key);
    if (ctx.method === 'GET' && key === '' && 'uploads' in q) {
      const ids = await readdir(uploadsDir(bucket)).catch(() => []);
      const uploads = await Promise.all(
        ids.map(async (id) => ({ id, key: await readFile(path.join(uploadsDir(bucket), id, 'key'), 'utf8') })),
      );
      const entries = uploads
        .filter((u) => u.key.startsWith(String(q.prefix ?? '')))
        .map((u) => `<Upload><Key>${escapeXml(u.key)}</Key><UploadId>${u.id}</UploadId></Upload>`);
      return xml(ctx, `<ListMultipartUploadsResult><Bucket>${bucket}</Bucket>${entries.join('')}</ListMultipartUploadsResult>`);
    }
    if (ctx.method === 'DELETE' && key !== '' && typeof q.uploadId === 'string') {
      const dir = path.join(uploadsDir(bucket), q.uploadId);
      // The id becomes a path segment: anything but s3rver's hex ids could step outside the uploads directory.
      const storedKey = /^[0-9a-f]+$/.test(q.uploadId) ? await readFile(path.join(dir, 'key'), 'utf8').catch(() => null) : null;
      if (storedKey !== key) {
        ctx.status = 404;
        return xml(ctx, '<Error><Code>NoSuchUpload</Code><Message>The specified upload does not exist.</Message></Error>');
      }
      await rm(dir, { recursive: true, force: true });
      stats.abortedUploads += 1;
      ctx.status = 204;
      return;
    }
    if (ctx.method === 'GET' && key === '' && q['list-type'] === '2' && (await server.store.getBucket(bucket))) {
      const prefix = String(q.prefix ?? '');
      const token = q['continuation-token'];
      const after = typeof token === 'string' ? Buffer.from(token, 'base64url').toString() : String(q['start-after'] ?? '');
      const maxKeys = Math.min(Number(q['max-keys'] ?? 1000), SHIM_PAGE_SIZE);
      const { objects } = await server.store.listObjects(bucket, { prefix, maxKeys: Infinity });
      const keys = objects.map((o) => o.key).filter((k) => byteOrder(k, after) > 0).sort(byteOrder);
      const page = keys.slice(0, maxKeys);
      const truncated = keys.length > page.length;
      const next = truncated ? `<NextContinuationToken>${Buffer.from(page.at(-1)!).toString('base64url')}</NextContinuationToken>` : '';
      const contents = page.map((k) => `<Contents><Key>${escapeXml(k)}</Key></Contents>`).join('');
      return xml(
        ctx,
        `<ListBucketResult><Name>${bucket}</Name><Prefix>${escapeXml(prefix)}</Prefix><KeyCount>${page.length}</KeyCount>` +
          `<MaxKeys>${maxKeys}</MaxKeys><IsTruncated>${truncated}</IsTruncated>${next}${contents}</ListBucketResult>`,
      );
    }
    return next();
  };
}

/** s3rver reads `end` as `options.end || Infinity`, so `Range: bytes=0-0` returns the whole object. */
function fixFirstByteRange(store: S3rverStore): void {
  const getObject = store.getObject.bind(store);
  store.getObject = async (bucket, key, options) => {
    if (options?.end !== 0) return getObject(bucket, key, options);
    const object = await getObject(bucket, key, { start: 0 });
    if (object?.content && object.range) {
      object.content.destroy();
      object.content = createReadStream(store.getResourcePath(bucket, key, 'object'), { start: 0, end: 0 });
      object.range.end = 0;
    }
    return object;
  };
}
