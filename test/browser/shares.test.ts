import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Browser, BrowserContext, Locator, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Actor } from '../../src/domain/policy.js';
import type { ExportWorker } from '../../src/jobs/export-worker.js';
import { hasChromium, launchChromium, screenshot } from '../helpers/browser.js';
import { listenForBrowser, openBrowserTestContext, PASSWORD, type BrowserServer } from '../helpers/browser-server.js';
import type { TestContext } from '../helpers/context.js';
import { startWorker, waitForStatus } from '../helpers/exports.js';
import { verifyZipWithTools } from '../helpers/zip-tools.js';

const EXPORT_NAME = 'Shared cohort';
const TOKEN_URL = /^https:\/\/cohort\.lab\.example\/share\/([A-Za-z0-9_-]{43})$/;

/**
 * Share links and export emails against a real server, database and export worker, with links
 * that open without signing in allowed: create a link in the export details, open it in a
 * browser that is not signed in, download the ZIP, revoke it; a members link asks for a sign-in
 * and comes back; the email setting in the user menu. The tests run in order.
 */
describe.skipIf(!hasChromium)('share links and export emails in Chromium', () => {
  let ctx: TestContext;
  let server: BrowserServer;
  let browser: Browser;
  let page: Page;
  let worker: ExportWorker;
  let tmp: string;
  let exportId = '';
  let linkPath = '';
  const visitors: BrowserContext[] = [];

  beforeAll(async () => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cohort-shares-ui-'));
    let userIds: Map<string, string>;
    ({ ctx, userIds } = await openBrowserTestContext({
      sharePublicLinks: true,
      users: [
        { username: 'ada', displayName: 'Ada Lovelace' },
        { username: 'olga', displayName: 'Olga Outsider' },
      ],
      demo: { patients: 6, owner: 'ada' },
    }));

    worker = startWorker(ctx.services, ctx.blobs, ctx.queue);
    await worker.start();
    const ada: Actor = { userId: userIds.get('ada')!, isSiteAdmin: false };
    const tree = await ctx.services.browse.tree(ada, 'demo');
    const modalities = await ctx.services.browse.modalities(ada, 'demo');
    const created = await ctx.services.exports.create(
      ada,
      'demo',
      {
        name: EXPORT_NAME,
        notes: 'For the share link tests.',
        selection: { folderIds: tree.folders.filter((f) => f.parentId === null).map((f) => f.id) },
        modalities: modalities.map((m) => m.slug),
        include: { raw: true, processed: true },
      },
      {},
    );
    exportId = created.id;
    await waitForStatus(ctx.services, exportId, ['completed']);

    server = await listenForBrowser(ctx, { shareGuessesPerMinute: 1000 });
    browser = await launchChromium();
    page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    // A step that cannot happen fails with its locator instead of the whole test timing out.
    page.setDefaultTimeout(10_000);
    await signIn(page, 'ada');
    await page.getByText('Demo study').first().waitFor();
  }, 60_000);

  afterAll(async () => {
    for (const visitor of visitors) await visitor.close().catch(() => undefined);
    await browser?.close();
    await worker?.stop();
    await server?.app.close();
    await ctx?.close();
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  async function signIn(target: Page, username: string, from = '/') {
    await target.goto(`${server.base}${from}`);
    await target.waitForURL(/\/login/);
    await target.getByLabel('Username').fill(username);
    await target.getByLabel('Password').fill(PASSWORD);
    await target.getByRole('button', { name: /sign in/i }).click();
  }

  /** A browser of someone else: no cookies, no session. */
  async function visitor(viewport = { width: 1280, height: 800 }): Promise<Page> {
    const context = await browser.newContext({ viewport, acceptDownloads: true });
    context.setDefaultTimeout(10_000);
    visitors.push(context);
    return context.newPage();
  }

  const drawer = () => page.getByRole('dialog', { name: new RegExp(EXPORT_NAME) });
  const shareItems = () => drawer().getByRole('list', { name: 'Share links' }).getByRole('listitem');
  const shareItem = (access: 'members' | 'link'): Locator => drawer().locator(`li[data-share-id]`).filter({ hasText: access === 'link' ? 'Anyone with the link' : 'Project members' }).first();

  async function openDetails() {
    await page.goto(`${server.base}/p/demo/exports?export=${exportId}`);
    await drawer().getByRole('heading', { name: /^Share links/ }).waitFor();
    await expect.poll(() => drawer().getByText('No share links yet').count()).toBe(1);
  }

  /** Creates a link in the dialog and returns what it shows once: the URL. */
  async function createLink(options: { access: 'members' | 'link'; days?: number; limit?: number }): Promise<string> {
    await drawer().getByRole('button', { name: 'New link' }).click();
    const dialog = page.getByRole('dialog', { name: 'New share link' });
    await dialog.waitFor();
    await dialog.getByRole('radio', { name: options.access === 'link' ? /Anyone with the link/ : /Project members/ }).click();
    if (options.days !== undefined) await dialog.getByRole('textbox', { name: /Expires after/ }).fill(String(options.days));
    if (options.limit !== undefined) await dialog.getByRole('textbox', { name: /Download limit/ }).fill(String(options.limit));
    await dialog.getByRole('button', { name: 'Create link' }).click();
    const created = page.getByRole('dialog', { name: 'Share link created' });
    await created.waitFor();
    return created.getByRole('textbox', { name: 'Link' }).inputValue();
  }

  it('shows in the export details whether the creator was emailed', async () => {
    await openDetails();
    // No mailer runs in this test: the email waits to be sent.
    const status = drawer().getByTestId('notification-status');
    expect(await status.getAttribute('data-notification')).toBe('pending');
    expect(await status.innerText()).toMatch(/Waiting to be sent to you/);

    await ctx.services.repos.exports.update(exportId, { notification_status: 'failed', notification_error: 'SMTP 550: mailbox unavailable', notification_next_at: null });
    await page.reload();
    await expect.poll(() => drawer().getByTestId('notification-status').innerText()).toMatch(/Could not be sent: SMTP 550: mailbox unavailable/);

    const sentAt = new Date().toISOString();
    await ctx.services.repos.exports.update(exportId, { notification_status: 'sent', notified_at: sentAt, notification_error: null });
    await page.reload();
    await expect.poll(() => drawer().getByTestId('notification-status').innerText()).toMatch(/^Sent to you on \d+ \w+ \d{4}, \d\d:\d\d$/);

    await ctx.services.repos.exports.update(exportId, { notification_status: 'skipped' });
    await page.reload();
    await expect.poll(() => drawer().getByTestId('notification-status').innerText()).toMatch(/Not sent: you have export emails turned off/);
  });

  it('explains a refused link next to the access choice, then creates a link shown once', async () => {
    await openDetails();
    await drawer().getByRole('button', { name: 'New link' }).click();
    const dialog = page.getByRole('dialog', { name: 'New share link' });
    await dialog.waitFor();
    // Both modes are explained in one line each.
    expect(await dialog.getByRole('radio', { name: /Project members/ }).innerText()).toMatch(/Signed-in members of this project who may see every patient/);
    expect(await dialog.getByRole('radio', { name: /Anyone with the link/ }).innerText()).toMatch(/Anyone who has the link, without signing in/);
    expect(await dialog.getByRole('radio', { name: /Project members/ }).getAttribute('aria-checked')).toBe('true');

    // A server that does not allow such links (SHARE_PUBLIC_LINKS off) says so; the message sits by the choice.
    const refusal = 'This server does not allow links that open without signing in (SHARE_PUBLIC_LINKS is off), since exports hold patient data.';
    await page.route(`**/api/demo/exports/${exportId}/shares`, (route) =>
      route.request().method() === 'POST'
        ? route.fulfill({ status: 400, contentType: 'application/json', body: JSON.stringify({ error: { code: 'public_links_disabled', message: refusal, field: 'access' } }) })
        : route.fallback(),
    );
    await dialog.getByRole('radio', { name: /Anyone with the link/ }).click();
    await dialog.getByRole('button', { name: 'Create link' }).click();
    const group = dialog.getByRole('radiogroup', { name: 'Who can open it' });
    await expect.poll(() => dialog.getByRole('alert').filter({ hasText: 'SHARE_PUBLIC_LINKS is off' }).count()).toBe(1);
    const describedBy = (await group.getAttribute('aria-describedby')) ?? '';
    expect(await page.locator(`[id="${describedBy.split(' ').find((id) => id.endsWith('-error'))}"]`).innerText()).toBe(refusal);
    await page.unroute(`**/api/demo/exports/${exportId}/shares`);

    // Links never outlive the export (kept 7 days): 30 days are capped, and the form says so.
    await dialog.getByRole('textbox', { name: /Expires after/ }).fill('30');
    await expect.poll(() => dialog.getByTestId('share-expiry-preview').innerText()).toMatch(/when the export itself expires/);
    await dialog.getByRole('textbox', { name: /Download limit/ }).fill('3');
    await screenshot(page, 'share-dialog-form');
    // Keyboard: Escape closes the dialog only, not the details under it.
    await page.keyboard.press('Escape');
    await expect.poll(() => dialog.count()).toBe(0);
    await page.waitForTimeout(400);
    expect(await drawer().count()).toBe(1);

    const url = await createLink({ access: 'link', days: 30, limit: 3 });
    const [, token] = TOKEN_URL.exec(url) ?? [];
    expect(token, url).toBeDefined();
    const created = page.getByRole('dialog', { name: 'Share link created' });
    expect(await created.getByRole('textbox', { name: 'Token' }).inputValue()).toBe(token);
    expect(await created.innerText()).toMatch(/Copy it now: it is not shown again/);
    expect(await created.innerText()).toMatch(/Anyone with the link · works until .* · at most 3 downloads/);
    // The link is ready to copy: focused and selected.
    await expect.poll(() => page.evaluate<string | undefined>('document.activeElement?.value')).toBe(url);
    expect(await page.evaluate<number[]>('[document.activeElement.selectionStart, document.activeElement.selectionEnd]')).toEqual([0, url.length]);
    expect(await created.getByRole('button', { name: 'Copy link' }).count()).toBe(1);
    await page.waitForTimeout(300); // dialog transition
    await screenshot(page, 'share-dialog');
    await created.getByRole('button', { name: 'Done' }).click();
    await expect.poll(() => created.count()).toBe(0);

    // Listed, active, with its limit; the token is nowhere on the page any more.
    await expect.poll(() => shareItems().count()).toBe(1);
    const item = shareItem('link');
    expect(await item.getAttribute('data-state')).toBe('active');
    expect(await item.innerText()).toMatch(/0 of 3 downloads/);
    expect(await page.content()).not.toContain(token!);
    const [share] = ((await (await page.request.get(`${server.base}/api/demo/exports/${exportId}/shares`)).json()) as { shares: Array<{ expiresAt: string }> }).shares;
    const exportRow = (await ctx.services.repos.exports.findById(exportId))!;
    expect(share!.expiresAt).toBe(exportRow.expires_at);
    linkPath = new URL(url).pathname;
  });

  it('opens the link in a browser that is not signed in and downloads a valid ZIP', async () => {
    const guest = await visitor();
    await guest.goto(`${server.base}${linkPath}`);
    await guest.getByRole('heading', { level: 1, name: EXPORT_NAME }).waitFor();
    const facts = guest.getByRole('definition');
    expect(await guest.locator('dl').innerText()).toMatch(/Patients\s+6/);
    expect(await guest.locator('dl').innerText()).toMatch(/Downloads left\s+3/);
    expect(await facts.count()).toBe(5);
    expect(await guest.getByText('Shared by Ada Lovelace').count()).toBe(1);
    expect(await guest.getByText(/Anyone with this link can download the ZIP/).count()).toBe(1);
    // No session: no user menu.
    expect(await guest.getByRole('button', { name: 'Ada Lovelace' }).count()).toBe(0);
    await screenshot(guest, 'share-landing');

    const link = guest.getByRole('link', { name: /Download ZIP/ });
    expect(await link.getAttribute('href')).toBe(`/api${linkPath}/download`);
    const [download] = await Promise.all([guest.waitForEvent('download'), link.click()]);
    expect(download.suggestedFilename()).toBe(`${EXPORT_NAME}.zip`);
    const file = path.join(tmp, 'shared.zip');
    await download.saveAs(file);
    const { names } = await verifyZipWithTools(file);
    expect(names).toContain(`${EXPORT_NAME}/metadata.json`);
    expect(fs.statSync(file).size).toBe((await ctx.services.repos.exports.findById(exportId))!.zip_size);
    await expect.poll(() => guest.getByText(/Your download has started/).count()).toBe(1);
    await expect.poll(() => guest.locator('dl').innerText(), { timeout: 5000 }).toMatch(/Downloads left\s+2/);

    // Narrow screens: one column, nothing cut off.
    await guest.setViewportSize({ width: 375, height: 740 });
    expect(await guest.evaluate<boolean>('document.documentElement.scrollWidth <= window.innerWidth')).toBe(true);
    await screenshot(guest, 'share-landing-narrow');
  });

  it('revokes the link after confirming; the link then says it is not valid', async () => {
    await openDetailsWithLinks();
    const item = shareItem('link');
    await expect.poll(() => item.innerText()).toMatch(/1 of 3 downloads · last/);

    await item.getByRole('button', { name: /^Revoke the public link created/ }).click();
    const confirm = page.getByRole('dialog', { name: 'Revoke this share link?' });
    await confirm.waitFor();
    // Keep it: Escape closes the question only.
    await page.keyboard.press('Escape');
    await expect.poll(() => confirm.count()).toBe(0);
    await page.waitForTimeout(400);
    expect(await drawer().count()).toBe(1);
    expect(await item.getAttribute('data-state')).toBe('active');

    await item.getByRole('button', { name: /^Revoke/ }).click();
    await confirm.waitFor();
    expect(await confirm.innerText()).toMatch(/stops working at once/);
    await confirm.getByRole('button', { name: 'Revoke link' }).click();
    await expect.poll(() => item.getAttribute('data-state')).toBe('revoked');
    expect(await item.getByRole('button', { name: /^Revoke/ }).count()).toBe(0);
    // Focus lands on something that exists.
    await expect.poll(() => page.evaluate<string>("document.activeElement?.textContent ?? ''")).toBe('New link');

    await drawer().getByRole('heading', { name: /^Share links/ }).scrollIntoViewIfNeeded();
    await screenshot(page, 'share-links-drawer');

    const guest = visitors[0]!.pages()[0]!;
    await guest.reload();
    await guest.getByRole('heading', { level: 1, name: 'This link is not valid' }).waitFor();
    expect(await guest.getByText(/It may have expired or been revoked/).count()).toBe(1);
    expect(await guest.getByRole('link', { name: /Download/ }).count()).toBe(0);
    await screenshot(guest, 'share-not-valid');
  });

  it('asks for a sign-in on a members link, comes back after it, and refuses outsiders', async () => {
    await openDetailsWithLinks();
    const url = await createLink({ access: 'members' });
    expect(url).toMatch(TOKEN_URL);
    await page.getByRole('dialog', { name: 'Share link created' }).getByRole('button', { name: 'Done' }).click();
    await expect.poll(() => shareItems().count()).toBe(2);
    const membersPath = new URL(url).pathname;

    const guest = await visitor();
    await guest.goto(`${server.base}${membersPath}`);
    await guest.getByRole('heading', { level: 1, name: 'Sign in to open this link' }).waitFor();
    await screenshot(guest, 'share-sign-in');
    await guest.getByRole('link', { name: 'Sign in' }).click();
    await guest.waitForURL(/\/login$/);
    await guest.getByLabel('Username').fill('ada');
    await guest.getByLabel('Password').fill(PASSWORD);
    await guest.getByRole('button', { name: /sign in/i }).click();
    await guest.waitForURL(`${server.base}${membersPath}`);
    await guest.getByRole('heading', { level: 1, name: EXPORT_NAME }).waitFor();
    expect(await guest.getByText(/Shared with project members; you are signed in as Ada Lovelace/).count()).toBe(1);
    // Signed in: the page has the user menu.
    expect(await guest.getByRole('button', { name: 'Ada Lovelace' }).count()).toBe(1);

    // Someone who is not in the project is told why.
    const outsider = await visitor({ width: 390, height: 800 });
    await signIn(outsider, 'olga');
    await outsider.waitForURL(`${server.base}/`);
    await outsider.goto(`${server.base}${membersPath}`);
    await outsider.getByRole('heading', { level: 1, name: 'You cannot open this export' }).waitFor();
    expect(await outsider.getByText(/This export holds patients you do not have access to\./).count()).toBe(1);
  });

  it('turns export emails off and on from the user menu, putting the switch back when saving fails', async () => {
    const settings = async () => ((await (await page.request.get(`${server.base}/api/me/settings`)).json()) as { exportEmails: boolean }).exportEmails;
    await page.goto(`${server.base}/p/demo/exports`);
    expect(await settings()).toBe(true);
    await page.getByRole('button', { name: 'Ada Lovelace' }).click();
    const item = page.getByRole('menuitemcheckbox', { name: /Email me when my exports finish/ });
    await expect.poll(() => item.getAttribute('aria-checked')).toBe('true');
    expect(await item.innerText()).toMatch(/to ada@lab\.test/);

    await item.click();
    await expect.poll(() => item.getAttribute('aria-checked')).toBe('false');
    await expect.poll(settings).toBe(false);
    // The menu stays open for the next change.
    expect(await item.isVisible()).toBe(true);

    // Saving fails: the switch flips at once, then back, and the reason is shown.
    await page.route('**/api/me/settings', (route) =>
      route.request().method() === 'PATCH'
        ? route.fulfill({ status: 503, contentType: 'application/json', body: JSON.stringify({ error: { code: 'unavailable', message: 'The database is busy.' } }) })
        : route.fallback(),
    );
    await item.click();
    await expect.poll(() => page.getByRole('alert').filter({ hasText: 'Could not change the email setting: The database is busy.' }).count()).toBe(1);
    await expect.poll(() => item.getAttribute('aria-checked')).toBe('false');
    expect(await settings()).toBe(false);
    await page.unroute('**/api/me/settings');

    // Keyboard: the item is reachable with the arrows and toggled with Enter.
    await item.focus();
    await page.keyboard.press('Enter');
    await expect.poll(() => item.getAttribute('aria-checked')).toBe('true');
    await expect.poll(settings).toBe(true);
    await screenshot(page, 'user-menu-emails');
    await page.keyboard.press('Escape');
  });

  async function openDetailsWithLinks() {
    await page.goto(`${server.base}/p/demo/exports?export=${exportId}`);
    await shareItems().first().waitFor();
  }
});
