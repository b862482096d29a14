import type { LatencyStats } from './health.js';

/** Decimal megabytes throughout (1 MB = 10^6 bytes), RSS included, so targets compare like for like. */
export const MB = 1e6;

export interface Row {
  name: string;
  inputBytes: number;
  outputBytes: number;
  seconds: number;
  cpuSeconds?: number;
  baseRss?: number;
  peakRss?: number;
  maxRss?: number;
  /** Largest gap between 100 ms RSS samples in the export child: its main event loop's worst stall. */
  maxGapMs?: number;
  verified?: string;
  /** src/ fingerprint when the export's child process was started (it loads src/ right then). */
  code?: string;
}

export interface References {
  /** Seconds of the fastest plain copy (the `×copy` column). */
  copySeconds?: number;
  /** Seconds of `zip -r` (the `×zip -r` column). */
  zipSeconds?: number;
}

/** speed(row) / speed(reference) for the same input bytes. */
export function ratio(seconds: number, referenceSeconds: number | undefined): number | undefined {
  return referenceSeconds === undefined ? undefined : referenceSeconds / seconds;
}

export function renderTable(rows: Row[], refs: References): string {
  const header = ['run', 'input MB', 'output MB', 'seconds', 'CPU s', 'MB/s', '×copy', '×zip -r', 'base RSS', 'peak RSS', 'maxRSS', 'loop stall ms', 'unzip -t', 'src'];
  const dash = '—';
  const fmt = (n: number | undefined, digits: number) => (n === undefined || Number.isNaN(n) ? dash : n.toFixed(digits));
  const body = rows.map((r) => [
    r.name,
    fmt(r.inputBytes / MB, 1),
    fmt(r.outputBytes / MB, 1),
    fmt(r.seconds, 2),
    fmt(r.cpuSeconds, 2),
    fmt(r.inputBytes / MB / r.seconds, 1),
    fmt(ratio(r.seconds, refs.copySeconds), 2),
    fmt(ratio(r.seconds, refs.zipSeconds), 2),
    fmt(r.baseRss === undefined ? undefined : r.baseRss / MB, 0),
    fmt(r.peakRss === undefined ? undefined : r.peakRss / MB, 0),
    fmt(r.maxRss === undefined ? undefined : r.maxRss / MB, 0),
    fmt(r.maxGapMs, 0),
    r.verified ?? dash,
    r.code ?? dash,
  ]);
  return grid(header, body, [0, 12, 13]);
}

export function renderLatencies(rows: Array<{ name: string; stats: LatencyStats }>): string {
  const header = ['GET /api/health every 50 ms', 'requests', 'errors', 'p50 ms', 'p99 ms', 'max ms'];
  const body = rows.map(({ name, stats }) => [name, String(stats.count), String(stats.errors), stats.p50.toFixed(1), stats.p99.toFixed(1), stats.max.toFixed(1)]);
  return grid(header, body, [0]);
}

/** Columns padded to their widest cell; `leftAligned` columns are text, the rest numbers. */
function grid(header: string[], body: string[][], leftAligned: number[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((row) => row[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (leftAligned.includes(i) ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...body.map(line)].join('\n');
}

export function targetLine(pass: boolean | undefined, text: string): string {
  return `${pass === undefined ? 'N/A ' : pass ? 'PASS' : 'MISS'}  ${text}`;
}
