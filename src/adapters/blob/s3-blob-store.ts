import {
  AbortMultipartUploadCommand,
  CreateBucketCommand,
  ListMultipartUploadsCommand,
  type BucketLocationConstraint,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  paginateListObjectsV2,
  S3Client,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { Readable, Transform } from 'node:stream';
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

export interface S3BlobStoreOptions {
  bucket: string;
  region: string;
  endpoint?: string;
  accessKeyId?: string;
  secretAccessKey?: string;
  forcePathStyle: boolean;
  /** Prepended to every key; a missing trailing `/` is added so that `cohort` means the `cohort/` folder. */
  prefix: string;
}

const PART_SIZE = 8 * 1024 * 1024;
const QUEUE_SIZE = 4;

/** Blobs as objects in one S3 (or S3-compatible) bucket, optionally under a key prefix. */
export class S3BlobStore implements BlobStore {
  readonly client: S3Client;
  readonly bucket: string;
  readonly prefix: string;
  private readonly region: string;

  constructor(options: S3BlobStoreOptions) {
    const { accessKeyId, secretAccessKey } = options;
    if ((accessKeyId === undefined) !== (secretAccessKey === undefined)) {
      throw new Error('S3 credentials need both an access key id and a secret access key');
    }
    this.bucket = options.bucket;
    this.region = options.region;
    this.prefix = options.prefix === '' || options.prefix.endsWith('/') ? options.prefix : `${options.prefix}/`;
    this.client = new S3Client({
      region: options.region,
      endpoint: options.endpoint,
      forcePathStyle: options.forcePathStyle,
      // Without explicit keys the SDK's default chain applies (environment, instance role, ...).
      credentials: accessKeyId && secretAccessKey ? { accessKeyId, secretAccessKey } : undefined,
    });
  }

  async put(key: string, body: Readable, options: { signal?: AbortSignal; contentType?: string } = {}): Promise<{ size: number }> {
    const { signal, contentType } = options;
    let objectKey: string;
    try {
      objectKey = this.objectKey(key);
      signal?.throwIfAborted();
    } catch (err) {
      body.destroy();
      throw err;
    }

    let size = 0;
    let sourceError: unknown;
    const counter = new Transform({
      transform(chunk: Buffer, _encoding, callback) {
        size += chunk.length;
        callback(null, chunk);
      },
    });
    // lib-storage observes errors through its iterator; this only keeps a late destroy(err) from crashing the process.
    counter.on('error', () => undefined);
    body.on('error', (err) => {
      sourceError ??= err;
      counter.destroy(err);
    });
    body.pipe(counter);

    // Not upload.abort(): in lib-storage it makes done() reject at once while parts still in flight finish
    // and the multipart upload is aborted later in the background. Failing the source instead takes
    // lib-storage's error path, which waits for those parts and aborts the multipart upload (leavePartsOnError
    // false) before done() rejects, so nothing is left behind once put() has rejected.
    const onAbort = () => {
      counter.destroy(signal?.reason instanceof Error ? signal.reason : new Error('Upload aborted'));
      body.destroy();
    };
    signal?.addEventListener('abort', onAbort, { once: true });

    const upload = new Upload({
      client: this.client,
      params: { Bucket: this.bucket, Key: objectKey, Body: counter, ContentType: contentType },
      partSize: PART_SIZE,
      queueSize: QUEUE_SIZE,
      leavePartsOnError: false,
    });
    try {
      await upload.done();
    } catch (err) {
      // lib-storage rethrows the source's error, or the abort's if aborting the multipart upload failed.
      throw signal?.aborted ? signal.reason : (sourceError ?? err);
    } finally {
      signal?.removeEventListener('abort', onAbort);
      if (!body.readableEnded) body.destroy();
      counter.destroy();
    }
    if (signal?.aborted) {
      // The abort came after the last byte was handed over, too late to stop S3 from completing the object.
      await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: objectKey }));
      throw signal.reason;
    }
    return { size };
  }

  async get(key: string, range?: BlobRange): Promise<Readable> {
    const objectKey = this.objectKey(key);
    const partial = isPartialRange(range);
    if (partial) assertRangeShape(key, range);
    let response;
    try {
      response = await this.client.send(
        new GetObjectCommand({
          Bucket: this.bucket,
          Key: objectKey,
          Range: partial ? `bytes=${range.start ?? 0}-${range.end ?? ''}` : undefined,
        }),
      );
    } catch (err) {
      if (isMissingObject(err)) throw new BlobNotFoundError(key);
      if (errorName(err) === 'InvalidRange' || httpStatus(err) === 416) throw new BlobRangeError(key, range ?? {});
      throw err;
    }
    const body = response.Body;
    if (!(body instanceof Readable)) throw new Error(`S3 returned no readable body for ${objectKey}`);
    if (partial) {
      // S3 answers 416 only when the start lies beyond the object; an end beyond it is silently cut short.
      const served = /^bytes (\d+)-(\d+)\/(\d+)$/.exec(response.ContentRange ?? '');
      const total = served ? Number(served[3]) : undefined;
      const ok =
        served !== null &&
        Number(served[1]) === (range.start ?? 0) &&
        (range.end === undefined || Number(served[2]) === range.end) &&
        Number(served[2]) < Number(served[3]);
      if (!ok) {
        body.destroy();
        throw new BlobRangeError(key, range, total);
      }
    }
    return body;
  }

  async stat(key: string): Promise<BlobStat | null> {
    const objectKey = this.objectKey(key);
    try {
      const head = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: objectKey }));
      return { size: head.ContentLength ?? 0, modifiedAt: head.LastModified ?? new Date(0) };
    } catch (err) {
      if (isMissingObject(err)) return null;
      throw err;
    }
  }

  async delete(key: string): Promise<void> {
    // S3 answers 204 for absent keys too.
    await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: this.objectKey(key) }));
  }

  async *list(prefix: string): AsyncIterable<string> {
    const pages = paginateListObjectsV2({ client: this.client }, { Bucket: this.bucket, Prefix: this.prefix + prefix });
    for await (const page of pages) {
      for (const object of page.Contents ?? []) {
        if (object.Key?.startsWith(this.prefix)) yield object.Key.slice(this.prefix.length);
      }
    }
  }

  /**
   * Aborts multipart uploads under this store's prefix started more than `olderThanMs` ago (at
   * least a day: S3 only tells when an upload began, and a large one may run for hours).
   */
  async cleanupAbandoned(olderThanMs: number): Promise<number> {
    const cutoff = Date.now() - Math.max(olderThanMs, 24 * 3600_000);
    let removed = 0;
    let keyMarker: string | undefined;
    let uploadIdMarker: string | undefined;
    for (;;) {
      const page = await this.client.send(
        new ListMultipartUploadsCommand({ Bucket: this.bucket, Prefix: this.prefix, KeyMarker: keyMarker, UploadIdMarker: uploadIdMarker }),
      );
      for (const upload of page.Uploads ?? []) {
        if (upload.Key && upload.UploadId && upload.Initiated && upload.Initiated.getTime() < cutoff) {
          await this.client.send(new AbortMultipartUploadCommand({ Bucket: this.bucket, Key: upload.Key, UploadId: upload.UploadId }));
          removed++;
        }
      }
      if (!page.IsTruncated) return removed;
      keyMarker = page.NextKeyMarker;
      uploadIdMarker = page.NextUploadIdMarker;
    }
  }

  /** Creates the bucket when it does not exist yet (development and tests; production buckets are provisioned). */
  async ensureBucket(): Promise<void> {
    try {
      await this.client.send(new HeadBucketCommand({ Bucket: this.bucket }));
      return;
    } catch (err) {
      if (httpStatus(err) !== 404) throw err;
    }
    try {
      await this.client.send(
        new CreateBucketCommand({
          Bucket: this.bucket,
          // us-east-1 is the default location and S3 rejects it when named explicitly.
          CreateBucketConfiguration: this.region === 'us-east-1' ? undefined : { LocationConstraint: this.region as BucketLocationConstraint },
        }),
      );
    } catch (err) {
      if (errorName(err) !== 'BucketAlreadyOwnedByYou') throw err;
    }
  }

  /** Releases the client's sockets. */
  close(): void {
    this.client.destroy();
  }

  private objectKey(key: string): string {
    assertValidBlobKey(key);
    return this.prefix + key;
  }
}

function httpStatus(err: unknown): number | undefined {
  return (err as { $metadata?: { httpStatusCode?: number } } | null)?.$metadata?.httpStatusCode;
}

function errorName(err: unknown): string | undefined {
  return (err as { name?: string } | null)?.name;
}

/** A 404 for the object; NoSuchBucket is a misconfiguration and must not read as a missing blob. */
function isMissingObject(err: unknown): boolean {
  const name = errorName(err);
  return name === 'NoSuchKey' || name === 'NotFound' || (httpStatus(err) === 404 && name !== 'NoSuchBucket');
}
