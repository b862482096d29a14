import { createHash, randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import type { Browser, Locator, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ExportWorker } from '../../src/jobs/export-worker.js';
import { hasChromium, launchChromium, screenshot } from '../helpers/browser.js';
import { listenForBrowser, openBrowserTestContext, PASSWORD, type BrowserServer } from '../helpers/browser-server.js';
import type { TestContext } from '../helpers/context.js';
import { startWorker, waitForStatus } from '../helpers/exports.js';
import { ThrottledBlobStore } from '../helpers/throttled-blob-store.js';
import { unpack, verifyZipWithTools } from '../helpers/zip-tools.js';

const BIG_FOLDER_PATIENTS = 5000;

/**
 * The export pages against a real server, database, blob store and export worker: configure an
 * export, follow it to completion, download it, and cancel, retry and delete others.
 * The tests run in order and share one signed-in page.
 */
describe.skipIf(!hasChromium)('export pages in Chromium', () => {
  let ctx: TestContext;
  let server: BrowserServer;
  let browser: Browser;
  let page: Page;
  let worker: ExportWorker;
  let throttled: ThrottledBlobStore;
  let adminId: string;
  let tmp: string;
  let firstExportId = '';
  let downloadedSha = '';

  beforeAll(async () => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cohort-exports-ui-'));
    let userIds: Map<string, string>;
    ({ ctx, userIds } = await openBrowserTestContext({
      limits: { maxActivePerUser: 10 },
      users: [{ username: 'admin', displayName: 'Ada Admin', siteAdmin: true }],
      demo: { patients: 12, owner: 'admin' },
    }));
    adminId = userIds.get('admin')!;
    await seedBigFolder(ctx);

    throttled = new ThrottledBlobStore(ctx.blobs);
    worker = startWorker(ctx.services, throttled, ctx.queue);
    await worker.start();
    server = await listenForBrowser(ctx);
    browser = await launchChromium();
    page = await browser.newPage({ viewport: { width: 1280, height: 800 }, acceptDownloads: true });
    await page.goto(`${server.base}/login`);
    await page.getByLabel('Username').fill('admin');
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: /sign in/i }).click();
    await page.getByText('Demo study').first().waitFor();
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await worker?.stop();
    await server?.app.close();
    await ctx?.close();
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  const selectedCount = () => page.getByTestId('selected-count').locator('p').first().innerText();
  const estimateValue = (label: string) =>
    page.getByTestId('estimate').getByText(label, { exact: true }).locator('xpath=following-sibling::*[1]').innerText();
  const row = (id: string): Locator => page.locator(`tr[data-export-id="${id}"]`);
  const statusOf = (id: string) => row(id).locator('[data-status]').getAttribute('data-status');
  const adminActor = () => ({ userId: adminId, isSiteAdmin: true });

  async function demoFolderId(folderPath: string): Promise<string> {
    const tree = await ctx.services.browse.tree(adminActor(), 'demo');
    return tree.folders.find((f) => f.path === folderPath)!.id;
  }

  it('configures an export from the project page, follows it and lands on the management page', async () => {
    // From the project page: "Export this folder" opens the form with that folder picked.
    await page.goto(`${server.base}/p/demo`);
    await page.getByRole('tree', { name: 'Folders' }).getByRole('treeitem', { name: 'Implants', exact: true }).waitFor();
    await page.getByRole('link', { name: 'Export this folder' }).click();
    await page.waitForURL(/\/p\/demo\/exports\/new\?folder=/);

    const tree = page.getByRole('tree', { name: 'Folders to export' });
    const implants = tree.getByRole('treeitem', { name: 'Implants', exact: true });
    await expect.poll(() => implants.getAttribute('aria-checked')).toBe('true');
    await expect.poll(selectedCount).toBe('2');

    // Swap Implants for Orthodontics (picked whole: 6 patients in two subfolders).
    await implants.getByTestId('folder-check').click();
    const ortho = tree.getByRole('treeitem', { name: 'Orthodontics', exact: true });
    await ortho.getByTestId('folder-check').click();
    await expect.poll(() => ortho.getAttribute('aria-checked')).toBe('true');
    await expect.poll(selectedCount).toBe('6');

    // Open a subfolder and un-pick one patient: the folder becomes partly picked.
    await tree.getByRole('treeitem', { name: '2024 intake', exact: true }).click();
    const patients = page.getByRole('listbox', { name: 'Patients in 2024 intake' });
    const goran = patients.getByRole('option', { name: /P-0006/ });
    await expect.poll(() => goran.getAttribute('aria-selected')).toBe('true');
    await goran.click();
    await expect.poll(() => goran.getAttribute('aria-selected')).toBe('false');
    await expect.poll(() => ortho.getAttribute('aria-checked')).toBe('mixed');
    await expect.poll(selectedCount).toBe('5');
    const sizeAllModalities = await estimateValue('Estimated size');

    // Tag filter: only consented patients (P-0006 and P-0012 are not) stay in the export.
    await page.getByRole('textbox', { name: 'Tags' }).click();
    await page.getByRole('option', { name: /^consented/ }).click();
    await page.keyboard.press('Escape');
    await expect.poll(selectedCount).toBe('4');
    await expect.poll(() => patients.getByRole('option').count()).toBe(2); // P-0001, P-0011

    // Modalities: CBCT and intraoral scans only; the size follows.
    await expect.poll(() => estimateValue('Estimated size')).not.toBe(sizeAllModalities);
    const sizeWithTags = await estimateValue('Estimated size');
    for (const name of ['Intraoral photo', 'Panoramic', 'Extraoral photo', 'Teleradiography', 'Face scan']) {
      await page.getByRole('checkbox', { name: new RegExp(`^${name}`) }).click();
    }
    await expect.poll(() => estimateValue('Estimated size')).not.toBe(sizeWithTags);
    await expect.poll(() => estimateValue('Files')).toMatch(/^\d+$/);
    const cbct = page.getByRole('checkbox', { name: /^CBCT/ });
    await expect.poll(() => cbct.innerText()).toMatch(/4 patients/);

    // Neither raw nor processed: explained, then fixed.
    await page.getByRole('switch', { name: 'Raw files' }).click({ force: true });
    await page.getByRole('switch', { name: 'Processed files' }).click({ force: true });
    await expect.poll(() => page.getByText(/With neither, the export would hold no files/).count()).toBe(1);
    await page.getByRole('switch', { name: 'Raw files' }).click({ force: true });
    await page.getByRole('switch', { name: 'Processed files' }).click({ force: true });

    // The name is checked while typing, with the server's rules.
    const name = page.getByRole('textbox', { name: /Export name/ });
    expect(await name.inputValue()).toMatch(/^export_\d{4}-\d{2}-\d{2}_\d{6}$/);
    await name.fill('ortho/consented');
    await expect.poll(() => page.getByText(/cannot contain “\/”/).count()).toBe(1);
    await name.fill('Ortho consented');
    await expect.poll(() => page.getByText(/cannot contain/).count()).toBe(0);
    await page.getByRole('textbox', { name: 'Notes' }).fill('Browser test: consented orthodontic patients, CBCT and scans.');
    await expect.poll(() => page.getByRole('status', { name: 'Updating the estimate' }).count()).toBe(0);
    await page.evaluate('window.scrollTo(0, 0)');
    await screenshot(page, 'exports-new');

    // Submit: the management page opens with the new export highlighted, built slowly enough to watch.
    throttled.delayMs = 150;
    await page.getByRole('button', { name: 'Create export' }).click();
    await page.waitForURL(/\/p\/demo\/exports\?highlight=/);
    firstExportId = new URL(page.url()).searchParams.get('highlight')!;
    await expect.poll(() => row(firstExportId).getAttribute('data-highlighted')).toBe('true');
    await expect.poll(() => page.getByText('Export “Ortho consented” created').count()).toBe(1);
    const progress = page.getByRole('progressbar', { name: 'Progress of Ortho consented' });
    await expect.poll(() => progress.count()).toBe(1);
    await expect.poll(() => page.getByTestId('running-exports').count()).toBe(1);
    await expect.poll(() => statusOf(firstExportId), { timeout: 30_000 }).toBe('completed');
    throttled.delayMs = 0;
    await expect.poll(() => progress.count()).toBe(0);
    await expect.poll(() => row(firstExportId).getByRole('link', { name: /Download/ }).count()).toBe(1);
    await expect.poll(() => page.getByTestId('running-exports').count(), { timeout: 10_000 }).toBe(0);
  }, 60_000);

  it('downloads the ZIP through its link; it is valid and holds the chosen patients', async () => {
    const link = row(firstExportId).getByRole('link', { name: /Download/ });
    expect(await link.getAttribute('href')).toBe(`/api/demo/exports/${firstExportId}/download`);
    expect(await link.getAttribute('download')).not.toBeNull();
    const [download] = await Promise.all([page.waitForEvent('download'), link.click()]);
    expect(download.suggestedFilename()).toBe('Ortho consented.zip');
    const file = path.join(tmp, 'download.zip');
    await download.saveAs(file);
    downloadedSha = createHash('sha256').update(fs.readFileSync(file)).digest('hex');

    const { names } = await verifyZipWithTools(file);
    expect(names).toContain('Ortho consented/metadata.json');
    const dir = path.join(tmp, 'unpacked');
    await unpack(file, dir);
    const manifest = JSON.parse(fs.readFileSync(path.join(dir, 'Ortho consented/metadata.json'), 'utf8')) as {
      export: { notes: string | null };
      patients: Array<{ code: string }>;
      files: Array<{ modality: string }>;
    };
    expect(manifest.patients.map((p) => p.code).sort()).toEqual(['P-0001', 'P-0002', 'P-0007', 'P-0011']);
    expect([...new Set(manifest.files.map((f) => f.modality))].sort()).toEqual(['cbct', 'ios']);
    expect(manifest.export.notes).toMatch(/Browser test/);
  });

  it('shows the details: criteria, summary and a copyable checksum matching the download', async () => {
    await row(firstExportId).getByRole('button', { name: 'Details of Ortho consented' }).click();
    const drawer = page.getByRole('dialog');
    await drawer.getByTestId('zip-sha256').waitFor();
    expect((await drawer.getByTestId('zip-sha256').innerText()).replace(/\s/g, '')).toBe(downloadedSha);
    expect(await drawer.getByRole('button', { name: 'Copy checksum' }).count()).toBe(1);
    const criteria = drawer.getByRole('table', { name: 'Criteria' });
    await expect.poll(() => criteria.innerText()).toMatch(/Orthodontics/);
    expect(await criteria.innerText()).toMatch(/1 patient left out of picked folders/);
    expect(await criteria.innerText()).toMatch(/consented/);
    expect(await criteria.innerText()).toMatch(/CBCT, Intraoral scan/);
    expect(await drawer.getByRole('table', { name: 'Summary' }).innerText()).toMatch(/Patients\s+4/);
    await page.waitForTimeout(300); // drawer transition
    await screenshot(page, 'export-details');
    await page.keyboard.press('Escape');
    await expect.poll(() => page.getByRole('dialog').count()).toBe(0);
  });

  it('cancels a long export after confirming', async () => {
    throttled.delayMs = 400;
    const all = await ctx.services.browse.modalities(adminActor(), 'demo');
    const long = await ctx.services.exports.create(
      adminActor(),
      'demo',
      {
        name: 'Long export',
        selection: { folderIds: [await demoFolderId('Orthodontics'), await demoFolderId('Orthognathic surgery')] },
        modalities: all.map((m) => m.slug),
        include: { raw: true, processed: true },
      },
      {},
    );
    await page.goto(`${server.base}/p/demo/exports`);
    const progress = page.getByRole('progressbar', { name: 'Progress of Long export' });
    await expect.poll(() => progress.getAttribute('aria-valuenow'), { timeout: 15_000 }).not.toMatch(/^(0|null)$/);
    await expect.poll(() => statusOf(long.id)).toBe('processing');
    await screenshot(page, 'exports-list');

    await row(long.id).getByRole('button', { name: 'Cancel Long export' }).click();
    const modal = page.getByRole('dialog', { name: 'Cancel this export?' });
    await modal.waitFor();
    await modal.getByRole('button', { name: 'Cancel export' }).click();
    await expect.poll(() => statusOf(long.id), { timeout: 15_000 }).toBe('cancelled');
    throttled.delayMs = 0;
    expect((await ctx.services.repos.exports.findById(long.id))!.status).toBe('cancelled');
    await expect.poll(() => row(long.id).getByRole('button', { name: 'Retry Long export' }).count()).toBe(1);
  }, 40_000);

  it('shows why an export failed and retries it', async () => {
    // A stored file of a Pilot study patient goes missing before the export is created.
    const patient = await ctx.database.db.selectFrom('patients').select('id').where('code', '=', 'P-0003').executeTakeFirstOrThrow();
    const stored = await ctx.database.db
      .selectFrom('files')
      .select('storage_key')
      .where('patient_id', '=', patient.id)
      .where('deleted_at', 'is', null)
      .orderBy('original_name')
      .executeTakeFirstOrThrow();
    const bytes = Buffer.concat(await (await ctx.blobs.get(stored.storage_key)).toArray());
    await ctx.blobs.delete(stored.storage_key);
    const failing = await ctx.services.exports.create(
      adminActor(),
      'demo',
      { name: 'Pilot study', selection: { folderIds: [await demoFolderId('Implants')] }, modalities: ['cbct', 'ios', 'intraoral-photo', 'panoramic'], include: { raw: true, processed: true } },
      {},
    );
    await waitForStatus(ctx.services, failing.id, ['failed'], 15_000);
    // Created elsewhere (not on this page): the idle list would notice within 15 s; a reload shows it now.
    await page.reload();
    await expect.poll(() => statusOf(failing.id), { timeout: 10_000 }).toBe('failed');

    await row(failing.id).getByRole('button', { name: 'Details of Pilot study' }).click();
    const drawer = page.getByRole('dialog');
    const alert = drawer.getByRole('alert').filter({ hasText: 'This export failed' });
    await alert.waitFor();
    expect(await alert.innerText()).toMatch(/patient_00\d/);
    await page.waitForTimeout(300);
    await screenshot(page, 'export-details-failed');
    await page.keyboard.press('Escape');
    await expect.poll(() => page.getByRole('dialog').count()).toBe(0);

    // The file is back: a retry builds it.
    await ctx.blobs.put(stored.storage_key, Readable.from([bytes]));
    await row(failing.id).getByRole('button', { name: 'Retry Pilot study' }).click();
    await expect.poll(() => page.getByText('“Pilot study” is queued again.').count()).toBe(1);
    await expect.poll(() => statusOf(failing.id), { timeout: 20_000 }).toBe('completed');
  }, 40_000);

  it('filters by status and deletes an export (with its ZIP) after confirming', async () => {
    const pilot = (await ctx.services.exports.list(adminActor(), 'demo', { all: false, limit: 10, offset: 0 })).items.find((e) => e.name === 'Pilot study')!;
    const zipKeys = async () => {
      const keys: string[] = [];
      for await (const key of ctx.blobs.list(`exports/${pilot.id}/`)) keys.push(key);
      return keys;
    };
    expect(await zipKeys()).toHaveLength(1);

    await page.getByRole('textbox', { name: 'Status' }).click();
    await page.getByRole('option', { name: 'Cancelled' }).click();
    await expect.poll(() => page.locator('tr[data-export-id]').count()).toBe(1);
    await page.getByRole('textbox', { name: 'Status' }).click();
    await page.getByRole('option', { name: 'All statuses' }).click();
    await expect.poll(() => page.locator('tr[data-export-id]').count()).toBe(3);

    await row(pilot.id).getByRole('button', { name: 'Delete Pilot study' }).click();
    const modal = page.getByRole('dialog', { name: 'Delete this export?' });
    await modal.waitFor();
    expect(await modal.innerText()).toMatch(/and its ZIP/);
    await modal.getByRole('button', { name: 'Delete export' }).click();
    await expect.poll(() => row(pilot.id).count()).toBe(0);
    await expect.poll(() => page.getByText('“Pilot study” was deleted.').count()).toBe(1);
    expect(await zipKeys()).toEqual([]);
    await expect.poll(() => page.locator('tr[data-export-id]').count()).toBe(2);
  });

  it(`stays smooth with ${BIG_FOLDER_PATIENTS.toLocaleString('en')} patients in one folder (windowed list, loaded page by page)`, async () => {
    await page.goto(`${server.base}/p/big/exports/new`);
    const list = page.getByRole('listbox', { name: 'Patients in Cohort 2024' });
    await list.getByRole('option').first().waitFor();
    expect(await list.getByRole('option').count()).toBeLessThan(40);
    expect(await list.getByRole('option').first().getAttribute('aria-setsize')).toBe(String(BIG_FOLDER_PATIENTS));

    // Keyboard: End jumps to the last patient (its page is fetched), Space picks it.
    await list.focus();
    await page.keyboard.press('End');
    const last = list.getByRole('option', { name: /B-5000/ });
    await last.waitFor({ timeout: 10_000 });
    expect(await list.getByRole('option').count()).toBeLessThan(40);
    await page.keyboard.press(' ');
    await expect.poll(() => last.getAttribute('aria-selected')).toBe('true');
    await expect.poll(selectedCount).toBe('1');

    // The whole folder, then one patient out again.
    const folder = page.getByRole('tree', { name: 'Folders to export' }).getByRole('treeitem', { name: 'Cohort 2024' });
    await folder.focus();
    await page.keyboard.press(' ');
    await expect.poll(() => folder.getAttribute('aria-checked')).toBe('true');
    await expect.poll(selectedCount, { timeout: 10_000 }).toBe('5,000');
    await last.click();
    await expect.poll(() => folder.getAttribute('aria-checked')).toBe('mixed');
    await expect.poll(selectedCount, { timeout: 10_000 }).toBe('4,999');
  }, 30_000);
});

/** Project "big": one folder with 5,000 patients (no files), administered by admin. */
async function seedBigFolder(ctx: TestContext): Promise<void> {
  const project = await ctx.services.admin.addProject({ slug: 'big', name: 'Big cohort' });
  const now = new Date().toISOString();
  const folder = await ctx.services.repos.folders.ensurePath(project.id, ['Cohort 2024'], now);
  const rows = Array.from({ length: BIG_FOLDER_PATIENTS }, (_, i) => {
    const n = String(i + 1).padStart(4, '0');
    return {
      id: randomUUID(),
      project_id: project.id,
      folder_id: folder.id,
      name: `Patient ${n}`,
      code: `B-${n}`,
      visibility: 'public' as const,
      created_by: null,
      created_at: now,
      deleted_at: null,
    };
  });
  for (let i = 0; i < rows.length; i += 500) await ctx.database.db.insertInto('patients').values(rows.slice(i, i + 500)).execute();
  await ctx.services.admin.addMember({ projectSlug: 'big', username: 'admin', role: 'admin' });
}
