import fs from 'node:fs';
import type { FastifyInstance } from 'fastify';
import { buildHttpApp, DEFAULT_WEB_ROOT, type HttpOptions } from '../../src/http/app.js';
import { openTestContext, type TestContext } from './context.js';
import { testDatabases } from './databases.js';

/** The password of every user of the browser tests. */
export const PASSWORD = 'demo password 123';

export interface BrowserTestSetup {
  /** Export limits of the test context. */
  limits?: Parameters<typeof openTestContext>[1];
  sharePublicLinks?: boolean;
  /** Users to add, all with PASSWORD and the email `<username>@lab.test`. */
  users: { username: string; displayName: string; siteAdmin?: boolean }[];
  /** The demo project: its patient count and its owner's username. */
  demo: { patients: number; owner: string };
}

/**
 * The data side of a browser test: fails early when the web app is not built, opens a test
 * context on the first test database, adds the users and loads the demo project.
 * Returns the context and the users' ids by username.
 */
export async function openBrowserTestContext(setup: BrowserTestSetup): Promise<{ ctx: TestContext; userIds: Map<string, string> }> {
  if (!fs.existsSync(`${DEFAULT_WEB_ROOT}/index.html`)) throw new Error('The web app is not built: run `npm run build` (npm test does).');
  const ctx = await openTestContext(testDatabases()[0]!, setup.limits, { sharePublicLinks: setup.sharePublicLinks });
  const userIds = new Map<string, string>();
  for (const { username, displayName, siteAdmin } of setup.users) {
    const { user } = await ctx.services.admin.addUser({ username, email: `${username}@lab.test`, password: PASSWORD, siteAdmin, displayName });
    userIds.set(username, user.id);
  }
  await ctx.services.demo.load({ patients: setup.demo.patients, ownerUsername: setup.demo.owner });
  return { ctx, userIds };
}

export interface BrowserServer {
  app: FastifyInstance;
  /** Where the browser finds the app, e.g. `http://127.0.0.1:41234`. */
  base: string;
}

/** Serves the API and the built web app on a free port of 127.0.0.1. */
export async function listenForBrowser(ctx: TestContext, options: Partial<HttpOptions> = {}): Promise<BrowserServer> {
  const app = await buildHttpApp(ctx.services, {
    logLevel: 'silent',
    sessionTtlMs: 3600_000,
    cookieSecure: false,
    trustProxy: false,
    loginRateLimitPerMinute: 100,
    version: 'test',
    ...options,
  });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const address = app.server.address();
  return { app, base: `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}` };
}
