import { parentPort, workerData } from 'node:worker_threads';
import { PollingQueue } from '../adapters/queue/polling-queue.js';
import { loadConfig } from '../config.js';
import { createExportWorker, openRuntime } from '../runtime.js';

/**
 * The export worker of `serve`, in a thread of its own so that hashing, compressing and streaming
 * never hold up the HTTP event loop. It opens its own database connection and storage client.
 */
const { workerId } = workerData as { workerId: string };
const runtime = await openRuntime(loadConfig(), { migrate: false });
const worker = createExportWorker(runtime, { workerId, log: (message) => parentPort?.postMessage({ type: 'log', message }) });
await worker.start();
parentPort?.postMessage({ type: 'ready' });

parentPort?.on('message', (message: { type: string }) => {
  if (message.type === 'wake' && runtime.queue instanceof PollingQueue) runtime.queue.wake();
  if (message.type === 'stop') {
    void (async () => {
      await worker.stop();
      await runtime.close();
      parentPort?.postMessage({ type: 'stopped' });
      parentPort?.close();
    })();
  }
});
