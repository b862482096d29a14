import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openTestApp, openTestContext, login, type TestContext } from '../helpers/context.js';
import { testDatabases } from '../helpers/databases.js';
import { addFile } from '../helpers/exports.js';
import { PASSWORD, seedWorld, type World } from '../helpers/world.js';

describe.each(testDatabases())('export API rules on $name', (database) => {
  let ctx: TestContext;
  let app: FastifyInstance;
  let world: World;
  const sessions: Record<string, { cookie: string; csrf: string }> = {};

  beforeAll(async () => {
    ctx = await openTestContext(database, { maxActivePerUser: 2, maxPatients: 6, userQuotaBytes: 10_000 });
    world = await seedWorld(ctx.services);
    for (const patient of ['a1', 'base1', 'base2', 'basePrivateBob', 'baseDebug', 'follow1', 'b1', 'beta1']) {
      await addFile(ctx.services, ctx.blobs, { patientId: world.patients[patient]!, modality: 'cbct', name: 'scan.nii', content: Buffer.alloc(1000, 1) });
    }
    await addFile(ctx.services, ctx.blobs, { patientId: world.patients.base1!, modality: 'ios', kind: 'processed', name: 'upper.stl', content: 'mesh' });
    app = await openTestApp(ctx);
    for (const user of ['alice', 'bob', 'carol', 'dave', 'erin']) sessions[user] = await login(app, user, PASSWORD);
  });
  afterAll(async () => {
    await app?.close();
    await ctx?.close();
  });

  const post = (user: string, url: string, payload: unknown) =>
    app.inject({ method: 'POST', url, payload: payload as object, headers: { cookie: sessions[user]!.cookie, 'x-csrf-token': sessions[user]!.csrf } });
  const body = (over: Record<string, unknown> = {}) => ({
    selection: { folderIds: [world.folders.baseline.id] },
    modalities: ['cbct'],
    include: { raw: true, processed: false },
    ...over,
  });
  const exportCount = async () => (await ctx.database.db.selectFrom('dataset_exports').select('id').execute()).length;

  it('estimates per modality with counts limited to what the caller may see', async () => {
    const bob = await post('bob', '/api/alpha/exports/estimate', body({ modalities: ['cbct', 'ios'], include: { raw: true, processed: true } }));
    expect(bob.statusCode, bob.body).toBe(200);
    // Baseline for bob: base1, base2, basePrivateBob (his own); not the debug patient.
    expect(bob.json()).toMatchObject({ patientCount: 3, fileCount: 4, totalBytes: 3004 });
    expect(bob.json().perModality).toEqual(
      expect.arrayContaining([
        { modality: 'cbct', patientCount: 3, fileCount: 3, totalBytes: 3000 },
        { modality: 'ios', patientCount: 1, fileCount: 1, totalBytes: 4 },
      ]),
    );
    const dave = await post('dave', '/api/alpha/exports/estimate', body({ selection: { folderIds: [world.folders.baseline.id], tags: ['class-ii'] } }));
    expect(dave.json()).toMatchObject({ patientCount: 1, fileCount: 1 });
  });

  it('estimates the selection alone while no modality or kind is chosen yet', async () => {
    for (const over of [{ modalities: [] }, { include: { raw: false, processed: false } }]) {
      const res = await post('bob', '/api/alpha/exports/estimate', body(over));
      expect(res.statusCode, res.body).toBe(200);
      expect(res.json()).toMatchObject({ selectedPatientCount: 3, patientCount: 0, fileCount: 0, totalBytes: 0, perModality: [] });
    }
  });

  it('filters the list by several statuses at once', async () => {
    const res = await app.inject({ method: 'GET', url: '/api/alpha/exports?status=pending,processing&all=true', headers: { cookie: sessions.alice!.cookie } });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json().items.every((i: { status: string }) => ['pending', 'processing'].includes(i.status))).toBe(true);
    const bad = await app.inject({ method: 'GET', url: '/api/alpha/exports?status=pending,done', headers: { cookie: sessions.alice!.cookie } });
    expect(bad.statusCode).toBe(400);
  });

  it.each([
    ['a number for the name', () => body({ name: 5 }), 'name'],
    ['modalities as a string', () => body({ modalities: 'cbct' }), 'modalities'],
    ['no modalities', () => body({ modalities: [] }), 'modalities'],
    ['an unknown modality', () => body({ modalities: ['cbct', 'mri'] }), 'modalities'],
    ['neither raw nor processed', () => body({ include: { raw: false, processed: false } }), 'include'],
    ['include missing', () => ({ selection: { folderIds: [world.folders.baseline.id] }, modalities: ['cbct'] }), 'include'],
    ['an empty selection', () => body({ selection: {} }), 'selection'],
    ['a folder id that is not an id', () => body({ selection: { folderIds: ['x'] } }), 'selection.folderIds.0'],
    ['an unknown field', () => body({ extra: true }), 'body'],
    ['a huge array', () => body({ selection: { patientIds: Array.from({ length: 10_001 }, () => '00000000-0000-4000-8000-000000000000') } }), 'selection.patientIds'],
    ['a name with a slash', () => body({ name: 'a/b' }), 'name'],
    ['a name of 101 characters', () => body({ name: 'é'.repeat(101) }), 'name'],
    ['a patient of another project', () => body({ selection: { patientIds: [world.patients.beta1!] } }), 'selection.patientIds'],
  ])('refuses %s with a 4xx naming the field, creating nothing', async (_label, payload, field) => {
    // Payloads are built when the test runs, once the world (and its ids) exists.
    const fixed = payload();
    const before = await exportCount();
    const res = await post('alice', '/api/alpha/exports/create/', fixed);
    expect(res.statusCode, res.body).toBeGreaterThanOrEqual(400);
    expect(res.statusCode).toBeLessThan(500);
    expect(res.json().error.field).toBe(field);
    expect(res.json().error.message.length).toBeGreaterThan(5);
    expect(await exportCount()).toBe(before);
  });

  it('refuses a whole selection containing a patient the caller may not see', async () => {
    const before = await exportCount();
    for (const patient of ['baseDebug', 'baseDeleted', 'follow1']) {
      const res = await post('dave', '/api/alpha/exports/create/', body({ selection: { patientIds: [world.patients.base1, world.patients[patient]] } }));
      expect(res.statusCode, patient).toBe(400);
      expect(res.json().error).toMatchObject({ code: 'patient_not_found', field: 'selection.patientIds' });
    }
    const folder = await post('dave', '/api/alpha/exports/create/', body({ selection: { folderIds: [world.folders.studyB.id] } }));
    expect(folder.json().error).toMatchObject({ code: 'folder_not_found', field: 'selection.folderIds' });
    expect(await exportCount()).toBe(before);
  });

  it('handles the largest allowed id lists without a database error', async () => {
    const many = Array.from({ length: 10_000 }, (_, i) => `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`);
    const estimate = await post('alice', '/api/alpha/exports/estimate', body({ selection: { folderIds: [world.folders.baseline.id], excludePatientIds: many } }));
    expect(estimate.statusCode, estimate.body).toBe(200);
    const refused = await post('alice', '/api/alpha/exports/create/', body({ selection: { patientIds: many, excludePatientIds: many } }));
    expect(refused.statusCode).toBe(400);
    expect(refused.json().error.code).toBe('patient_not_found');
  });

  it('lets viewers browse but not export, and hides other projects', async () => {
    const viewer = await post('carol', '/api/alpha/exports/create/', body());
    expect(viewer.statusCode).toBe(403);
    expect((await post('carol', '/api/alpha/exports/estimate', body())).statusCode).toBe(403);
    const outsider = await post('erin', '/api/alpha/exports/create/', body());
    expect(outsider.statusCode).toBe(404);
  });

  it('enforces the patient limit, the active export limit and the storage quota', async () => {
    const tooMany = await post('alice', '/api/alpha/exports/create/', body({ selection: { folderIds: [world.folders.studyA.id, world.folders.studyB.id] } }));
    expect(tooMany.statusCode).toBe(400);
    expect(tooMany.json().error.code).toBe('too_many_patients');

    const first = await post('bob', '/api/alpha/exports/create/', body({ selection: { patientIds: [world.patients.base1] } }));
    const second = await post('bob', '/api/alpha/exports/create/', body({ selection: { patientIds: [world.patients.base2] } }));
    expect([first.statusCode, second.statusCode]).toEqual([202, 202]);
    const third = await post('bob', '/api/alpha/exports/create/', body({ selection: { patientIds: [world.patients.a1] } }));
    expect(third.statusCode).toBe(409);
    expect(third.json().error.code).toBe('too_many_active');

    // 10,000-byte quota: alice's pending exports count against it as well.
    const big = await post('alice', '/api/alpha/exports/create/', body({ selection: { folderIds: [world.folders.studyA.id] } }));
    expect(big.statusCode, big.body).toBe(202);
    const over = await post('alice', '/api/alpha/exports/create/', body({ selection: { folderIds: [world.folders.studyA.id] } }));
    expect(over.statusCode).toBe(409);
    expect(over.json().error.code).toBe('quota_exceeded');
    expect(over.json().error.message).toMatch(/quota/);
  });

  it('refuses exports larger than the server allows or than the free disk can hold', async () => {
    const small = await openTestContext(database, { maxBytes: 1500 });
    const world2 = await seedWorld(small.services);
    for (const p of ['base1', 'base2']) await addFile(small.services, small.blobs, { patientId: world2.patients[p]!, modality: 'cbct', name: 'scan.nii', content: Buffer.alloc(1000, 1) });
    const alice = { userId: world2.users.alice!, isSiteAdmin: false };
    const request = { selection: { folderIds: [world2.folders.baseline.id] }, modalities: ['cbct'], include: { raw: true, processed: false } };
    try {
      await expect(small.services.exports.create(alice, 'alpha', request, {})).rejects.toMatchObject({ code: 'export_too_large', field: 'selection' });
      const estimate = await small.services.exports.estimate(alice, 'alpha', request);
      expect(estimate.warnings.map((w) => w.code)).toContain('export_too_large');
      // A reserve bigger than any disk: nothing can be queued, and the refusal says why.
      const full = await openTestContext(database, { diskReserveBytes: Number.MAX_SAFE_INTEGER });
      try {
        const world3 = await seedWorld(full.services);
        await addFile(full.services, full.blobs, { patientId: world3.patients.base1!, modality: 'cbct', name: 'scan.nii', content: 'x' });
        await expect(
          full.services.exports.create({ userId: world3.users.alice!, isSiteAdmin: false }, 'alpha', { ...request, selection: { patientIds: [world3.patients.base1!] } }, {}),
        ).rejects.toMatchObject({ kind: 'insufficient_storage', message: expect.stringMatching(/does not have room/) });
        expect(await full.database.db.selectFrom('dataset_exports').select('id').execute()).toEqual([]);
      } finally {
        await full.close();
      }
    } finally {
      await small.close();
    }
  });

  it('lists, shows, cancels, retries and deletes exports for their creator and project admins only', async () => {
    const created = await post('bob', '/api/alpha/exports/create/', body({ selection: { patientIds: [world.patients.base2] } }));
    // bob may already have two active exports from the previous test: cancel them first.
    const list = await app.inject({ method: 'GET', url: '/api/alpha/exports', headers: { cookie: sessions.bob!.cookie } });
    for (const item of list.json().items.filter((i: { status: string }) => i.status === 'pending')) {
      await post('bob', `/api/alpha/exports/${item.id}/cancel`, {});
    }
    const retried = created.statusCode === 202 ? created : await post('bob', '/api/alpha/exports/create/', body({ selection: { patientIds: [world.patients.base2] } }));
    expect(retried.statusCode, retried.body).toBe(202);
    const id = retried.json().id;

    const asDave = await app.inject({ method: 'GET', url: `/api/alpha/exports/${id}`, headers: { cookie: sessions.dave!.cookie } });
    expect(asDave.statusCode).toBe(404);
    const asAlice = await app.inject({ method: 'GET', url: `/api/alpha/exports/${id}`, headers: { cookie: sessions.alice!.cookie } });
    expect(asAlice.statusCode).toBe(200);
    expect(asAlice.json()).toMatchObject({ status: 'pending', createdBy: { username: 'bob' }, progress: { percent: 0 } });
    const allForBob = await app.inject({ method: 'GET', url: '/api/alpha/exports?all=true', headers: { cookie: sessions.bob!.cookie } });
    expect(allForBob.statusCode).toBe(403);
    const allForAlice = await app.inject({ method: 'GET', url: '/api/alpha/exports?all=true&status=pending', headers: { cookie: sessions.alice!.cookie } });
    expect(allForAlice.json().items.map((i: { id: string }) => i.id)).toContain(id);

    const cancelled = await post('bob', `/api/alpha/exports/${id}/cancel`, {});
    expect(cancelled.statusCode).toBe(200);
    expect(cancelled.json().status).toBe('cancelled');
    expect((await post('bob', `/api/alpha/exports/${id}/cancel`, {})).statusCode).toBe(409);
    const download = await app.inject({ method: 'GET', url: `/api/alpha/exports/${id}/download`, headers: { cookie: sessions.bob!.cookie } });
    expect(download.statusCode).toBe(409);
    expect(download.json().error.code).toBe('not_ready');

    const again = await post('bob', `/api/alpha/exports/${id}/retry`, {});
    expect(again.statusCode).toBe(200);
    expect(again.json()).toMatchObject({ status: 'pending', errorMessage: null });
    expect((await post('bob', `/api/alpha/exports/${id}/retry`, {})).statusCode).toBe(409);

    const deleted = await app.inject({ method: 'DELETE', url: `/api/alpha/exports/${id}`, headers: { cookie: sessions.bob!.cookie, 'x-csrf-token': sessions.bob!.csrf } });
    expect(deleted.statusCode).toBe(204);
    expect((await app.inject({ method: 'GET', url: `/api/alpha/exports/${id}`, headers: { cookie: sessions.bob!.cookie } })).statusCode).toBe(404);
    const actions = (await ctx.services.repos.audit.recent({ limit: 500 })).filter((a) => a.target_id === id).map((a) => a.action);
    expect(actions).toEqual(expect.arrayContaining(['export.created', 'export.cancelled', 'export.retried', 'export.deleted']));
  });

  it('answers unknown and malformed export ids clearly', async () => {
    const unknown = await app.inject({ method: 'GET', url: '/api/alpha/exports/00000000-0000-4000-8000-000000000000', headers: { cookie: sessions.alice!.cookie } });
    expect(unknown.statusCode).toBe(404);
    const malformed = await app.inject({ method: 'GET', url: '/api/alpha/exports/123', headers: { cookie: sessions.alice!.cookie } });
    expect(malformed.statusCode).toBe(400);
    expect(malformed.json().error.field).toBe('id');
    const badStatus = await app.inject({ method: 'GET', url: '/api/alpha/exports?status=done', headers: { cookie: sessions.alice!.cookie } });
    expect(badStatus.json().error.field).toMatch(/^status/);
  });
});
