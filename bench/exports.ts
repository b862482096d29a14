import { fork, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import { startProbe, type LatencyStats } from './health.js';
import type { ChildJob, ChildMessage, ParentMessage, ReadyMessage, ResultMessage } from './protocol.js';

// Like worker-host.ts: from TypeScript sources the child needs the tsx loader; compiled, it does not
// (which is how to measure what tsx itself costs in memory).
const CHILD_TS = new URL('./export-child.ts', import.meta.url);
const FROM_SOURCES = fs.existsSync(CHILD_TS);
const CHILD = fileURLToPath(FROM_SOURCES ? CHILD_TS : new URL('./export-child.js', import.meta.url));
const PROBE_INTERVAL_MS = 50;
const IDLE_PROBE_MS = 2000;
const WARM_UP_REQUESTS = 20;

export interface ExportRun extends ResultMessage {
  /** /api/health latencies with the worker idle, then while the export ran (HTTP runs only). */
  health?: { idle: LatencyStats; busy: LatencyStats };
}

/** Children still running, so that an interrupted benchmark can stop them (and only them). */
export const liveChildren = new Set<ChildProcess>();

export interface ChildOptions {
  env: Record<string, string>;
  /** Directory for `--cpu-prof` output; no profiling when absent. */
  profileDir?: string;
}

/**
 * Runs one export in a fresh child process and, for HTTP runs, probes `GET /api/health` every 50 ms
 * from this process: first for two seconds with the worker idle, then from the moment the export
 * is requested until its result arrives.
 */
export async function runExport(job: ChildJob, options: ChildOptions): Promise<ExportRun> {
  // The tsx loader is resolved here so the child finds it wherever the benchmark was started from.
  const execArgv = FROM_SOURCES ? ['--import', import.meta.resolve('tsx')] : [];
  if (options.profileDir) execArgv.push('--cpu-prof', `--cpu-prof-dir=${options.profileDir}`);
  const child = fork(CHILD, [JSON.stringify(job)], { execArgv, env: options.env, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  liveChildren.add(child);
  // 'close' rather than 'exit': it comes after the IPC channel has delivered every message.
  const exited = new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)));
  child.once('close', () => liveChildren.delete(child));
  try {
    const messages = messageQueue(child, exited);
    const ready = (await messages.next()) as ReadyMessage;
    if (ready.type !== 'ready') throw new Error(`export child: expected ready, got ${ready.type}`);
    const url = ready.port ? `http://127.0.0.1:${ready.port}/api/health` : undefined;
    let idle: LatencyStats | undefined;
    if (url) {
      // The first requests pay for connection setup and for JIT-compiling the route; not measured.
      for (let i = 0; i < WARM_UP_REQUESTS; i++) await fetch(url).then((r) => r.arrayBuffer());
      const probe = startProbe(url, PROBE_INTERVAL_MS);
      await new Promise((r) => setTimeout(r, IDLE_PROBE_MS));
      idle = await probe.stop();
    }
    const busyProbe = url ? startProbe(url, PROBE_INTERVAL_MS) : undefined;
    child.send({ type: 'start' } satisfies ParentMessage);
    const result = (await messages.next()) as ResultMessage;
    const busy = await busyProbe?.stop();
    child.send({ type: 'shutdown' } satisfies ParentMessage);
    const code = await exited;
    if (code !== 0) throw new Error(`export child exited with code ${code}`);
    return { ...result, health: idle && busy ? { idle, busy } : undefined };
  } catch (error) {
    child.kill();
    throw error;
  }
}

/** The child's IPC messages in order; rejects if it exits before sending the next one. */
function messageQueue(child: ChildProcess, exited: Promise<number | null>) {
  const received: ChildMessage[] = [];
  let notify: (() => void) | undefined;
  child.on('message', (message: ChildMessage) => {
    received.push(message);
    notify?.();
  });
  return {
    async next(): Promise<ChildMessage> {
      while (received.length === 0) {
        const arrived = new Promise<void>((resolve) => (notify = resolve));
        const code = await Promise.race([arrived.then(() => undefined), exited.then((c) => ({ exited: c }))]);
        if (code && received.length === 0) throw new Error(`export child exited (code ${code.exited}) without reporting`);
      }
      return received.shift()!;
    },
  };
}
