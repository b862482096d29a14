import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

/**
 * Which code was measured. The repository is edited while benchmarks run, and every export child
 * loads src/ afresh, so a run can straddle two versions: the fingerprint of src/ (every non-test
 * .ts file, by path and content) is taken at the start and at the end and compared.
 */
export function sourceFingerprint(srcDir: string): string {
  const hash = createHash('sha256');
  const visit = (dir: string) => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) visit(full);
      else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.test.ts')) {
        hash.update(path.relative(srcDir, full)).update('\0').update(fs.readFileSync(full)).update('\0');
      }
    }
  };
  visit(srcDir);
  return hash.digest('hex').slice(0, 12);
}

/** "git 0aa6336, src/ with uncommitted changes" (or what can be told without git). */
export function gitDescription(repoDir: string): string {
  const git = (...args: string[]) => spawnSync('git', args, { cwd: repoDir, encoding: 'utf8' });
  const head = git('rev-parse', '--short', 'HEAD');
  if (head.status !== 0) return 'not a git checkout';
  const dirty = git('status', '--porcelain', '--', 'src').stdout.trim() !== '';
  return `git ${head.stdout.trim()}${dirty ? ', src/ with uncommitted changes' : ''}`;
}
