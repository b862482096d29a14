import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.js';
import { firstStart, openRuntime, type Runtime } from '../src/runtime.js';

describe('first start on an empty data directory', () => {
  let dir: string;
  let runtime: Runtime | undefined;
  afterEach(async () => {
    await runtime?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('creates the database, the administrator with a generated password and the demo project, once', async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cohort-first-'));
    const config = loadConfig({ DATA_DIR: dir });
    runtime = await openRuntime(config);
    const first = await firstStart(runtime);
    expect(fs.existsSync(path.join(dir, 'cohort.db'))).toBe(true);
    expect(first.adminCreated?.username).toBe('admin');
    expect(first.adminCreated?.generatedPassword).toMatch(/^[A-Za-z0-9_-]{16}$/);
    expect(first.demoLoaded).toEqual({ projectSlug: 'demo', patients: 24 });
    await expect(runtime.services.auth.login('admin', first.adminCreated!.generatedPassword!, {})).resolves.toMatchObject({ user: { username: 'admin', is_site_admin: 1 } });
    const admin = (await runtime.services.repos.users.findByUsername('admin'))!;
    const projects = await runtime.services.browse.listProjects({ userId: admin.id, isSiteAdmin: true });
    expect(projects).toEqual([expect.objectContaining({ slug: 'demo', role: 'admin' })]);
    const stored: string[] = [];
    for await (const key of runtime.blobs.list('files/')) stored.push(key);
    expect(stored.length).toBeGreaterThan(24 * 3);

    const second = await firstStart(runtime);
    expect(second).toEqual({});
  });

  it('uses COHORT_ADMIN_USERNAME and COHORT_ADMIN_PASSWORD, and skips the demo when told', async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cohort-first-'));
    runtime = await openRuntime(loadConfig({ DATA_DIR: dir, COHORT_ADMIN_USERNAME: 'chief', COHORT_ADMIN_PASSWORD: 'chosen password', COHORT_DEMO: 'false' }));
    const first = await firstStart(runtime);
    expect(first).toEqual({ adminCreated: { username: 'chief', generatedPassword: undefined } });
    await expect(runtime.services.auth.login('chief', 'chosen password', {})).resolves.toBeTruthy();
    expect(await runtime.services.repos.projects.count()).toBe(0);
  });
});
