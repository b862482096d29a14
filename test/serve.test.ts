import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyZipWithTools } from './helpers/zip-tools.js';

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** The server as `npm start` runs it: first start, demo project, worker thread, real HTTP. */
describe('cohort serve', () => {
  let dir: string;
  let child: ChildProcess;
  let base: string;
  let output = '';
  let cookie = '';
  let csrf = '';

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cohort-serve-'));
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'serve'], {
      env: { PATH: process.env.PATH, HOME: process.env.HOME, DATA_DIR: dir, PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: 'warn', COHORT_ADMIN_PASSWORD: 'first start pw' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout!.on('data', (d) => (output += d));
    child.stderr!.on('data', (d) => (output += d));
    const deadline = Date.now() + 90_000;
    while (!/is listening on/.test(output)) {
      if (Date.now() > deadline || child.exitCode !== null) throw new Error(`server did not start:\n${output}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    const res = await fetch(`${base}/api/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'admin', password: 'first start pw' }) });
    expect(res.status).toBe(200);
    cookie = res.headers.get('set-cookie')!.split(';')[0]!;
    csrf = ((await res.json()) as { csrfToken: string }).csrfToken;
  }, 120_000);

  afterAll(async () => {
    if (child && child.exitCode === null) {
      child.kill('SIGKILL');
      await new Promise((r) => child.once('exit', r));
    }
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const api = (url: string, init: RequestInit = {}) => fetch(`${base}${url}`, { ...init, headers: { cookie, 'x-csrf-token': csrf, 'content-type': 'application/json', ...(init.headers ?? {}) } });

  it('creates the administrator and the demo project on first start and says where it listens', () => {
    expect(output).toMatch(/Created administrator "admin" with the password from COHORT_ADMIN_PASSWORD/);
    expect(output).toMatch(/Loaded the demo project "demo" with 24 patients/);
    expect(output).toMatch(/Exports are built by a worker thread of this process/);
    expect(fs.existsSync(path.join(dir, 'cohort.db'))).toBe(true);
  });

  it('builds an export of the whole demo in its worker thread while the API keeps answering', async () => {
    const tree = (await (await api('/api/demo/tree')).json()) as { folders: Array<{ id: string; parentId: string | null }> };
    const roots = tree.folders.filter((f) => f.parentId === null).map((f) => f.id);
    const created = await api('/api/demo/exports/create/', {
      method: 'POST',
      body: JSON.stringify({ name: 'Whole demo', selection: { folderIds: roots }, modalities: ['cbct', 'ios', 'intraoral-photo', 'panoramic'], include: { raw: true, processed: true }, options: { compression: 'deflate' } }),
    });
    expect(created.status).toBe(202);
    const { id } = (await created.json()) as { id: string };
    const latencies: number[] = [];
    let status = 'pending';
    const deadline = Date.now() + 60_000;
    while (status !== 'completed' && Date.now() < deadline) {
      const started = performance.now();
      const res = await api(`/api/demo/exports/${id}`);
      latencies.push(performance.now() - started);
      const body = (await res.json()) as { status: string; errorMessage: string | null };
      status = body.status;
      expect(body.errorMessage).toBeNull();
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(status).toBe('completed');
    expect(latencies.length).toBeGreaterThan(0);

    const download = await api(`/api/demo/exports/${id}/download`);
    expect(download.status).toBe(200);
    const zip = Buffer.from(await download.arrayBuffer());
    const file = path.join(dir, 'whole-demo.zip');
    fs.writeFileSync(file, zip);
    const { names } = await verifyZipWithTools(file);
    expect(names).toContain('Whole demo/metadata.json');
    expect(names.filter((n) => /^Whole demo\/patient_0\d\d\//.test(n)).length).toBeGreaterThan(24 * 3);

    const tail = await api(`/api/demo/exports/${id}/download`, { headers: { range: `bytes=${zip.length - 100}-` } });
    expect(tail.status).toBe(206);
    expect(Buffer.from(await tail.arrayBuffer()).equals(zip.subarray(zip.length - 100))).toBe(true);
  });

  it('serves the web app for client routes and stops cleanly on SIGTERM', async () => {
    const page = await fetch(`${base}/p/demo`);
    expect(page.status).toBe(200);
    expect(await page.text()).toMatch(/<div id="root">|<!doctype html>/i);
    child.kill('SIGTERM');
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    expect(code).toBe(0);
  });
});
