import type { Config } from '../config.js';
import { buildHttpApp } from '../http/app.js';
import { PollingQueue } from '../adapters/queue/polling-queue.js';
import { startWorkerThread } from '../jobs/worker-host.js';
import { APP_VERSION, firstStart, openRuntime } from '../runtime.js';

/** Starts the server: migrations, first-start setup, HTTP, and a clean stop on SIGINT/SIGTERM. */
export async function serve(config: Config, options: { worker: boolean }): Promise<void> {
  const runtime = await openRuntime(config);
  const first = await firstStart(runtime);
  const worker = options.worker ? await startWorkerThread((message) => console.log(message)) : undefined;
  // Exports created here are picked up by the worker thread at once rather than at its next look.
  if (worker && runtime.queue instanceof PollingQueue) runtime.queue.onEnqueue(() => worker.wake());
  const app = await buildHttpApp(runtime.services, {
    logLevel: config.logLevel,
    sessionTtlMs: config.sessionTtlMs,
    cookieSecure: config.cookieSecure,
    trustProxy: config.trustProxy,
    loginRateLimitPerMinute: config.loginRateLimitPerMinute,
    shareGuessesPerMinute: config.shareRateLimitPerMinute,
    version: APP_VERSION,
  });
  if (first.adminCreated) {
    const password = first.adminCreated.generatedPassword;
    console.log(
      password
        ? `\nCreated administrator "${first.adminCreated.username}" with password: ${password}\n(shown once; set COHORT_ADMIN_PASSWORD to choose it)\n`
        : `\nCreated administrator "${first.adminCreated.username}" with the password from COHORT_ADMIN_PASSWORD.\n`,
    );
  }
  if (first.demoLoaded) console.log(`Loaded the demo project "${first.demoLoaded.projectSlug}" with ${first.demoLoaded.patients} patients.`);

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    app.log.info(`${signal} received, stopping`);
    await app.close();
    await worker?.stop();
    await runtime.close();
  };
  process.once('SIGINT', () => void stop('SIGINT'));
  process.once('SIGTERM', () => void stop('SIGTERM'));

  await app.listen({ port: config.port, host: config.host });
  const shown = config.host === '0.0.0.0' || config.host === '::' ? 'localhost' : config.host;
  console.log(`Cohort ${APP_VERSION} is listening on http://${shown}:${config.port} (API docs at /api/docs, data in ${config.dataDir})`);
  console.log(worker ? 'Exports are built by a worker thread of this process.' : 'No export worker in this process: run `npm run cohort -- worker` elsewhere.');
}
