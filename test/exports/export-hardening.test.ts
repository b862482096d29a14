import { randomBytes } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Actor } from '../../src/domain/policy.js';
import type { ExportWorker } from '../../src/jobs/export-worker.js';
import { ShareService } from '../../src/services/share-service.js';
import { openTestContext, type TestContext } from '../helpers/context.js';
import { testDatabases } from '../helpers/databases.js';
import { addFile, startWorker, waitForStatus } from '../helpers/exports.js';
import { ThrottledBlobStore } from '../helpers/throttled-blob-store.js';
import { seedWorld, type World } from '../helpers/world.js';

const REQUEST = { modalities: ['cbct'], include: { raw: true, processed: false } };

describe.each(testDatabases())('export access and limits under pressure on $name', (database) => {
  let ctx: TestContext;
  let world: World;
  let worker: ExportWorker | undefined;
  let alice: Actor;
  let bob: Actor;

  beforeEach(async () => {
    ctx = await openTestContext(database, { maxActivePerUser: 1 }, { sharePublicLinks: true });
    world = await seedWorld(ctx.services);
    alice = { userId: world.users.alice!, isSiteAdmin: false };
    bob = { userId: world.users.bob!, isSiteAdmin: false };
    for (const p of ['base1', 'base2', 'b1']) await addFile(ctx.services, ctx.blobs, { patientId: world.patients[p]!, modality: 'cbct', name: 'scan.nii', content: Buffer.alloc(5000, 4) });
  });
  afterEach(async () => {
    await worker?.stop();
    worker = undefined;
    await ctx?.close();
  });

  async function completedExport(actor: Actor, selection: object) {
    worker ??= startWorker(ctx.services, ctx.blobs, ctx.queue);
    await worker.start();
    const { id } = await ctx.services.exports.create(actor, 'alpha', { ...REQUEST, selection }, {});
    await waitForStatus(ctx.services, id, ['completed']);
    return id;
  }

  it('gives a site administrator who is only a viewer no access to other people’s exports', async () => {
    const id = await completedExport(alice, { folderIds: [world.folders.baseline.id] });
    await ctx.services.admin.addMember({ projectSlug: 'alpha', username: 'root', role: 'viewer' });
    const root: Actor = { userId: world.users.root!, isSiteAdmin: true };
    await expect(ctx.services.exports.list(root, 'alpha', { all: true, limit: 10, offset: 0 })).rejects.toMatchObject({ kind: 'forbidden' });
    await expect(ctx.services.exports.download(root, 'alpha', id, null, {})).rejects.toMatchObject({ kind: 'not_found' });
    await expect(ctx.services.exports.pseudonymMapping(root, 'alpha', id)).rejects.toMatchObject({ kind: 'not_found' });
    await expect(ctx.services.shares.create(root, 'alpha', id, { access: 'link' }, {})).rejects.toMatchObject({ kind: 'not_found' });
  });

  it('stops a creator whose access shrank after the build from downloading or sharing it', async () => {
    const id = await completedExport(bob, { patientIds: [world.patients.base1!] });
    const ok = await ctx.services.exports.download(bob, 'alpha', id, null, {});
    ok.stream.destroy();
    await ctx.services.admin.addMember({ projectSlug: 'alpha', username: 'bob', role: 'viewer' });
    await expect(ctx.services.exports.download(bob, 'alpha', id, null, {})).rejects.toMatchObject({ kind: 'forbidden', message: expect.stringMatching(/access .* changed/) });
    await expect(ctx.services.shares.create(bob, 'alpha', id, { access: 'members' }, {})).rejects.toMatchObject({ kind: 'forbidden' });
    // A member again, but the patient became someone else's private patient: still refused.
    await ctx.services.admin.addMember({ projectSlug: 'alpha', username: 'bob', role: 'member' });
    await ctx.database.db.updateTable('patients').set({ visibility: 'private', created_by: world.users.alice! }).where('id', '=', world.patients.base1!).execute();
    await expect(ctx.services.exports.download(bob, 'alpha', id, null, {})).rejects.toMatchObject({ kind: 'forbidden' });
    // Project admins keep access to every export of the project.
    const asAdmin = await ctx.services.exports.download(alice, 'alpha', id, null, {});
    asAdmin.stream.destroy();
  });

  it('keeps a share link’s download limit even against ranged requests, while a broken download can resume', async () => {
    // Large enough to arrive in several reads, and larger than the read-ahead slack.
    await addFile(ctx.services, ctx.blobs, { patientId: world.patients.base2!, modality: 'cbct', name: 'big.nii.gz', content: randomBytes(5 * 1024 * 1024) });
    const id = await completedExport(alice, { patientIds: [world.patients.base2!] });
    const { token } = await ctx.services.shares.create(alice, 'alpha', id, { access: 'link', maxDownloads: 1 }, {});
    const size = (await ctx.services.repos.exports.findById(id))!.zip_size!;
    // A download that breaks after 100 bytes, then resumes from there: one download in all.
    const first = await ctx.services.shares.download(token, null, null, {});
    const firstBytes: Buffer[] = [];
    await new Promise<void>((resolve) => {
      first.stream.on('data', (chunk: Buffer) => {
        firstBytes.push(chunk);
        first.stream.destroy();
        resolve();
      });
    });
    await new Promise((r) => setTimeout(r, 100));
    const sent = Buffer.concat(firstBytes).length;
    const rest = await ctx.services.shares.download(token, null, { start: sent }, {});
    const restBytes = Buffer.concat(await rest.stream.toArray());
    expect(sent + restBytes.length).toBe(size);
    // The allowance is now spent: whole, ranged and suffix requests are all refused.
    await expect(ctx.services.shares.download(token, null, { start: 1 }, {})).rejects.toMatchObject({ code: 'share_not_found' });
    await expect(ctx.services.shares.download(token, null, { end: size - 1 }, {})).rejects.toMatchObject({ code: 'share_not_found' });
    await expect(ctx.services.shares.download(token, null, null, {})).rejects.toMatchObject({ code: 'share_not_found' });
  });

  it('closes public links already handed out once public links are turned off', async () => {
    const id = await completedExport(alice, { patientIds: [world.patients.base1!] });
    const { token } = await ctx.services.shares.create(alice, 'alpha', id, { access: 'link' }, {});
    await expect(ctx.services.shares.info(token, null)).resolves.toMatchObject({ access: 'link' });
    const stricter = new ShareService(ctx.services.repos, ctx.services.exports, { publicUrl: 'https://cohort.lab.example', allowPublicLinks: false });
    await expect(stricter.info(token, null)).rejects.toMatchObject({ code: 'share_not_found' });
  });

  it('holds the active-export limit when one user sends many requests at once', async () => {
    const results = await Promise.allSettled(
      Array.from({ length: 5 }, () => ctx.services.exports.create(bob, 'alpha', { ...REQUEST, selection: { patientIds: [world.patients.base1!] } }, {})),
    );
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    for (const r of results.filter((r) => r.status === 'rejected')) expect((r as PromiseRejectedResult).reason).toMatchObject({ code: 'too_many_active' });
  });

  it('fails an export whose storage stops answering, with a message, instead of waiting forever', async () => {
    worker = startWorker(ctx.services, new ThrottledBlobStore(ctx.blobs, 60_000), ctx.queue, { stallTimeoutMs: 600 });
    await worker.start();
    const { id } = await ctx.services.exports.create(alice, 'alpha', { ...REQUEST, selection: { patientIds: [world.patients.base1!] } }, {});
    const row = await waitForStatus(ctx.services, id, ['failed', 'completed'], 10_000);
    expect(row.status).toBe('failed');
    expect(row.error_message).toMatch(/stopped making progress/);
  });

  it('does not complete an export cancelled while its last bytes were being stored', async () => {
    worker = startWorker(ctx.services, new ThrottledBlobStore(ctx.blobs, 0, 1500), ctx.queue);
    await worker.start();
    const { id } = await ctx.services.exports.create(alice, 'alpha', { ...REQUEST, selection: { patientIds: [world.patients.base1!] } }, {});
    const deadline = Date.now() + 10_000;
    while ((await ctx.services.repos.exports.findById(id))!.progress_phase !== 'finishing' && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    await ctx.services.exports.cancel(alice, 'alpha', id, {});
    const row = await waitForStatus(ctx.services, id, ['cancelled', 'completed']);
    expect(row.status).toBe('cancelled');
    expect(row.notification_status).toBe('none');
    const keys: string[] = [];
    for await (const key of ctx.blobs.list(`exports/${id}/`)) keys.push(key);
    expect(keys).toEqual([]);
  });
});
