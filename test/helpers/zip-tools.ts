import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export const hasTool = (name: string) => ['/usr/bin', '/usr/local/bin', '/bin'].some((dir) => fs.existsSync(path.join(dir, name)));

/** Checks a ZIP with every reader users have: Info-ZIP unzip, 7-Zip and Python's zipfile. */
export async function verifyZipWithTools(zipFile: string): Promise<{ names: string[] }> {
  if (hasTool('unzip')) {
    const { stdout } = await run('unzip', ['-t', zipFile], { maxBuffer: 64 * 1024 * 1024 });
    if (!/No errors detected/.test(stdout)) throw new Error(`unzip -t: ${stdout.slice(-500)}`);
  }
  if (hasTool('7z')) {
    const { stdout } = await run('7z', ['t', zipFile], { maxBuffer: 64 * 1024 * 1024 });
    if (!/Everything is Ok/.test(stdout)) throw new Error(`7z t: ${stdout.slice(-500)}`);
  }
  const script = [
    'import json, sys, zipfile',
    'z = zipfile.ZipFile(sys.argv[1])',
    'bad = z.testzip()',
    'assert bad is None, bad',
    'print(json.dumps(z.namelist()))',
  ].join('\n');
  const { stdout } = await run('python3', ['-c', script, zipFile], { maxBuffer: 64 * 1024 * 1024 });
  return { names: JSON.parse(stdout) as string[] };
}

/** Unpacks with unzip (or Python when unzip is absent) into `dir`. */
export async function unpack(zipFile: string, dir: string): Promise<void> {
  fs.mkdirSync(dir, { recursive: true });
  if (hasTool('unzip')) await run('unzip', ['-q', zipFile, '-d', dir]);
  else await run('python3', ['-c', 'import sys, zipfile; zipfile.ZipFile(sys.argv[1]).extractall(sys.argv[2])', zipFile, dir]);
}

/** Runs `sha256sum -c SHA256SUMS` in the export folder, as the README tells users to. */
export async function sha256sumCheck(exportDir: string): Promise<string> {
  const { stdout } = await run('sha256sum', ['-c', 'SHA256SUMS'], { cwd: exportDir, maxBuffer: 64 * 1024 * 1024 });
  return stdout;
}
