/**
 * One export, in a process of its own (forked by bench/exports.ts; with `--import tsx` when run from
 * the TypeScript sources, plain node when compiled): opens the benchmark's Cohort runtime,
 * optionally the HTTP app, starts an export worker (in this thread, or in a worker thread as `serve`
 * does), then on the parent's signal creates the export through ExportService and waits until the
 * worker has finished it.
 */
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { loadConfig } from '../src/config.js';
import { buildHttpApp } from '../src/http/app.js';
import { ExportPipeline } from '../src/jobs/export-pipeline.js';
import { ExportWorker } from '../src/jobs/export-worker.js';
import { newWorkerId, startWorkerThread } from '../src/jobs/worker-host.js';
import { APP_VERSION, createExportWorker, openRuntime, type Runtime } from '../src/runtime.js';
import { storageSpaceOf } from '../src/services/index.js';
import type { ChildJob, ChildMessage, ParentMessage, ReadyMessage, ResultMessage } from './protocol.js';

const TERMINAL = new Set(['completed', 'failed', 'cancelled', 'expired']);
const RSS_SAMPLE_MS = 100;
/** Fallback to the worker's log line, in case its wording changes: the row is the truth anyway. */
const STATUS_POLL_MS = 250;

const job = JSON.parse(process.argv[2] ?? '{}') as ChildJob;

function send(message: ChildMessage): Promise<void> {
  return new Promise((resolve, reject) => process.send!(message, (error: Error | null) => (error ? reject(error) : resolve())));
}

function receive(type: ParentMessage['type']): Promise<void> {
  return new Promise((resolve) => {
    const listener = (message: ParentMessage) => {
      if (message.type !== type) return;
      process.off('message', listener);
      resolve();
    };
    process.on('message', listener);
  });
}

const config = loadConfig(process.env);
if (config.storage.kind !== 'local') throw new Error('The benchmark expects local storage');
const blobRoot = config.storage.root;
const runtime = await openRuntime(config, { migrate: false });

// Outcomes the worker logs ("export <id> attempt <n>: completed"); whichever of log or poll sees
// the end first wakes the waiter.
const finished = new Set<string>();
let wake: () => void = () => {};
const log = (message: string) => {
  const match = /^export (\S+) attempt \d+: (\w+)/.exec(message);
  if (match && match[2] !== 'requeued') {
    finished.add(match[1]!);
    wake();
  }
};

let app: FastifyInstance | undefined;
let port: number | undefined;
if (job.http) {
  app = await buildHttpApp(runtime.services, {
    logLevel: 'silent',
    sessionTtlMs: config.sessionTtlMs,
    cookieSecure: false,
    trustProxy: false,
    loginRateLimitPerMinute: 1000,
    version: APP_VERSION,
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  port = (app.server.address() as AddressInfo).port;
}

let stopWorker: () => Promise<void>;
if (job.placement === 'thread') {
  // As serve.ts does: the thread opens its own runtime from the same environment, and exports
  // created here wake it at once instead of at its next poll.
  const thread = await startWorkerThread(log);
  const enqueue = runtime.queue.enqueue.bind(runtime.queue);
  runtime.queue.enqueue = async (id) => {
    await enqueue(id);
    thread.wake();
  };
  stopWorker = () => thread.stop();
} else {
  const worker = job.level === undefined ? createExportWorker(runtime, { workerId: newWorkerId(), log }) : workerWithLevel(runtime, job.level);
  await worker.start();
  stopWorker = () => worker.stop();
}

/**
 * What createExportWorker builds, with PipelineOptions.compressionLevel set: the app has no setting
 * for it, so this is the only way to measure another level through the real pipeline.
 */
function workerWithLevel(rt: Runtime, level: number): ExportWorker {
  const workerId = newWorkerId();
  const pipeline = new ExportPipeline(rt.services.repos, rt.blobs, storageSpaceOf(rt.blobs), {
    workerId,
    appVersion: APP_VERSION,
    retentionDays: rt.config.exports.retentionDays,
    diskReserveBytes: rt.config.exports.diskReserveBytes,
    heartbeatIntervalMs: 500,
    compressionLevel: level,
  });
  return new ExportWorker(rt.services.repos, rt.blobs, rt.queue, pipeline, {
    workerId,
    concurrency: rt.config.exports.workerConcurrency,
    heartbeatTimeoutMs: rt.config.exports.heartbeatTimeoutMs,
    sweepIntervalMs: 15_000,
    log,
  });
}

const baseRss = process.memoryUsage().rss;
const started = receive('start');
const ready: ReadyMessage = { type: 'ready', port, baseRss };
await send(ready);
await started;

// RSS is process-wide, so this also covers a worker thread. A sample that comes late means this
// thread's event loop was busy: the largest gap is reported.
let peakRss = process.memoryUsage().rss;
const samplingFrom = performance.now();
let lastSample = samplingFrom;
let maxSampleGapMs = 0;
let maxSampleGapAt = 0;
const sampler = setInterval(() => {
  const now = performance.now();
  if (now - lastSample > maxSampleGapMs) {
    maxSampleGapMs = now - lastSample;
    maxSampleGapAt = (now - samplingFrom) / 1000;
  }
  lastSample = now;
  peakRss = Math.max(peakRss, process.memoryUsage().rss);
}, RSS_SAMPLE_MS);

const startedAt = Date.now();
const cpuAtStart = process.cpuUsage();
const created = await runtime.services.exports.create(
  { userId: job.userId, isSiteAdmin: false },
  job.projectSlug,
  {
    name: `bench-${job.compression}-${job.placement}${job.level === undefined ? '' : `-level-${job.level}`}`,
    selection: { folderIds: [job.folderId] },
    modalities: ['cbct', 'ios', 'intraoral-photo'],
    include: { raw: true, processed: true },
    options: { compression: job.compression },
  },
  { ip: '127.0.0.1', userAgent: 'cohort-bench' },
);

let row = await runtime.services.repos.exports.findById(created.id);
while (!row || !TERMINAL.has(row.status)) {
  await new Promise<void>((resolve) => {
    wake = resolve;
    if (finished.has(created.id)) resolve();
    setTimeout(resolve, STATUS_POLL_MS);
  });
  row = await runtime.services.repos.exports.findById(created.id);
}
const seconds = ((row.completed_at ? Date.parse(row.completed_at) : Date.now()) - startedAt) / 1000;
const cpu = process.cpuUsage(cpuAtStart);
clearInterval(sampler);
peakRss = Math.max(peakRss, process.memoryUsage().rss);

const result: ResultMessage = {
  type: 'result',
  exportId: row.id,
  status: row.status,
  error: row.error_message ? `${row.error_message}${row.error_detail ? `\n${row.error_detail}` : ''}` : undefined,
  seconds,
  cpuSeconds: (cpu.user + cpu.system) / 1e6,
  zipPath: row.zip_key ? path.join(blobRoot, ...row.zip_key.split('/')) : undefined,
  zipSize: row.zip_size ?? undefined,
  inputBytes: created.totalBytes,
  files: created.fileCount,
  peakRss,
  // maxRSS is in kilobytes (KiB on Linux).
  maxRss: process.resourceUsage().maxRSS * 1024,
  baseRss,
  maxSampleGapMs,
  maxSampleGapAt,
};

// Reported before shutting down, and the app closed only once the parent has stopped probing, so
// no probe meets a closing server.
const shutdown = receive('shutdown');
await send(result);
await shutdown;
await stopWorker();
await app?.close();
await runtime.close();
process.disconnect();
