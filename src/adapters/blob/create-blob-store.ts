import type { StorageConfig } from '../../config.js';
import type { BlobStore } from './blob-store.js';
import { LocalBlobStore } from './local-blob-store.js';

/** The configured store; the S3 SDK is loaded only when S3 is used (it weighs tens of MB). */
export async function createBlobStore(storage: StorageConfig): Promise<BlobStore> {
  switch (storage.kind) {
    case 'local':
      return new LocalBlobStore(storage.root);
    case 's3': {
      const { S3BlobStore } = await import('./s3-blob-store.js');
      return new S3BlobStore({
        bucket: storage.bucket,
        region: storage.region,
        endpoint: storage.endpoint,
        accessKeyId: storage.accessKeyId,
        secretAccessKey: storage.secretAccessKey,
        forcePathStyle: storage.forcePathStyle,
        prefix: storage.prefix,
      });
    }
  }
}
