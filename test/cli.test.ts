import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);

/** Runs `npm run cohort -- <args>` the way a user would, against its own data directory. */
async function cohort(dataDir: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], {
      env: { ...process.env, DATA_DIR: dataDir, DATABASE_URL: '', LOG_LEVEL: 'silent' },
      timeout: 60_000,
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

describe('command line', () => {
  let dir: string;
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cohort-cli-'));
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('documents every command with --help', async () => {
    const top = await cohort(dir, ['--help']);
    for (const command of ['migrate', 'serve', 'worker', 'user', 'project', 'member', 'grant', 'token', 'import', 'demo']) {
      expect(top.stdout).toContain(command);
    }
    const grant = await cohort(dir, ['grant', '--help']);
    expect(grant.stdout).toMatch(/--folder <path>/);
    const user = await cohort(dir, ['user', 'add', '--help']);
    expect(user.stdout).toMatch(/--admin/);
  });

  it('sets up users, a project, members, a folder grant and a token, and imports a tree', async () => {
    expect((await cohort(dir, ['migrate'])).stdout).toMatch(/Applied migrations: 0001-foundation|up to date/);
    const added = await cohort(dir, ['user', 'add', '--username', 'ines', '--email', 'ines@lab.test']);
    expect(added.code).toBe(0);
    expect(added.stdout).toMatch(/Password \(shown once\): \S{16}/);
    expect((await cohort(dir, ['user', 'add', '--username', 'ines', '--email', 'ines@lab.test'])).stderr).toMatch(/already exists/);
    expect((await cohort(dir, ['project', 'add', '--slug', 'ortho', '--name', 'Ortho 2025'])).stdout).toMatch(/Added project ortho/);
    expect((await cohort(dir, ['member', 'add', '--project', 'ortho', '--username', 'ines', '--role', 'member'])).stdout).toMatch(/ines is now member of ortho/);

    const src = path.join(dir, 'incoming');
    fs.mkdirSync(path.join(src, 'Study A/P1/cbct'), { recursive: true });
    fs.writeFileSync(path.join(src, 'Study A/P1/cbct/scan.nii'), 'volume');
    fs.mkdirSync(path.join(src, 'Study A/P1/mri'), { recursive: true });
    const imported = await cohort(dir, ['import', src, '--project', 'ortho']);
    expect(imported.code).toBe(2);
    expect(imported.stdout).toMatch(/Patients: 1 new, 0 already known\. Files: 1 added/);
    expect(imported.stdout).toMatch(/Study A\/P1\/mri: is not a known modality/);
    const again = await cohort(dir, ['import', src, '--project', 'ortho']);
    expect(again.stdout).toMatch(/Patients: 0 new, 1 already known\. Files: 0 added \(0 bytes\), 1 already registered/);

    expect((await cohort(dir, ['grant', '--project', 'ortho', '--username', 'ines', '--folder', 'Study A'])).stdout).toMatch(/Granted ines the folder "Study A"/);
    const missingFolder = await cohort(dir, ['grant', '--project', 'ortho', '--username', 'ines', '--folder', 'Nope']);
    expect(missingFolder.code).toBe(1);
    expect(missingFolder.stderr).toMatch(/Folder "Nope" in project ortho was not found/);

    const token = await cohort(dir, ['token', 'create', '--username', 'ines']);
    expect(token.stdout.trim()).toMatch(/^coh_[A-Za-z0-9_-]{43}$/);
    expect(token.stderr).toMatch(/not shown again/);
  });

  it('refuses bad input with a clear message and exit code 1', async () => {
    const slug = await cohort(dir, ['project', 'add', '--slug', 'Bad Slug', '--name', 'x']);
    expect(slug.code).toBe(1);
    expect(slug.stderr).toMatch(/Error: Project slug must be/);
    const role = await cohort(dir, ['member', 'add', '--project', 'ortho', '--username', 'ines', '--role', 'boss']);
    expect(role.code).toBe(1);
    expect(role.stderr).toMatch(/Allowed choices are admin, member, viewer/);
    const config = await run(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'migrate'], { env: { ...process.env, PORT: 'x', DATA_DIR: dir } }).catch((e) => e);
    expect(config.code).toBe(1);
    expect(config.stderr).toMatch(/Invalid configuration:\n {2}- PORT: must be a number/);
  });

  it('loads the demo project', async () => {
    const demo = await cohort(dir, ['demo', '--patients', '3']);
    expect(demo.code).toBe(0);
    expect(demo.stdout).toMatch(/Loaded project demo with 3 patients/);
    expect((await cohort(dir, ['demo'])).stderr).toMatch(/already exists/);
  });
});
