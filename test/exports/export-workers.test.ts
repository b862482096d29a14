import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import zlib from 'node:zlib';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { ExportRow } from '../../src/adapters/db/schema.js';
import { SCHEMA_CHANGE_LOCK } from '../../src/adapters/db/database.js';
import { loadConfig } from '../../src/config.js';
import type { Actor } from '../../src/domain/policy.js';
import { openRuntime, type Runtime } from '../../src/runtime.js';
import { incompressibleStream, makeIncompressibleBytes } from '../../src/services/demo/sample-files.js';
import type { ExportRequest } from '../../src/services/export-service.js';
import { addFile } from '../helpers/exports.js';
import { seedWorld, type World } from '../helpers/world.js';
import { verifyZipWithTools } from '../helpers/zip-tools.js';

/**
 * Export workers as real processes (`cohort worker`), the way operators run them: several sharing
 * the exports of one database, one killed outright mid-export, one stopped gracefully mid-export.
 * The test process only creates exports and inspects rows, blobs and the workers' output.
 */

const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
const PG_URL = process.env.DATABASE_URL && /^postgres(ql)?:\/\//.test(process.env.DATABASE_URL) ? process.env.DATABASE_URL : undefined;
const HEARTBEAT_TIMEOUT_SECONDS = 5;
/** Big enough that deflating it takes a few seconds, so a worker can be stopped in the middle. */
const LARGE_FILE_BYTES = 128 * 1024 * 1024;
const LOG_LINE = /^export (\S+) attempt (\d+): (\w+)$/gm;

const run = promisify(execFile);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls `probe` until it returns a value (not undefined/false), or fails naming `what`. */
async function until<T>(what: string, probe: () => Promise<T | undefined | false>, timeoutMs: number, intervalMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting until ${what}`);
    await sleep(intervalMs);
  }
}

// ---------------------------------------------------------------------------------------------------
// Worker processes
// ---------------------------------------------------------------------------------------------------

/**
 * Only the basics of the test's environment reach a worker: Cohort's settings (DATABASE_URL, SMTP_URL,
 * EXPORT_*, …) come from the test alone, whatever the shell running the tests has set.
 */
const INHERITED_VARIABLES = ['PATH', 'HOME', 'TMPDIR', 'TMP', 'TEMP', 'LANG', 'LC_ALL', 'TZ', 'SYSTEMROOT'];

const liveWorkers = new Set<WorkerProcess>();

class WorkerProcess {
  readonly child: ChildProcess;
  stdout = '';
  stderr = '';
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

  constructor(
    readonly label: string,
    env: Record<string, string>,
  ) {
    const inherited = Object.fromEntries(INHERITED_VARIABLES.flatMap((name) => (process.env[name] === undefined ? [] : [[name, process.env[name]!]])));
    this.child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'worker'], {
      cwd: REPO_ROOT,
      env: { ...inherited, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (this.stdout += chunk));
    this.child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (this.stderr += chunk));
    this.exited = new Promise((resolve) => {
      this.child.once('exit', (code, signal) => {
        liveWorkers.delete(this);
        resolve({ code, signal });
      });
    });
    liveWorkers.add(this);
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** The id the worker announced; rows it claims carry it in worker_id. */
  get workerId(): string | undefined {
    return /^Export worker (\S+) started\./m.exec(this.stdout)?.[1];
  }

  /** Waits for the "started" line: from then on SIGTERM is a graceful stop. */
  async started(timeoutMs = 30_000): Promise<string> {
    return until(
      `worker ${this.label} has started`,
      async () => {
        if (!this.running && !this.workerId) throw new Error(`worker ${this.label} exited before starting:\n${this.stdout}\n${this.stderr}`);
        return this.workerId;
      },
      timeoutMs,
      50,
    );
  }

  /** Export outcomes the worker logged: "export <id> attempt <n>: <outcome>". */
  outcomes(): Array<{ id: string; attempt: number; outcome: string }> {
    return [...this.stdout.matchAll(LOG_LINE)].map((m) => ({ id: m[1]!, attempt: Number(m[2]), outcome: m[3]! }));
  }

  async stop(signal: NodeJS.Signals, timeoutMs = 40_000): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    this.child.kill(signal);
    const timeout = sleep(timeoutMs).then(() => {
      throw new Error(`worker ${this.label} did not exit within ${timeoutMs} ms after ${signal}:\n${this.stdout}\n${this.stderr}`);
    });
    return Promise.race([this.exited, timeout]);
  }
}

/** Kills whatever worker is still running (a failed test must not leave processes behind). */
async function killAllWorkers(): Promise<void> {
  const running = [...liveWorkers].filter((w) => w.running);
  for (const worker of running) worker.child.kill('SIGKILL');
  await Promise.all(running.map((w) => w.exited));
}

// ---------------------------------------------------------------------------------------------------
// The test's own runtime: tables (and pg-boss jobs) in a schema of their own, blobs in a temp dir
// ---------------------------------------------------------------------------------------------------

interface TestRuntime {
  runtime: Runtime;
  dir: string;
  schema?: string;
  /** Environment for `cohort worker` processes that share this runtime's database and storage. */
  workerEnv: Record<string, string>;
  close(): Promise<void>;
}

async function openTestRuntime(databaseUrl: string | undefined): Promise<TestRuntime> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cohort-workers-'));
  const schema = databaseUrl ? `t_${Date.now().toString(36)}_${randomBytes(4).toString('hex')}` : undefined;
  const database: Record<string, string> = databaseUrl ? { DATABASE_URL: databaseUrl, DATABASE_SCHEMA: schema! } : {};
  let runtime: Runtime;
  try {
    runtime = await openRuntime(
      loadConfig({
        DATA_DIR: dir,
        ...database,
        COHORT_DEMO: 'false',
        LOG_LEVEL: 'silent',
        EXPORT_MAX_ACTIVE_PER_USER: '50',
        EXPORT_DISK_RESERVE_BYTES: '0',
      }),
    );
  } catch (error) {
    await dropSchemas(databaseUrl, schema);
    fs.rmSync(dir, { recursive: true, force: true });
    throw error;
  }
  return {
    runtime,
    dir,
    schema,
    workerEnv: {
      DATA_DIR: dir,
      ...database,
      LOG_LEVEL: 'silent',
      EXPORT_HEARTBEAT_TIMEOUT_SECONDS: String(HEARTBEAT_TIMEOUT_SECONDS),
      // Builds must not depend on how full the test machine's disk is.
      EXPORT_DISK_RESERVE_BYTES: '0',
    },
    async close() {
      try {
        await runtime.close();
      } finally {
        await dropSchemas(databaseUrl, schema);
        fs.rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}

async function dropSchemas(databaseUrl: string | undefined, schema: string | undefined): Promise<void> {
  if (!databaseUrl || !schema) return;
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    await client.query('select pg_advisory_lock($1)', [SCHEMA_CHANGE_LOCK]);
    await client.query(`drop schema if exists ${schema}_jobs cascade`);
    await client.query(`drop schema if exists ${schema} cascade`);
    await client.query('select pg_advisory_unlock($1)', [SCHEMA_CHANGE_LOCK]);
  } finally {
    await client.end();
  }
}

/** Registers a large file of incompressible bytes, streamed into storage without holding it in memory. */
async function addLargeFile(runtime: Runtime, patientId: string, name: string, size: number): Promise<{ id: string; sha256: string }> {
  const { repos } = runtime.services;
  const patient = (await repos.catalog.findPatientById(patientId))!;
  const modality = (await repos.catalog.modalities()).find((m) => m.slug === 'cbct')!;
  const id = randomUUID();
  const storageKey = `files/${patient.project_id}/${id}`;
  const hash = createHash('sha256');
  let crc = 0;
  let seen = 0;
  const source = incompressibleStream(7, size);
  const measured = Readable.from(
    (async function* () {
      for await (const chunk of source as AsyncIterable<Buffer>) {
        hash.update(chunk);
        crc = zlib.crc32(chunk, crc);
        seen += chunk.length;
        yield chunk;
      }
    })(),
  );
  const stored = await runtime.blobs.put(storageKey, measured);
  expect(stored.size).toBe(size);
  expect(seen).toBe(size);
  const sha256 = hash.digest('hex');
  await repos.catalog.insertFile({
    id,
    project_id: patient.project_id,
    patient_id: patient.id,
    modality_id: modality.id,
    subtype: null,
    kind: 'raw',
    original_name: name,
    storage: 'store',
    storage_key: storageKey,
    size_bytes: size,
    sha256,
    crc32: crc,
    media_type: 'application/octet-stream',
    metadata: '{}',
    created_by: null,
    created_at: new Date().toISOString(),
    deleted_at: null,
  });
  await repos.projects.enableModalities(patient.project_id, [modality.id]);
  return { id, sha256 };
}

const exportRow = async (runtime: Runtime, id: string): Promise<ExportRow> => (await runtime.services.repos.exports.findById(id))!;

async function blobKeys(runtime: Runtime, prefix: string): Promise<string[]> {
  const keys: string[] = [];
  for await (const key of runtime.blobs.list(prefix)) keys.push(key);
  return keys.sort();
}

async function storedDigest(runtime: Runtime, key: string): Promise<{ sha256: string; size: number }> {
  const hash = createHash('sha256');
  let size = 0;
  for await (const chunk of await runtime.blobs.get(key)) {
    hash.update(chunk as Buffer);
    size += (chunk as Buffer).length;
  }
  return { sha256: hash.digest('hex'), size };
}

async function auditCount(runtime: Runtime, action: string, exportId: string): Promise<number> {
  const row = await runtime.database.db
    .selectFrom('audit_log')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('action', '=', action)
    .where('target_type', '=', 'export')
    .where('target_id', '=', exportId)
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

/** Files in the local store's `.partial` directory (uploads in progress or abandoned). */
function partialFiles(dir: string): string[] {
  const partial = path.join(dir, 'blobs', '.partial');
  return fs.existsSync(partial) ? fs.readdirSync(partial).sort() : [];
}

const TERMINAL = ['completed', 'failed', 'cancelled', 'expired'];

// ---------------------------------------------------------------------------------------------------
// 1. Several workers share the exports of one PostgreSQL database
// ---------------------------------------------------------------------------------------------------

describe.skipIf(!PG_URL)('three worker processes on PostgreSQL', () => {
  let t: TestRuntime;
  let world: World;
  let alice: Actor;
  const patientKeys = ['a1', 'base1', 'base2', 'follow1', 'b1'] as const;

  beforeAll(async () => {
    t = await openTestRuntime(PG_URL);
    const { services } = t.runtime;
    world = await seedWorld(services);
    alice = { userId: world.users.alice!, isSiteAdmin: false };
    for (const [i, key] of patientKeys.entries()) {
      const patientId = world.patients[key]!;
      await addFile(services, t.runtime.blobs, { patientId, modality: 'cbct', name: 'scan.nii', content: makeIncompressibleBytes(100 + i, 1_500_000 + i * 1000) });
      await addFile(services, t.runtime.blobs, { patientId, modality: 'cbct', kind: 'processed', name: 'scan.nii', content: Buffer.alloc(50_000 + i, i) });
      await addFile(services, t.runtime.blobs, { patientId, modality: 'ios', subtype: 'upper', name: 'upper.stl', content: makeIncompressibleBytes(200 + i, 300_000) });
    }
  });
  afterEach(killAllWorkers);
  afterAll(async () => {
    await killAllWorkers();
    await t?.close();
  });

  it('builds each of twenty exports exactly once, spread over the workers', async () => {
    const { services } = t.runtime;
    const workers = ['pg-1', 'pg-2', 'pg-3'].map((label) => new WorkerProcess(label, t.workerEnv));
    const workerIds = await Promise.all(workers.map((w) => w.started()));
    expect(new Set(workerIds).size).toBe(3);

    // Created while the workers already wait, so the queue (not a start-up sweep) delivers them.
    const ids: string[] = [];
    for (let i = 0; i < 20; i++) {
      const patients = patientKeys.filter((_, p) => (i + p) % 3 !== 0).map((key) => world.patients[key]!);
      const request: ExportRequest = {
        name: `Batch ${String(i).padStart(2, '0')}`,
        selection: { patientIds: patients },
        modalities: i % 2 ? ['cbct', 'ios'] : ['cbct'],
        include: { raw: true, processed: i % 4 === 0 },
        options: { compression: 'deflate' },
      };
      ids.push((await services.exports.create(alice, 'alpha', request, {})).id);
    }
    expect(new Set(ids).size).toBe(20);

    const rows = await until(
      'all twenty exports have finished',
      async () => {
        const found = await t.runtime.database.db.selectFrom('dataset_exports').selectAll().where('id', 'in', ids).execute();
        return found.length === 20 && found.every((r) => TERMINAL.includes(r.status)) ? found : undefined;
      },
      60_000,
      200,
    );

    for (const row of rows) {
      expect(row, `${row.name}: ${row.error_message ?? ''}`).toMatchObject({
        status: 'completed',
        attempt: 1,
        attempt_limit: t.runtime.config.exports.maxAttempts,
        worker_id: null,
        error_message: null,
        zip_key: `exports/${row.id}/attempt-1.zip`,
        files_done: row.file_count,
      });
      expect(await auditCount(t.runtime, 'export.completed', row.id)).toBe(1);
      expect(await auditCount(t.runtime, 'export.failed', row.id)).toBe(0);
      // Exactly one ZIP is stored for the export, and it is the one the row describes.
      expect(await blobKeys(t.runtime, `exports/${row.id}/`)).toEqual([row.zip_key]);
      expect(await storedDigest(t.runtime, row.zip_key!)).toEqual({ sha256: row.zip_sha256, size: row.zip_size });
    }
    // A sample of the ZIPs opens in every reader, with the planned files plus metadata.json and SHA256SUMS.
    for (const row of rows.slice(0, 4)) {
      const file = path.join(t.dir, `${row.id}.zip`);
      await pipeline(await t.runtime.blobs.get(row.zip_key!), fs.createWriteStream(file));
      const { names } = await verifyZipWithTools(file);
      expect(names).toHaveLength(row.file_count + 2);
      expect(names).toContain(`${row.name}/metadata.json`);
    }

    const exits = await Promise.all(workers.map((w) => w.stop('SIGTERM')));
    for (const [i, exit] of exits.entries()) {
      expect(exit, `${workers[i]!.label}:\n${workers[i]!.stdout}\n${workers[i]!.stderr}`).toEqual({ code: 0, signal: null });
      expect(workers[i]!.stdout).toContain('Export worker stopped.');
    }

    // worker_id is cleared on completion, so the workers' own logs tell who built what.
    const outcomes = workers.flatMap((w) => w.outcomes().map((o) => ({ ...o, worker: w.label })));
    expect(outcomes.filter((o) => o.outcome !== 'completed')).toEqual([]);
    expect(outcomes.map((o) => o.id).sort()).toEqual([...ids].sort());
    expect(outcomes.every((o) => o.attempt === 1)).toBe(true);
    const perWorker = workers.map((w) => w.outcomes().length);
    expect(perWorker.filter((n) => n > 0).length, `exports per worker: ${perWorker.join(', ')}`).toBeGreaterThan(1);
  }, 120_000);
});

// ---------------------------------------------------------------------------------------------------
// 2 and 3. A worker that dies, or is stopped, in the middle of an export
// ---------------------------------------------------------------------------------------------------

const databases = [{ name: 'sqlite', url: undefined as string | undefined }, ...(PG_URL ? [{ name: 'postgres', url: PG_URL as string | undefined }] : [])];

describe.each(databases)('a worker process stopped mid-export on $name', ({ url }) => {
  let t: TestRuntime;
  let world: World;
  let alice: Actor;
  let large: { id: string; sha256: string };

  const largeExport = (name: string): ExportRequest => ({
    name,
    selection: { patientIds: [world.patients.b1!] },
    modalities: ['cbct'],
    include: { raw: true, processed: false },
    options: { compression: 'deflate' },
  });

  /** Waits until the worker has claimed the export and is streaming bytes into the ZIP. */
  const waitUntilWriting = (id: string) =>
    until(
      `export ${id} is being written`,
      async () => {
        const row = await exportRow(t.runtime, id);
        if (TERMINAL.includes(row.status)) throw new Error(`export ${id} finished (${row.status}) before it could be interrupted; make the file larger`);
        return row.status === 'processing' && row.bytes_done > 0 ? row : undefined;
      },
      30_000,
      50,
    );

  const waitUntilFinished = (id: string, timeoutMs = 60_000) =>
    until(
      `export ${id} has finished`,
      async () => {
        const row = await exportRow(t.runtime, id);
        return TERMINAL.includes(row.status) ? row : undefined;
      },
      timeoutMs,
      200,
    );

  /** Downloads the ZIP as a user would and checks it with unzip, 7-Zip and Python. */
  async function checkDownload(row: ExportRow): Promise<void> {
    const download = await t.runtime.services.exports.download(alice, 'alpha', row.id, null, {});
    const file = path.join(t.dir, `${row.id}.zip`);
    const hash = createHash('sha256');
    await pipeline(
      download.stream,
      async function* (chunks: AsyncIterable<Buffer>) {
        for await (const chunk of chunks) {
          hash.update(chunk);
          yield chunk;
        }
      },
      fs.createWriteStream(file),
    );
    expect(fs.statSync(file).size).toBe(row.zip_size);
    expect(hash.digest('hex')).toBe(row.zip_sha256);
    const { names } = await verifyZipWithTools(file);
    expect(names).toContain(`${row.name}/metadata.json`);
    expect(names).toContain(`${row.name}/SHA256SUMS`);
    expect(names).toContain(`${row.name}/patient_001/cbct/large-scan.nii`);
    // The ZIP's SHA256SUMS names the large file with the checksum it was registered with.
    const { stdout: sums } = await run('python3', ['-c', 'import sys, zipfile; sys.stdout.write(zipfile.ZipFile(sys.argv[1]).read(sys.argv[2]).decode())', file, `${row.name}/SHA256SUMS`]);
    expect(sums).toContain(`${large.sha256}  patient_001/cbct/large-scan.nii\n`);
    fs.rmSync(file);
  }

  beforeAll(async () => {
    t = await openTestRuntime(url);
    world = await seedWorld(t.runtime.services);
    alice = { userId: world.users.alice!, isSiteAdmin: false };
    large = await addLargeFile(t.runtime, world.patients.b1!, 'large-scan.nii', LARGE_FILE_BYTES);
  }, 120_000);
  afterEach(async () => {
    await killAllWorkers();
    // An export a failed test left running or waiting must not be picked up by the next test's workers.
    await t?.runtime.database.db.updateTable('dataset_exports').set({ status: 'cancelled', worker_id: null }).where('status', 'in', ['pending', 'processing']).execute();
  });
  afterAll(async () => {
    await killAllWorkers();
    await t?.close();
  });

  it('recovers an export whose worker was killed (SIGKILL) in another worker, as attempt 2', async () => {
    const { id } = await t.runtime.services.exports.create(alice, 'alpha', largeExport('killed worker'), {});

    const a = new WorkerProcess('A', t.workerEnv);
    const aId = await a.started();
    const running = await waitUntilWriting(id);
    expect(running).toMatchObject({ attempt: 1, worker_id: aId });

    expect(await a.stop('SIGKILL')).toEqual({ code: null, signal: 'SIGKILL' });
    // Nothing told the database: the row still says attempt 1 is running on A, part-way through.
    const orphan = await exportRow(t.runtime, id);
    expect(orphan).toMatchObject({ status: 'processing', attempt: 1, worker_id: aId });
    expect(orphan.bytes_done).toBeGreaterThan(0);
    expect(orphan.bytes_done).toBeLessThan(orphan.total_bytes);

    // Once A's last heartbeat is older than the timeout, a worker starting now finds it stale at once.
    await sleep(Math.max(0, Date.parse(orphan.heartbeat_at!) + HEARTBEAT_TIMEOUT_SECONDS * 1000 + 500 - Date.now()));
    expect(await exportRow(t.runtime, id)).toMatchObject({ status: 'processing', attempt: 1, heartbeat_at: orphan.heartbeat_at });

    const b = new WorkerProcess('B', t.workerEnv);
    const bId = await b.started();
    expect(bId).not.toBe(aId);
    const done = await waitUntilFinished(id);
    expect(done, `${done.error_message ?? ''}\n${b.stdout}\n${b.stderr}`).toMatchObject({
      status: 'completed',
      attempt: 2,
      worker_id: null,
      error_message: null,
      zip_key: `exports/${id}/attempt-2.zip`,
      files_done: 1,
      bytes_done: LARGE_FILE_BYTES,
    });
    expect(b.stdout).toContain(`export ${id}: worker ${aId} stopped responding; queued again`);
    expect(b.outcomes().filter((o) => o.id === id)).toEqual([{ id, attempt: 2, outcome: 'completed' }]);
    expect(await auditCount(t.runtime, 'export.completed', id)).toBe(1);

    // Nothing of attempt 1 is left under the export's prefix; only the final ZIP.
    expect(await t.runtime.blobs.stat(`exports/${id}/attempt-1.zip`)).toBeNull();
    expect(await blobKeys(t.runtime, `exports/${id}/`)).toEqual([`exports/${id}/attempt-2.zip`]);
    expect(await storedDigest(t.runtime, done.zip_key!)).toEqual({ sha256: done.zip_sha256, size: done.zip_size });
    await checkDownload(done);

    expect(await b.stop('SIGTERM'), `${b.stdout}\n${b.stderr}`).toEqual({ code: 0, signal: null });
  }, 120_000);

  it('hands an export back without using up an attempt when its worker is stopped (SIGTERM), and another worker completes it', async () => {
    const { id } = await t.runtime.services.exports.create(alice, 'alpha', largeExport('stopped worker'), {});
    const created = await exportRow(t.runtime, id);
    const partialsBefore = partialFiles(t.dir);

    const a = new WorkerProcess('A', t.workerEnv);
    const aId = await a.started();
    expect(await waitUntilWriting(id)).toMatchObject({ attempt: 1, worker_id: aId });

    expect(await a.stop('SIGTERM'), `${a.stdout}\n${a.stderr}`).toEqual({ code: 0, signal: null });
    expect(a.outcomes()).toEqual([{ id, attempt: 1, outcome: 'requeued' }]);
    expect(a.stdout).toContain('Export worker stopped.');
    // Back in the queue at once (no waiting for a heartbeat timeout), with one more attempt allowed.
    expect(await exportRow(t.runtime, id)).toMatchObject({
      status: 'pending',
      attempt: 1,
      attempt_limit: created.attempt_limit + 1,
      worker_id: null,
      progress_phase: 'queued',
    });
    // The stopped attempt removed its partial ZIP: nothing under the export, no new partial upload.
    expect(await blobKeys(t.runtime, `exports/${id}/`)).toEqual([]);
    expect(partialFiles(t.dir)).toEqual(partialsBefore);

    const b = new WorkerProcess('B', t.workerEnv);
    await b.started();
    const done = await waitUntilFinished(id);
    expect(done, `${done.error_message ?? ''}\n${b.stdout}\n${b.stderr}`).toMatchObject({
      status: 'completed',
      attempt: 2,
      attempt_limit: created.attempt_limit + 1,
      error_message: null,
      zip_key: `exports/${id}/attempt-2.zip`,
      bytes_done: LARGE_FILE_BYTES,
    });
    // Attempts left after the hand-back are what they were before it: the stop was not the export's fault.
    expect(done.attempt_limit - done.attempt).toBe(created.attempt_limit - 1);
    expect(b.outcomes().filter((o) => o.id === id)).toEqual([{ id, attempt: 2, outcome: 'completed' }]);
    expect(b.stdout).not.toContain(`export ${id}: worker`); // not recovered as stale: it was handed back
    expect(await auditCount(t.runtime, 'export.completed', id)).toBe(1);
    expect(await auditCount(t.runtime, 'export.failed', id)).toBe(0);
    expect(await blobKeys(t.runtime, `exports/${id}/`)).toEqual([done.zip_key]);
    expect(await storedDigest(t.runtime, done.zip_key!)).toEqual({ sha256: done.zip_sha256, size: done.zip_size });

    expect(await b.stop('SIGTERM'), `${b.stdout}\n${b.stderr}`).toEqual({ code: 0, signal: null });
  }, 120_000);
});
