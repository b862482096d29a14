import path from 'node:path';
import { z } from 'zod';
import { parseByteSize } from './domain/units.js';

/** Environment variables Cohort reads, with their defaults. The README's table mirrors this list. */
const booleanFromEnv = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'], { message: 'must be true or false' })
  .transform((v) => v === 'true' || v === '1' || v === 'yes');

const byteSize = z.string().transform((v, ctx) => {
  const bytes = parseByteSize(v);
  if (bytes === null) {
    ctx.addIssue({ code: 'custom', message: 'must be a size such as 500GB, 2TiB or a number of bytes' });
    return z.NEVER;
  }
  return bytes;
});

const envSchema = z
  .object({
    PORT: z.coerce.number({ message: 'must be a number' }).int().min(1).max(65535).default(8080),
    HOST: z.string().min(1).default('0.0.0.0'),
    DATA_DIR: z.string().min(1).default('./data'),
    DATABASE_URL: z
      .string()
      .regex(/^(postgres(ql)?:\/\/|sqlite:)/, 'must start with postgres:// or sqlite:')
      .optional(),
    DATABASE_SCHEMA: z.string().regex(/^[a-z_][a-z0-9_]{0,40}$/, 'must be a lower-case SQL identifier').optional(),
    STORAGE: z.enum(['local', 's3'], { message: 'must be local or s3' }).default('local'),
    S3_BUCKET: z.string().min(1).optional(),
    S3_REGION: z.string().min(1).default('us-east-1'),
    S3_ENDPOINT: z.url({ message: 'must be a URL' }).optional(),
    S3_ACCESS_KEY_ID: z.string().min(1).optional(),
    S3_SECRET_ACCESS_KEY: z.string().min(1).optional(),
    S3_FORCE_PATH_STYLE: booleanFromEnv.default(false),
    S3_PREFIX: z.string().default(''),
    SESSION_SECRET: z.string().min(32, 'must be at least 32 characters').optional(),
    SESSION_TTL_HOURS: z.coerce.number({ message: 'must be a number' }).positive().default(12),
    COOKIE_SECURE: booleanFromEnv.optional(),
    PUBLIC_URL: z.url({ message: 'must be a URL such as https://cohort.example.org' }).optional(),
    TRUST_PROXY: booleanFromEnv.default(false),
    LOGIN_RATE_LIMIT: z.coerce.number({ message: 'must be a number' }).int().positive().default(10),
    COHORT_ADMIN_USERNAME: z.string().regex(/^[a-zA-Z0-9._-]{2,64}$/, 'must be 2-64 letters, digits, ".", "_" or "-"').default('admin'),
    COHORT_ADMIN_PASSWORD: z.string().min(8, 'must be at least 8 characters').optional(),
    COHORT_ADMIN_EMAIL: z.email({ message: 'must be an email address' }).default('admin@localhost'),
    COHORT_DEMO: booleanFromEnv.default(true),
    EXPORT_MAX_BYTES: byteSize.default(2 ** 40),
    EXPORT_MAX_PATIENTS: z.coerce.number({ message: 'must be a number' }).int().positive().default(20_000),
    EXPORT_MAX_FILES: z.coerce.number({ message: 'must be a number' }).int().positive().default(1_000_000),
    EXPORT_USER_QUOTA_BYTES: byteSize.default(2 * 2 ** 40),
    EXPORT_MAX_ACTIVE_PER_USER: z.coerce.number({ message: 'must be a number' }).int().positive().default(3),
    EXPORT_DISK_RESERVE_BYTES: byteSize.default(2 * 2 ** 30),
    EXPORT_RETENTION_DAYS: z.coerce.number({ message: 'must be a number' }).positive().default(14),
    EXPORT_MAX_ATTEMPTS: z.coerce.number({ message: 'must be a number' }).int().min(1).max(20).default(3),
    EXPORT_HEARTBEAT_TIMEOUT_SECONDS: z.coerce.number({ message: 'must be a number' }).int().min(5).default(60),
    EXPORT_STALL_TIMEOUT_SECONDS: z.coerce.number({ message: 'must be a number' }).int().min(10).default(600),
    EXPORT_COMPRESSION_LEVEL: z.coerce.number({ message: 'must be a number' }).int().min(1).max(9).default(1),
    EXPORT_WORKER_CONCURRENCY: z.coerce.number({ message: 'must be a number' }).int().min(1).max(16).default(1),
    SMTP_URL: z.string().regex(/^smtps?:\/\//, 'must be an smtp:// or smtps:// URL').optional(),
    MAIL_FROM: z.string().min(3).default('Cohort <cohort@localhost>'),
    NOTIFY_MAX_ATTEMPTS: z.coerce.number({ message: 'must be a number' }).int().min(1).max(20).default(5),
    NOTIFY_RETRY_BASE_SECONDS: z.coerce.number({ message: 'must be a number' }).min(0.01).default(30),
    SHARE_PUBLIC_LINKS: booleanFromEnv.default(false),
    SHARE_RATE_LIMIT: z.coerce.number({ message: 'must be a number' }).int().positive().default(120),
    LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  });

export type StorageConfig =
  | { kind: 'local'; root: string }
  | {
      kind: 's3';
      bucket: string;
      region: string;
      endpoint?: string;
      accessKeyId?: string;
      secretAccessKey?: string;
      forcePathStyle: boolean;
      prefix: string;
    };

export interface Config {
  port: number;
  host: string;
  dataDir: string;
  databaseUrl: string;
  /** PostgreSQL schema for Cohort's tables (and `<schema>_jobs` for the queue); default `public`. */
  databaseSchema?: string;
  storage: StorageConfig;
  sessionSecret?: string;
  sessionTtlMs: number;
  cookieSecure: boolean;
  publicUrl?: string;
  trustProxy: boolean;
  loginRateLimitPerMinute: number;
  admin: { username: string; password?: string; email: string };
  loadDemo: boolean;
  logLevel: string;
  exports: ExportLimits;
  mail: { smtpUrl?: string; from: string; outboxDir: string; maxAttempts: number; retryBaseMs: number };
  /** Whether share links may be opened without signing in (`link` access). */
  sharePublicLinks: boolean;
  /** Requests per minute and address to share links, wrong guesses included. */
  shareRateLimitPerMinute: number;
}

export interface ExportLimits {
  maxBytes: number;
  maxPatients: number;
  maxFiles: number;
  userQuotaBytes: number;
  maxActivePerUser: number;
  diskReserveBytes: number;
  retentionDays: number;
  maxAttempts: number;
  heartbeatTimeoutMs: number;
  workerConcurrency: number;
  /** zlib level for deflated entries: 1 is several times faster than 6 for a ZIP about 1% larger. */
  compressionLevel: number;
  /** A running export that moves no byte for this long fails with a message. */
  stallTimeoutMs: number;
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/** Reads the environment once at start; every problem is reported together, naming the variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const relevant = Object.fromEntries(
    Object.keys(envSchema.shape).flatMap((key) => (env[key] === undefined || env[key] === '' ? [] : [[key, env[key]]])),
  );
  const parsed = envSchema.safeParse(relevant);
  const problems = parsed.success ? [] : parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
  if (relevant.STORAGE === 's3' && !relevant.S3_BUCKET) problems.push('S3_BUCKET: is required when STORAGE=s3');
  if (!parsed.success || problems.length) throw new ConfigError(problems);
  const e = parsed.data;
  const dataDir = path.resolve(e.DATA_DIR);
  const storage: StorageConfig =
    e.STORAGE === 's3'
      ? {
          kind: 's3',
          bucket: e.S3_BUCKET!,
          region: e.S3_REGION,
          endpoint: e.S3_ENDPOINT,
          accessKeyId: e.S3_ACCESS_KEY_ID,
          secretAccessKey: e.S3_SECRET_ACCESS_KEY,
          forcePathStyle: e.S3_FORCE_PATH_STYLE,
          prefix: e.S3_PREFIX,
        }
      : { kind: 'local', root: path.join(dataDir, 'blobs') };
  return {
    port: e.PORT,
    host: e.HOST,
    dataDir,
    databaseUrl: e.DATABASE_URL ?? `sqlite:${path.join(dataDir, 'cohort.db')}`,
    databaseSchema: e.DATABASE_SCHEMA,
    storage,
    sessionSecret: e.SESSION_SECRET,
    sessionTtlMs: e.SESSION_TTL_HOURS * 3600_000,
    cookieSecure: e.COOKIE_SECURE ?? (e.PUBLIC_URL?.startsWith('https://') ?? false),
    publicUrl: e.PUBLIC_URL,
    trustProxy: e.TRUST_PROXY,
    loginRateLimitPerMinute: e.LOGIN_RATE_LIMIT,
    admin: { username: e.COHORT_ADMIN_USERNAME, password: e.COHORT_ADMIN_PASSWORD, email: e.COHORT_ADMIN_EMAIL },
    loadDemo: e.COHORT_DEMO,
    logLevel: e.LOG_LEVEL,
    mail: {
      smtpUrl: e.SMTP_URL,
      from: e.MAIL_FROM,
      outboxDir: path.join(dataDir, 'outbox'),
      maxAttempts: e.NOTIFY_MAX_ATTEMPTS,
      retryBaseMs: e.NOTIFY_RETRY_BASE_SECONDS * 1000,
    },
    sharePublicLinks: e.SHARE_PUBLIC_LINKS,
    shareRateLimitPerMinute: e.SHARE_RATE_LIMIT,
    exports: {
      maxBytes: e.EXPORT_MAX_BYTES,
      maxPatients: e.EXPORT_MAX_PATIENTS,
      maxFiles: e.EXPORT_MAX_FILES,
      userQuotaBytes: e.EXPORT_USER_QUOTA_BYTES,
      maxActivePerUser: e.EXPORT_MAX_ACTIVE_PER_USER,
      diskReserveBytes: e.EXPORT_DISK_RESERVE_BYTES,
      retentionDays: e.EXPORT_RETENTION_DAYS,
      maxAttempts: e.EXPORT_MAX_ATTEMPTS,
      heartbeatTimeoutMs: e.EXPORT_HEARTBEAT_TIMEOUT_SECONDS * 1000,
      workerConcurrency: e.EXPORT_WORKER_CONCURRENCY,
      compressionLevel: e.EXPORT_COMPRESSION_LEVEL,
      stallTimeoutMs: e.EXPORT_STALL_TIMEOUT_SECONDS * 1000,
    },
  };
}
