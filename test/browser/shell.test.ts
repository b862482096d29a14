import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hasChromium, launchChromium, screenshot } from '../helpers/browser.js';
import { listenForBrowser, openBrowserTestContext, PASSWORD, type BrowserServer } from '../helpers/browser-server.js';
import type { TestContext } from '../helpers/context.js';

describe.skipIf(!hasChromium)('web shell in Chromium', () => {
  let ctx: TestContext;
  let server: BrowserServer;
  let browser: Browser;

  beforeAll(async () => {
    ({ ctx } = await openBrowserTestContext({
      users: [
        { username: 'admin', displayName: 'Ada Admin', siteAdmin: true },
        { username: 'grace', displayName: 'Grace' },
      ],
      demo: { patients: 12, owner: 'admin' },
    }));
    await ctx.services.admin.addMember({ projectSlug: 'demo', username: 'grace', role: 'member' });
    await ctx.services.admin.grantFolder({ projectSlug: 'demo', username: 'grace', folderPath: 'Implants/Pilot study' });
    server = await listenForBrowser(ctx);
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await server?.app.close();
    await ctx?.close();
  });

  async function signIn(page: Page, username: string) {
    await page.goto(`${server.base}/p/demo`);
    await page.waitForURL(/\/login/);
    await page.getByLabel('Username').fill(username);
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: /sign in/i }).click();
  }

  it('refuses a wrong password with a message, then signs in and returns to the page asked for', async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    await page.goto(`${server.base}/`);
    await page.waitForURL(/\/login/);
    await page.getByLabel('Username').fill('admin');
    await page.getByLabel('Password').fill('not the password');
    await page.getByRole('button', { name: /sign in/i }).click();
    await expect.poll(() => page.getByText('The username or password is not correct.').count()).toBe(1);
    await screenshot(page, 'login-error');
    await page.close();

    const again = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    await signIn(again, 'admin');
    await again.waitForURL(/\/p\/demo/);
    await again.close();
  });

  it('shows the project picker, the folder tree and the patient list', async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    await page.goto(`${server.base}/login`);
    await page.getByLabel('Username').fill('admin');
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: /sign in/i }).click();
    await page.getByText('Demo study').first().waitFor();
    await screenshot(page, 'projects');
    await page.getByText('Demo study').first().click();
    await page.waitForURL(/\/p\/demo/);

    const tree = page.getByRole('tree', { name: 'Folders' });
    await tree.waitFor();
    for (const name of ['Orthodontics', 'Implants', 'Orthognathic surgery']) {
      await expect.poll(() => tree.getByRole('treeitem', { name, exact: true }).count()).toBe(1);
    }
    await tree.getByRole('treeitem', { name: 'Orthodontics', exact: true }).click();
    await page.getByRole('switch', { name: /Include subfolders/ }).click({ force: true });
    const table = page.getByRole('table', { name: /Patients in Orthodontics/ });
    await table.waitFor();
    // 12 demo patients over 5 folders: Orthodontics holds 2024 intake (P-0001, 6, 11) and 2025 intake (P-0002, 7, 12; the last is a debug patient, which admins see).
    await expect.poll(() => table.locator("tbody tr").count()).toBe(6);
    await expect.poll(() => table.getByText('P-0006').count()).toBe(1);
    await screenshot(page, 'project-tree');

    await page.getByRole('searchbox', { name: 'Search' }).fill('P-0007');
    await expect.poll(() => table.locator('tbody tr').count()).toBe(1);
    await page.close();
  });

  it('shows a member with a folder grant only that branch', async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    await signIn(page, 'grace');
    await page.waitForURL(/\/p\/demo/);
    const tree = page.getByRole('tree', { name: 'Folders' });
    await tree.waitFor();
    await expect.poll(() => tree.getByRole('treeitem').allInnerTexts().then((t) => t.join(' '))).toMatch(/Implants/);
    expect(await tree.getByRole('treeitem', { name: 'Orthodontics', exact: true }).count()).toBe(0);
    await screenshot(page, 'project-tree-granted');
    await page.close();
  });
});
