import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from './config.js';

describe('loadConfig', () => {
  it('has embedded defaults: SQLite and local files under ./data, port 8080', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({
      port: 8080,
      dataDir: path.resolve('data'),
      databaseUrl: `sqlite:${path.resolve('data/cohort.db')}`,
      storage: { kind: 'local', root: path.resolve('data/blobs') },
      cookieSecure: false,
      loadDemo: true,
      admin: { username: 'admin', password: undefined },
    });
  });

  it('reads PostgreSQL, S3 and the rest from the environment', () => {
    const config = loadConfig({
      DATABASE_URL: 'postgres://u@db:5432/cohort',
      STORAGE: 's3',
      S3_BUCKET: 'exports',
      S3_ENDPOINT: 'http://127.0.0.1:9000',
      S3_FORCE_PATH_STYLE: 'true',
      PORT: '9090',
      PUBLIC_URL: 'https://cohort.lab.example',
      COHORT_DEMO: 'false',
    });
    expect(config.databaseUrl).toBe('postgres://u@db:5432/cohort');
    expect(config.storage).toMatchObject({ kind: 's3', bucket: 'exports', endpoint: 'http://127.0.0.1:9000', forcePathStyle: true });
    expect(config.port).toBe(9090);
    expect(config.cookieSecure).toBe(true);
    expect(config.loadDemo).toBe(false);
  });

  it('reports every bad variable by name, together', () => {
    let error: unknown;
    try {
      loadConfig({ PORT: 'eighty', STORAGE: 's3', DATABASE_URL: 'mysql://x', COHORT_ADMIN_PASSWORD: 'short', COHORT_DEMO: 'maybe' });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const problems = (error as ConfigError).problems.join('\n');
    expect(problems).toMatch(/^PORT: must be a number/m);
    expect(problems).toMatch(/^S3_BUCKET: is required when STORAGE=s3/m);
    expect(problems).toMatch(/^DATABASE_URL: must start with postgres:\/\/ or sqlite:/m);
    expect(problems).toMatch(/^COHORT_ADMIN_PASSWORD: must be at least 8 characters/m);
    expect(problems).toMatch(/^COHORT_DEMO: must be true or false/m);
    expect((error as Error).message).toMatch(/^Invalid configuration:/);
  });

  it('treats empty variables as unset', () => {
    expect(loadConfig({ PORT: '', DATABASE_URL: '' }).port).toBe(8080);
  });
});
