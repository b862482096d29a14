import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Actor } from '../src/domain/policy.js';
import type { ExportWorker } from '../src/jobs/export-worker.js';
import { login, openTestApp, openTestContext, type TestContext } from './helpers/context.js';
import { testDatabases } from './helpers/databases.js';
import { addFile, startWorker, waitForStatus } from './helpers/exports.js';
import { PASSWORD, seedWorld, type World } from './helpers/world.js';

const REQUEST = { modalities: ['cbct'], include: { raw: true, processed: false } };

describe.each(testDatabases())('share links on $name', (database) => {
  for (const publicLinks of [false, true]) {
    describe(`with SHARE_PUBLIC_LINKS=${publicLinks}`, () => {
      let ctx: TestContext;
      let app: FastifyInstance;
      let world: World;
      let worker: ExportWorker;
      let exportId: string;
      let otherExportId: string;
      const sessions: Record<string, { cookie: string; csrf: string }> = {};

      beforeAll(async () => {
        ctx = await openTestContext(database, {}, { sharePublicLinks: publicLinks });
        world = await seedWorld(ctx.services);
        for (const p of ['base1', 'base2', 'b1']) await addFile(ctx.services, ctx.blobs, { patientId: world.patients[p]!, modality: 'cbct', name: 'scan.nii', content: Buffer.alloc(3000, 9) });
        worker = startWorker(ctx.services, ctx.blobs, ctx.queue);
        await worker.start();
        const bob: Actor = { userId: world.users.bob!, isSiteAdmin: false };
        exportId = (await ctx.services.exports.create(bob, 'alpha', { ...REQUEST, name: 'Baseline', selection: { folderIds: [world.folders.baseline.id] } }, {})).id;
        otherExportId = (await ctx.services.exports.create(bob, 'alpha', { ...REQUEST, name: 'Study B', selection: { patientIds: [world.patients.b1!] } }, {})).id;
        await waitForStatus(ctx.services, exportId, ['completed']);
        await waitForStatus(ctx.services, otherExportId, ['completed']);
        app = await openTestApp(ctx);
        for (const u of ['alice', 'bob', 'carol', 'dave', 'erin']) sessions[u] = await login(app, u, PASSWORD);
      });
      afterAll(async () => {
        await worker?.stop();
        await app?.close();
        await ctx?.close();
      });

      const as = (user: string | null, method: 'GET' | 'POST' | 'DELETE', url: string, payload?: object, headers: Record<string, string> = {}) =>
        app.inject({ method, url, payload, headers: user ? { cookie: sessions[user]!.cookie, 'x-csrf-token': sessions[user]!.csrf, ...headers } : headers });
      const share = async (user: string, body: object, id = exportId) => {
        const res = await as(user, 'POST', `/api/alpha/exports/${id}/shares`, body);
        expect(res.statusCode, res.body).toBe(201);
        return res.json() as { id: string; token: string; url: string; expiresAt: string };
      };

      it('creates a members link with a 256-bit token stored only as a hash', async () => {
        const created = await share('bob', { access: 'members' });
        expect(created.token).toMatch(/^[A-Za-z0-9_-]{43}$/);
        expect(created.url).toBe(`https://cohort.lab.example/share/${created.token}`);
        const rows = await ctx.database.db.selectFrom('export_shares').selectAll().where('id', '=', created.id).execute();
        expect(rows[0]!.token_hash).toMatch(/^[0-9a-f]{64}$/);
        expect(JSON.stringify(rows)).not.toContain(created.token);
        // Default expiry: 7 days.
        expect(Math.round((Date.parse(created.expiresAt) - Date.now()) / 86_400_000)).toBe(7);
      });

      it('opens a members link for members who see every patient, and for nobody else', async () => {
        const { token } = await share('bob', { access: 'members' });
        const info = await as('carol', 'GET', `/api/share/${token}`);
        expect(info.statusCode, info.body).toBe(200);
        expect(info.json()).toMatchObject({ createdBy: 'BOB', access: 'members', patientCount: 2 });
        const download = await as('carol', 'GET', `/api/share/${token}/download`);
        expect(download.statusCode).toBe(200);
        expect(download.headers['content-type']).toBe('application/zip');
        const ranged = await as('carol', 'GET', `/api/share/${token}/download`, undefined, { range: 'bytes=100-199' });
        expect(ranged.statusCode).toBe(206);
        expect(ranged.rawPayload.equals(download.rawPayload.subarray(100, 200))).toBe(true);

        expect((await as(null, 'GET', `/api/share/${token}`)).statusCode).toBe(401);
        expect((await as('erin', 'GET', `/api/share/${token}`)).statusCode).toBe(403);
        // dave only sees Study A/Baseline… and this export is Baseline: he may. The other export (Study B) not.
        expect((await as('dave', 'GET', `/api/share/${token}`)).statusCode).toBe(200);
        const other = await share('bob', { access: 'members' }, otherExportId);
        expect((await as('dave', 'GET', `/api/share/${other.token}/download`)).statusCode).toBe(403);

        const audit = (await ctx.services.repos.audit.recent({ action: 'export.downloaded', limit: 50 })).filter((a) => JSON.parse(a.details).shareId);
        expect(audit.length).toBeGreaterThanOrEqual(2);
      });

      it(publicLinks ? 'opens a link-mode share without signing in' : 'refuses link-mode shares while the server does not allow them', async () => {
        const res = await as('bob', 'POST', `/api/alpha/exports/${exportId}/shares`, { access: 'link' });
        if (!publicLinks) {
          expect(res.statusCode).toBe(400);
          expect(res.json().error).toMatchObject({ code: 'public_links_disabled', field: 'access' });
          return;
        }
        expect(res.statusCode).toBe(201);
        const anonymous = await as(null, 'GET', `/api/share/${res.json().token}/download`);
        expect(anonymous.statusCode).toBe(200);
        expect(anonymous.rawPayload.length).toBeGreaterThan(100);
      });

      it('answers wrong, revoked, expired and used-up links the same way', async () => {
        const limited = await share('bob', { access: 'members', maxDownloads: 1 });
        expect((await as('alice', 'GET', `/api/share/${limited.token}/download`)).statusCode).toBe(200);
        const usedUp = await as('alice', 'GET', `/api/share/${limited.token}/download`);

        const revoked = await share('alice', { access: 'members' });
        expect((await as('bob', 'DELETE', `/api/alpha/exports/${exportId}/shares/${revoked.id}`)).statusCode).toBe(204);
        const afterRevoke = await as('alice', 'GET', `/api/share/${revoked.token}`);

        const expiring = await share('bob', { access: 'members' });
        await ctx.database.db.updateTable('export_shares').set({ expires_at: new Date(Date.now() - 1000).toISOString() }).where('id', '=', expiring.id).execute();
        const expired = await as('alice', 'GET', `/api/share/${expiring.token}`);

        const wrong = await as('alice', 'GET', `/api/share/${'x'.repeat(43)}`);
        const short = await as('alice', 'GET', '/api/share/abc');
        for (const res of [usedUp, afterRevoke, expired, wrong, short]) {
          expect(res.statusCode).toBe(404);
          expect(res.json()).toEqual({ error: { code: 'share_not_found', message: 'This link is not valid. It may have expired or been revoked.' } });
        }
        const list = (await as('bob', 'GET', `/api/alpha/exports/${exportId}/shares`)).json().shares;
        const states = Object.fromEntries(list.map((s: { id: string; state: string }) => [s.id, s.state]));
        expect(states[limited.id]).toBe('used_up');
        expect(states[revoked.id]).toBe('revoked');
        expect(states[expiring.id]).toBe('expired');
      });

      it('never opens another export, and only the creator or a project admin manages links', async () => {
        const first = await share('bob', { access: 'members' });
        const second = await share('bob', { access: 'members' }, otherExportId);
        const a = await as('alice', 'GET', `/api/share/${first.token}`);
        const b = await as('alice', 'GET', `/api/share/${second.token}`);
        expect(a.json().name).not.toBe(b.json().name);
        const rows = await ctx.database.db.selectFrom('export_shares').select(['id', 'export_id']).execute();
        expect(rows.find((r) => r.id === first.id)!.export_id).toBe(exportId);
        // Revoking through the wrong export does nothing.
        expect((await as('bob', 'DELETE', `/api/alpha/exports/${otherExportId}/shares/${first.id}`)).statusCode).toBe(404);
        expect((await as('alice', 'GET', `/api/share/${first.token}`)).statusCode).toBe(200);
        // carol (viewer, not the creator) cannot create or list; alice (project admin) can.
        expect((await as('carol', 'POST', `/api/alpha/exports/${exportId}/shares`, { access: 'members' })).statusCode).toBe(404);
        expect((await as('alice', 'GET', `/api/alpha/exports/${exportId}/shares`)).statusCode).toBe(200);
      });

      it('caps the expiry at the export’s own, validates input, and ends links when the export is deleted', async () => {
        const row = (await ctx.services.repos.exports.findById(exportId))!;
        const long = await share('bob', { access: 'members', expiresInDays: 365 });
        expect(long.expiresAt).toBe(row.expires_at);
        for (const [body, field] of [
          [{ access: 'everyone' }, 'access'],
          [{ access: 'members', expiresInDays: 0 }, 'expiresInDays'],
          [{ access: 'members', maxDownloads: -1 }, 'maxDownloads'],
          [{ access: 'members', extra: 1 }, 'body'],
        ] as const) {
          const res = await as('bob', 'POST', `/api/alpha/exports/${exportId}/shares`, body);
          expect(res.statusCode).toBe(400);
          expect(res.json().error.field).toBe(field);
        }
        const doomed = await share('bob', { access: 'members' }, otherExportId);
        expect((await as('bob', 'DELETE', `/api/alpha/exports/${otherExportId}`)).statusCode).toBe(204);
        expect((await as('alice', 'GET', `/api/share/${doomed.token}`)).statusCode).toBe(404);
      });
    });
  }
});

describe('share link guessing', () => {
  it('is rate limited per client', async () => {
    const ctx = await openTestContext(testDatabases()[0]!);
    const { buildHttpApp } = await import('../src/http/app.js');
    const app = await buildHttpApp(ctx.services, {
      logLevel: 'silent',
      sessionTtlMs: 3600_000,
      cookieSecure: false,
      trustProxy: false,
      loginRateLimitPerMinute: 10,
      shareGuessesPerMinute: 5,
      webRoot: '/nonexistent',
      version: 'test',
    });
    try {
      const codes: number[] = [];
      for (let i = 0; i < 7; i++) codes.push((await app.inject({ method: 'GET', url: `/api/share/${'a'.repeat(40)}${i}` })).statusCode);
      expect(codes).toEqual([404, 404, 404, 404, 404, 429, 429]);
    } finally {
      await app.close();
      await ctx.close();
    }
  });
});
