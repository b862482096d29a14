import fs from 'node:fs';
import path from 'node:path';
import { simpleParser } from 'mailparser';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { OutboxMailer } from '../src/adapters/mail/outbox-mailer.js';
import { SmtpMailer } from '../src/adapters/mail/smtp-mailer.js';
import type { Mailer } from '../src/adapters/mail/mailer.js';
import type { Actor } from '../src/domain/policy.js';
import { NotificationService } from '../src/services/notification-service.js';
import { openTestContext, type TestContext } from './helpers/context.js';
import { testDatabases } from './helpers/databases.js';
import { addFile, waitForStatus } from './helpers/exports.js';
import { startSmtpServer, type SmtpTestServer } from './helpers/smtp.js';
import { seedWorld, type World } from './helpers/world.js';
import { ExportPipeline } from '../src/jobs/export-pipeline.js';
import { ExportWorker } from '../src/jobs/export-worker.js';
import { storageSpaceOf } from '../src/services/index.js';

const REQUEST = { modalities: ['cbct'], include: { raw: true, processed: false } };

describe.each(testDatabases())('export emails on $name', (database) => {
  let ctx: TestContext;
  let world: World;
  let smtp: SmtpTestServer | undefined;
  let worker: ExportWorker | undefined;
  let bob: Actor;

  beforeEach(async () => {
    ctx = await openTestContext(database);
    world = await seedWorld(ctx.services);
    bob = { userId: world.users.bob!, isSiteAdmin: false };
    await addFile(ctx.services, ctx.blobs, { patientId: world.patients.base1!, modality: 'cbct', name: 'scan.nii', content: Buffer.alloc(2048, 1) });
  });
  afterEach(async () => {
    await worker?.stop();
    worker = undefined;
    await smtp?.close();
    smtp = undefined;
    await ctx?.close();
  });

  function startWorkerWith(mailer: Mailer, retryBaseMs = 50) {
    const notifier = new NotificationService(ctx.services.repos, mailer, { publicUrl: 'https://cohort.lab.example/', maxAttempts: 3, retryBaseMs });
    const pipeline = new ExportPipeline(ctx.services.repos, ctx.blobs, storageSpaceOf(ctx.blobs), {
      workerId: 'mail-test',
      appVersion: 'test',
      retentionDays: 7,
      diskReserveBytes: 0,
      heartbeatIntervalMs: 100,
    });
    worker = new ExportWorker(ctx.services.repos, ctx.blobs, ctx.queue, pipeline, {
      workerId: 'mail-test',
      concurrency: 1,
      heartbeatTimeoutMs: 30_000,
      sweepIntervalMs: 100,
      notifier,
    });
    return worker.start();
  }

  async function waitForNotification(id: string, statuses: string[]) {
    const deadline = Date.now() + 15_000;
    for (;;) {
      const row = (await ctx.services.repos.exports.findById(id))!;
      if (statuses.includes(row.notification_status)) return row;
      if (Date.now() > deadline) throw new Error(`notification of ${id} is ${row.notification_status}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  it('emails the creator when an export completes, with counts, size and links', async () => {
    smtp = await startSmtpServer();
    await startWorkerWith(new SmtpMailer(smtp.url, 'Cohort <cohort@lab.example>'));
    const { id } = await ctx.services.exports.create(bob, 'alpha', { ...REQUEST, name: 'Baseline scans', selection: { patientIds: [world.patients.base1!] } }, {});
    await waitForStatus(ctx.services, id, ['completed']);
    const row = await waitForNotification(id, ['sent', 'failed']);
    expect(row.notification_status).toBe('sent');
    expect(row.notified_at).not.toBeNull();
    expect(smtp.messages).toHaveLength(1);
    const mail = smtp.messages[0]!;
    expect(smtp.recipients[0]).toEqual(['bob@lab.test']);
    expect(mail.from?.text).toContain('cohort@lab.example');
    expect(mail.subject).toBe('Export ready: Baseline scans');
    expect(mail.text).toContain('Hello BOB,');
    expect(mail.text).toContain('1 patient, 1 file');
    expect(mail.text).toContain(`https://cohort.lab.example/api/alpha/exports/${id}/download`);
    expect(mail.text).toContain(`https://cohort.lab.example/p/alpha/exports?highlight=${id}`);
    expect(mail.html).toContain(`href="https://cohort.lab.example/api/alpha/exports/${id}/download"`);
    const view = await ctx.services.exports.get(bob, 'alpha', id);
    expect(view.notification).toMatchObject({ status: 'sent', error: null });
  });

  it('emails the reason in plain words when an export fails, and nothing when one is cancelled', async () => {
    smtp = await startSmtpServer();
    const file = await addFile(ctx.services, ctx.blobs, { patientId: world.patients.base2!, modality: 'cbct', name: 'lost.nii', content: 'x' });
    await ctx.blobs.delete(file.storageKey);
    const cancelled = await ctx.services.exports.create(bob, 'alpha', { ...REQUEST, selection: { patientIds: [world.patients.base1!] } }, {});
    await ctx.services.exports.cancel(bob, 'alpha', cancelled.id, {});
    const failing = await ctx.services.exports.create(bob, 'alpha', { ...REQUEST, name: 'Broken', selection: { patientIds: [world.patients.base2!] } }, {});
    await startWorkerWith(new SmtpMailer(smtp.url, 'cohort@lab.example'));
    await waitForStatus(ctx.services, failing.id, ['failed']);
    await waitForNotification(failing.id, ['sent']);
    expect(smtp.messages).toHaveLength(1);
    expect(smtp.messages[0]!.subject).toBe('Export failed: Broken');
    expect(smtp.messages[0]!.text).toMatch(/Why: The file "cbct\/lost\.nii" \(patient_001\) is missing from storage/);
    expect(smtp.messages[0]!.text).toContain(`https://cohort.lab.example/p/alpha/exports?highlight=${failing.id}`);
    expect((await ctx.services.repos.exports.findById(cancelled.id))!.notification_status).toBe('none');
  });

  it('retries a refusing server with backoff, then gives up, without touching the export', async () => {
    smtp = await startSmtpServer({ refuse: true });
    await startWorkerWith(new SmtpMailer(smtp.url, 'cohort@lab.example'), 30);
    const { id } = await ctx.services.exports.create(bob, 'alpha', { ...REQUEST, selection: { patientIds: [world.patients.base1!] } }, {});
    const done = await waitForStatus(ctx.services, id, ['completed', 'failed']);
    expect(done.status).toBe('completed');
    const row = await waitForNotification(id, ['failed']);
    expect(row.notification_attempts).toBe(3);
    expect(row.notification_error).toMatch(/550|Mailbox unavailable/);
    expect((await ctx.services.repos.exports.findById(id))!.status).toBe('completed');
    expect(smtp.messages).toHaveLength(0);
  });

  it('sends nothing to a user who turned export emails off', async () => {
    smtp = await startSmtpServer();
    await ctx.services.auth.updateSettings(bob.userId, { exportEmails: false }, {});
    expect(await ctx.services.auth.settings(bob.userId)).toEqual({ exportEmails: false });
    await startWorkerWith(new SmtpMailer(smtp.url, 'cohort@lab.example'));
    const { id } = await ctx.services.exports.create(bob, 'alpha', { ...REQUEST, selection: { patientIds: [world.patients.base1!] } }, {});
    await waitForStatus(ctx.services, id, ['completed']);
    expect((await waitForNotification(id, ['skipped', 'sent'])).notification_status).toBe('skipped');
    expect(smtp.messages).toHaveLength(0);
  });

  it('writes .eml files to the outbox when no SMTP server is configured', async () => {
    const outbox = path.join(ctx.dir, 'outbox');
    await startWorkerWith(new OutboxMailer(outbox, 'Cohort <cohort@localhost>'));
    const { id } = await ctx.services.exports.create(bob, 'alpha', { ...REQUEST, name: 'To the outbox', selection: { patientIds: [world.patients.base1!] } }, {});
    await waitForStatus(ctx.services, id, ['completed']);
    await waitForNotification(id, ['sent']);
    const files = fs.readdirSync(outbox).filter((f) => f.endsWith('.eml'));
    expect(files).toHaveLength(1);
    const mail = await simpleParser(fs.readFileSync(path.join(outbox, files[0]!)));
    expect(mail.subject).toBe('Export ready: To the outbox');
    expect(mail.to && 'text' in mail.to ? mail.to.text : '').toBe('bob@lab.test');
  });
});
