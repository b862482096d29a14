/**
 * Summarises V8 `.cpuprofile` files (from `node --cpu-prof`): self time per function, hottest first.
 * Used by `--profile`; also runnable alone: `npx tsx bench/profile.ts <file.cpuprofile>…`.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

interface CpuProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}

interface CpuProfile {
  nodes: CpuProfileNode[];
  startTime: number;
  endTime: number;
  samples?: number[];
  timeDeltas?: number[];
}

export interface HotFunction {
  name: string;
  selfMs: number;
  share: number;
}

export function hottest(file: string, limit = 15): { totalMs: number; functions: HotFunction[] } {
  const profile = JSON.parse(fs.readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map<string, number>();
  // Time per sample from timeDeltas (exact); hitCount × average interval when they are absent.
  if (profile.samples && profile.timeDeltas) {
    profile.samples.forEach((id, i) => {
      const node = byId.get(id);
      if (!node) return;
      const key = label(node);
      self.set(key, (self.get(key) ?? 0) + (profile.timeDeltas![i + 1] ?? 0) / 1000);
    });
  } else {
    const hits = profile.nodes.reduce((n, node) => n + (node.hitCount ?? 0), 0) || 1;
    const perHit = (profile.endTime - profile.startTime) / 1000 / hits;
    for (const node of profile.nodes) self.set(label(node), (self.get(label(node)) ?? 0) + (node.hitCount ?? 0) * perHit);
  }
  const totalMs = (profile.endTime - profile.startTime) / 1000;
  const functions = [...self.entries()]
    .map(([name, selfMs]) => ({ name, selfMs, share: selfMs / totalMs }))
    .sort((a, b) => b.selfMs - a.selfMs)
    .slice(0, limit);
  return { totalMs, functions };
}

function label(node: CpuProfileNode): string {
  const { functionName, url, lineNumber } = node.callFrame;
  if (!url) return functionName || '(anonymous)';
  const where = url.startsWith('file://') ? path.relative(process.cwd(), fileURLToPath(url)) : url;
  return `${functionName || '(anonymous)'} ${where}:${lineNumber + 1}`;
}

export function formatHottest(file: string, limit = 15): string {
  const { totalMs, functions } = hottest(file, limit);
  const lines = [`${path.basename(file)} — ${(totalMs / 1000).toFixed(1)} s sampled, self time:`];
  for (const f of functions) lines.push(`  ${(100 * f.share).toFixed(1).padStart(5)} %  ${f.selfMs.toFixed(0).padStart(7)} ms  ${f.name}`);
  return lines.join('\n');
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  for (const file of process.argv.slice(2)) console.log(`${formatHottest(file, 25)}\n`);
}
