import type { StorageConfig } from '../../config.js';
import type { BlobStore } from './blob-store.js';
import { LocalBlobStore } from './local-blob-store.js';
import { S3BlobStore } from './s3-blob-store.js';

export function createBlobStore(storage: StorageConfig): BlobStore {
  switch (storage.kind) {
    case 'local':
      return new LocalBlobStore(storage.root);
    case 's3':
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
