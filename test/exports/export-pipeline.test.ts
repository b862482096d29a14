import fs from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ExportWorker } from '../../src/jobs/export-worker.js';
import type { Actor } from '../../src/domain/policy.js';
import { openTestContext, type TestContext } from '../helpers/context.js';
import { testDatabases } from '../helpers/databases.js';
import { addFile, startWorker, waitForStatus } from '../helpers/exports.js';
import { startS3TestServer, type S3TestServer } from '../helpers/s3.js';
import { ThrottledBlobStore } from '../helpers/throttled-blob-store.js';
import { seedWorld, type World } from '../helpers/world.js';
import { unpack, verifyZipWithTools } from '../helpers/zip-tools.js';

const REQUEST = { modalities: ['cbct'], include: { raw: true, processed: false } };

describe.each(testDatabases())('export pipeline on $name', (database) => {
  let ctx: TestContext;
  let world: World;
  let alice: Actor;
  let worker: ExportWorker | undefined;

  beforeEach(async () => {
    ctx = await openTestContext(database);
    world = await seedWorld(ctx.services);
    alice = { userId: world.users.alice!, isSiteAdmin: false };
  });
  afterEach(async () => {
    await worker?.stop();
    worker = undefined;
    await ctx?.close();
  });

  const zipKeys = async (id: string) => {
    const keys: string[] = [];
    for await (const key of ctx.blobs.list(`exports/${id}/`)) keys.push(key);
    return keys;
  };

  it('cancels a running export within about two seconds and leaves no partial ZIP', async () => {
    for (let i = 0; i < 4; i++) {
      await addFile(ctx.services, ctx.blobs, { patientId: world.patients.base1!, modality: 'cbct', name: `scan_${i}.nii`, content: Buffer.alloc(2 * 1024 * 1024, i) });
    }
    worker = startWorker(ctx.services, new ThrottledBlobStore(ctx.blobs, 15), ctx.queue);
    await worker.start();
    const { id } = await ctx.services.exports.create(alice, 'alpha', { ...REQUEST, selection: { patientIds: [world.patients.base1!] } }, {});
    const deadline = Date.now() + 10_000;
    while ((await ctx.services.repos.exports.findById(id))!.bytes_done === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    const running = (await ctx.services.repos.exports.findById(id))!;
    expect(running.status).toBe('processing');
    expect(running.bytes_done).toBeGreaterThan(0);

    const asked = Date.now();
    const view = await ctx.services.exports.cancel(alice, 'alpha', id, {});
    expect(view.cancelRequested).toBe(true);
    const done = await waitForStatus(ctx.services, id, ['cancelled', 'completed', 'failed'], 5000);
    expect(done.status).toBe('cancelled');
    expect(Date.now() - asked).toBeLessThan(2500);
    expect(await zipKeys(id)).toEqual([]);
    const partials = fs.existsSync(path.join(ctx.dir, 'blobs/.partial')) ? fs.readdirSync(path.join(ctx.dir, 'blobs/.partial')) : [];
    expect(partials).toEqual([]);
  });

  it('fails with a message naming the patient folder and file when a stored file is damaged', async () => {
    const file = await addFile(ctx.services, ctx.blobs, { patientId: world.patients.base1!, modality: 'cbct', name: 'scan.nii', content: Buffer.alloc(4096, 7) });
    await ctx.blobs.put(file.storageKey, Readable.from([Buffer.alloc(4096, 8)]));
    worker = startWorker(ctx.services, ctx.blobs, ctx.queue);
    await worker.start();
    const { id } = await ctx.services.exports.create(alice, 'alpha', { ...REQUEST, selection: { patientIds: [world.patients.base1!] } }, {});
    const failed = await waitForStatus(ctx.services, id, ['failed', 'completed']);
    expect(failed.status).toBe('failed');
    expect(failed.error_message).toMatch(/"cbct\/scan\.nii" \(patient_001\) does not match its registered checksum/);
    expect(failed.error_detail).toMatch(/expected sha256 [0-9a-f]{64}/);
    expect(await zipKeys(id)).toEqual([]);
    const audit = await ctx.services.repos.audit.recent({ action: 'export.failed' });
    expect(audit[0]!.target_id).toBe(id);
  });

  it('fails clearly when a stored file is missing or has another size', async () => {
    const missing = await addFile(ctx.services, ctx.blobs, { patientId: world.patients.base1!, modality: 'cbct', name: 'gone.nii', content: 'bytes' });
    await ctx.blobs.delete(missing.storageKey);
    const resized = await addFile(ctx.services, ctx.blobs, { patientId: world.patients.base2!, modality: 'cbct', name: 'short.nii', content: 'twelve bytes' });
    await ctx.blobs.put(resized.storageKey, Readable.from([Buffer.from('six b')]));
    worker = startWorker(ctx.services, ctx.blobs, ctx.queue);
    await worker.start();
    const a = await ctx.services.exports.create(alice, 'alpha', { ...REQUEST, selection: { patientIds: [world.patients.base1!] } }, {});
    const b = await ctx.services.exports.create(alice, 'alpha', { ...REQUEST, selection: { patientIds: [world.patients.base2!] } }, {});
    expect((await waitForStatus(ctx.services, a.id, ['failed', 'completed'])).error_message).toMatch(/"cbct\/gone\.nii" \(patient_001\) is missing from storage/);
    expect((await waitForStatus(ctx.services, b.id, ['failed', 'completed'])).error_message).toMatch(/"cbct\/short\.nii" \(patient_001\) does not (have the size registered|match its registered checksum)/);
  });

  it('re-checks access when the job runs: a deleted patient is skipped and listed, lost access fails the export', async () => {
    await addFile(ctx.services, ctx.blobs, { patientId: world.patients.base1!, modality: 'cbct', name: 'a.nii', content: 'a' });
    await addFile(ctx.services, ctx.blobs, { patientId: world.patients.base2!, modality: 'cbct', name: 'b.nii', content: 'b' });
    const bob: Actor = { userId: world.users.bob!, isSiteAdmin: false };
    const skipped = await ctx.services.exports.create(alice, 'alpha', { ...REQUEST, selection: { folderIds: [world.folders.baseline.id] } }, {});
    const revoked = await ctx.services.exports.create(bob, 'alpha', { ...REQUEST, selection: { patientIds: [world.patients.base1!] } }, {});
    await ctx.database.db.updateTable('patients').set({ deleted_at: new Date().toISOString() }).where('id', '=', world.patients.base2!).execute();
    await ctx.services.admin.addMember({ projectSlug: 'alpha', username: 'bob', role: 'viewer' });

    worker = startWorker(ctx.services, ctx.blobs, ctx.queue);
    await worker.start();
    const done = await waitForStatus(ctx.services, skipped.id, ['completed', 'failed']);
    expect(done.status).toBe('completed');
    expect(JSON.parse(done.skipped)).toEqual([{ patientFolder: 'patient_002', reason: 'deleted after the export was created' }]);
    const failed = await waitForStatus(ctx.services, revoked.id, ['completed', 'failed']);
    expect(failed.status).toBe('failed');
    expect(failed.error_message).toMatch(/can no longer export from this project/);

    const zip = path.join(ctx.dir, 'skipped.zip');
    fs.writeFileSync(zip, Buffer.concat(await (await ctx.blobs.get(done.zip_key!)).toArray()));
    const { names } = await verifyZipWithTools(zip);
    expect(names.some((n) => n.includes('patient_002/'))).toBe(false);
    const out = path.join(ctx.dir, 'skipped');
    await unpack(zip, out);
    const metadata = JSON.parse(fs.readFileSync(path.join(out, done.name, 'metadata.json'), 'utf8'));
    expect(metadata.summary.skippedPatients).toEqual([{ patientFolder: 'patient_002', reason: 'deleted after the export was created' }]);
  });

  it('keeps names, codes and ids out of a pseudonymised ZIP; project admins get the mapping', async () => {
    await addFile(ctx.services, ctx.blobs, { patientId: world.patients.base1!, modality: 'cbct', name: 'scan.nii', content: 'volume' });
    await addFile(ctx.services, ctx.blobs, { patientId: world.patients.base2!, modality: 'cbct', name: 'scan.nii', content: 'volume 2' });
    worker = startWorker(ctx.services, ctx.blobs, ctx.queue);
    await worker.start();
    const bob: Actor = { userId: world.users.bob!, isSiteAdmin: false };
    const { id } = await ctx.services.exports.create(
      bob,
      'alpha',
      { ...REQUEST, selection: { folderIds: [world.folders.baseline.id], patientIds: [world.patients.base1!] }, options: { pseudonymize: true } },
      {},
    );
    const row = await waitForStatus(ctx.services, id, ['completed', 'failed']);
    expect(row.status).toBe('completed');
    const zip = Buffer.concat(await (await ctx.blobs.get(row.zip_key!)).toArray());
    const zipFile = path.join(ctx.dir, 'pseudo.zip');
    fs.writeFileSync(zipFile, zip);
    const out = path.join(ctx.dir, 'pseudo');
    await unpack(zipFile, out);
    const metadataText = fs.readFileSync(path.join(out, row.name, 'metadata.json'), 'utf8');
    const everything = `${metadataText}\n${fs.readFileSync(path.join(out, row.name, 'SHA256SUMS'), 'utf8')}\n${(await verifyZipWithTools(zipFile)).names.join('\n')}`;
    for (const secret of [world.patients.base1!, world.patients.base2!, 'C-base1', 'C-base2', '"base1"', '"base2"', world.folders.baseline.id, 'Study A/Baseline']) {
      expect(everything).not.toContain(secret);
    }
    const metadata = JSON.parse(metadataText);
    // basePrivateBob (bob's own, in the folder) has no CBCT file, so only two patients are exported.
    expect(metadata.patients.map((p: { folder: string }) => p.folder)).toEqual(['patient_001', 'patient_002']);
    expect(metadata.criteria.selection).toMatchObject({ folderCount: 1, patientCount: 1 });

    await expect(ctx.services.exports.pseudonymMapping(bob, 'alpha', id)).rejects.toThrow(/Only project admins/);
    const csv = await ctx.services.exports.pseudonymMapping(alice, 'alpha', id);
    expect(csv.split(/\r?\n/)[0]).toBe('folder,patient_id,code,name');
    expect(csv).toContain(`patient_001,${world.patients.base1},C-base1,base1`);
  });

  it('marks exports expired after their retention and removes the ZIP', async () => {
    await addFile(ctx.services, ctx.blobs, { patientId: world.patients.base1!, modality: 'cbct', name: 'scan.nii', content: 'volume' });
    worker = startWorker(ctx.services, ctx.blobs, ctx.queue);
    await worker.start();
    const { id } = await ctx.services.exports.create(alice, 'alpha', { ...REQUEST, selection: { patientIds: [world.patients.base1!] } }, {});
    await waitForStatus(ctx.services, id, ['completed']);
    expect(await zipKeys(id)).toHaveLength(1);
    await ctx.services.repos.exports.update(id, { expires_at: new Date(Date.now() - 1000).toISOString() });
    await worker.sweep();
    expect((await ctx.services.repos.exports.findById(id))!.status).toBe('expired');
    expect(await zipKeys(id)).toEqual([]);
    await expect(ctx.services.exports.download(alice, 'alpha', id, null, {})).rejects.toThrow(/expired/);
  });

  it('hands a stale export (its worker stopped responding) back to the queue, and fails it after its attempts', async () => {
    await addFile(ctx.services, ctx.blobs, { patientId: world.patients.base1!, modality: 'cbct', name: 'scan.nii', content: 'volume' });
    const { id } = await ctx.services.exports.create(alice, 'alpha', { ...REQUEST, selection: { patientIds: [world.patients.base1!] } }, {});
    // Another export already interrupted as often as it may be: its next claim fails it instead of trying forever.
    const exhausted = await ctx.services.exports.create(alice, 'alpha', { ...REQUEST, selection: { patientIds: [world.patients.base1!] } }, {});
    await ctx.services.repos.exports.update(exhausted.id, { attempt: 3, attempt_limit: 3 });
    const old = new Date(Date.now() - 120_000).toISOString();
    // A worker that claimed it and died: processing, no heartbeat for two minutes, a partial ZIP left.
    await ctx.services.repos.exports.claim(id, 'dead-worker', old);
    await ctx.blobs.put(`exports/${id}/attempt-1.zip`, Readable.from([Buffer.from('partial')]));
    // What a killed local write leaves: a partial file nobody has touched for an hour.
    const partials = path.join(ctx.dir, 'blobs/.partial');
    fs.mkdirSync(partials, { recursive: true });
    fs.writeFileSync(path.join(partials, 'left-by-a-dead-worker'), 'half a zip');
    const anHourAgo = new Date(Date.now() - 3600_000);
    fs.utimesSync(path.join(partials, 'left-by-a-dead-worker'), anHourAgo, anHourAgo);
    worker = startWorker(ctx.services, ctx.blobs, ctx.queue, { heartbeatTimeoutMs: 60_000 });
    await worker.start();
    const row = await waitForStatus(ctx.services, id, ['completed', 'failed']);
    expect(row).toMatchObject({ status: 'completed', attempt: 2 });
    expect(await zipKeys(id)).toEqual([`exports/${id}/attempt-2.zip`]);
    expect(fs.readdirSync(partials)).toEqual([]);

    const failed = await waitForStatus(ctx.services, exhausted.id, ['completed', 'failed']);
    expect(failed.status).toBe('failed');
    expect(failed.error_message).toMatch(/interrupted 3 times/);
  });
});

describe.each(testDatabases())('export with S3 storage on $name', (database) => {
  let s3: S3TestServer;
  let ctx: TestContext;
  let worker: ExportWorker | undefined;
  beforeEach(async () => {
    s3 = await startS3TestServer();
    ctx = await openTestContext(database);
  });
  afterEach(async () => {
    await worker?.stop();
    await ctx?.close();
    await s3?.close();
  });

  it('reads the files from S3 and writes the ZIP to S3 (multipart), verified end to end', async () => {
    const world = await seedWorld(ctx.services);
    const big = Buffer.alloc(12 * 1024 * 1024);
    for (let i = 0; i < big.length; i += 4) big.writeUInt32LE((i * 2654435761) >>> 0, i);
    await addFile(ctx.services, s3.store, { patientId: world.patients.base1!, modality: 'cbct', name: 'big.nii', content: big });
    await addFile(ctx.services, s3.store, { patientId: world.patients.base2!, modality: 'cbct', name: 'small.nii.gz', content: 'small' });
    worker = startWorker(ctx.services, s3.store, ctx.queue);
    await worker.start();
    const alice: Actor = { userId: world.users.alice!, isSiteAdmin: false };
    const { id } = await ctx.services.exports.create(alice, 'alpha', { ...REQUEST, selection: { folderIds: [world.folders.baseline.id] }, options: { compression: 'store' } }, {});
    const row = await waitForStatus(ctx.services, id, ['completed', 'failed'], 30_000);
    expect(row.error_message).toBeNull();
    expect(row.status).toBe('completed');
    const stat = await s3.store.stat(row.zip_key!);
    expect(stat?.size).toBe(row.zip_size);
    const zipFile = path.join(ctx.dir, 's3.zip');
    fs.writeFileSync(zipFile, Buffer.concat(await (await s3.store.get(row.zip_key!)).toArray()));
    const { names } = await verifyZipWithTools(zipFile);
    expect(names.filter((n) => n.endsWith('.nii') || n.endsWith('.nii.gz'))).toHaveLength(2);
    const out = path.join(ctx.dir, 's3');
    await unpack(zipFile, out);
    expect(fs.readFileSync(path.join(out, row.name, 'patient_001/cbct/big.nii')).equals(big)).toBe(true);
    expect(await s3.pendingUploads()).toEqual([]);
  });
});
