import fs from 'node:fs';
import os from 'node:os';
import { randomBytes } from 'node:crypto';
import { Worker } from 'node:worker_threads';

export function newWorkerId(): string {
  return `${os.hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;
}

/** Starts the export worker thread and returns how to wake and stop it. */
export async function startWorkerThread(log: (message: string) => void): Promise<{ wake(): void; stop(): Promise<void> }> {
  // Run from TypeScript sources (tsx) or from compiled JavaScript alike.
  const ts = new URL('./worker-thread.ts', import.meta.url);
  const workerData = { workerId: newWorkerId() };
  // Module hooks are per thread: a thread running the TypeScript sources registers tsx first.
  const worker = fs.existsSync(ts)
    ? new Worker(`import('tsx/esm/api').then(({ register }) => { register(); return import(${JSON.stringify(ts.href)}); });`, { eval: true, workerData })
    : new Worker(new URL('./worker-thread.js', import.meta.url), { workerData });
  await new Promise<void>((resolve, reject) => {
    worker.on('message', (message: { type: string; message?: string }) => {
      if (message.type === 'ready') resolve();
      if (message.type === 'log' && message.message) log(message.message);
    });
    worker.once('error', reject);
  });
  worker.on('error', (error) => log(`export worker stopped with an error: ${error.message}`));
  return {
    wake: () => worker.postMessage({ type: 'wake' }),
    stop: () =>
      new Promise<void>((resolve) => {
        worker.once('exit', () => resolve());
        worker.postMessage({ type: 'stop' });
      }),
  };
}
