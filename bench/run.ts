/**
 * Export benchmark: `npm run bench -- --size 3GB` (see `--help`).
 *
 * Builds a synthetic imaging dataset, registers it in place through a real Cohort runtime (SQLite
 * and local blob store in a temporary directory), and measures, on the same data in the same run:
 * a plain streaming copy, `zip -r`, and real exports (ExportService.create → ExportWorker →
 * ExportPipeline) with `store`, `auto` and `deflate`, each in a fresh child process so its memory
 * figures are its own. While `auto` exports run behind the HTTP app, `/api/health` is probed every
 * 50 ms. Prints figures, ratios and the spec's targets as PASS/MISS; it never fails on time.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { hasCommand, plainCopy, stopCommands, unzipTest, zipRecursive, type Timed } from './baselines.js';
import { gitDescription, sourceFingerprint } from './code-version.js';
import { generateDataset, type Category, type Dataset } from './dataset.js';
import { liveChildren, runExport, type ExportRun } from './exports.js';
import { parseOptions, type BenchOptions, type CompressionMode } from './options.js';
import { formatHottest } from './profile.js';
import type { ChildJob, WorkerPlacement } from './protocol.js';
import { benchEnv, registerDataset, type Registered } from './registry.js';
import { MB, ratio, renderLatencies, renderTable, targetLine, type Row } from './report.js';

/** The spec's targets. */
const TARGETS = { storeVsCopy: 0.65, autoVsZip: 5, peakRssBytes: 300 * MB };

const log = (line: string) => process.stderr.write(`${line}\n`);
const REPO = fileURLToPath(new URL('..', import.meta.url));
const SRC = path.join(REPO, 'src');

const options = parseOptions(process.argv.slice(2));
const work = await fs.promises.mkdtemp(path.join(options.dir ?? os.tmpdir(), 'cohort-bench-'));
const paths = {
  dataset: path.join(work, 'dataset'),
  data: path.join(work, 'data'),
  out: path.join(work, 'out'),
  profiles: path.join(os.tmpdir(), `cohort-bench-profiles-${path.basename(work)}`),
};

let cleaned = false;
async function cleanup(): Promise<void> {
  if (cleaned) return;
  cleaned = true;
  for (const child of liveChildren) child.kill();
  stopCommands();
  if (options.keep) log(`Kept ${work}`);
  else await fs.promises.rm(work, { recursive: true, force: true });
}
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    log(`\n${signal}: stopping and cleaning up`);
    void cleanup().finally(() => process.exit(130));
  });
}

try {
  await main(options);
} catch (error) {
  process.exitCode = 1;
  // After an interrupt, failures of the commands it stopped are expected: say nothing more.
  if (!cleaned) log(`Benchmark stopped: ${(error as Error).stack ?? error}`);
} finally {
  await cleanup();
}

async function main(opts: BenchOptions): Promise<void> {
  await fs.promises.mkdir(paths.out, { recursive: true });
  const free = await freeBytes(work);
  const fingerprint = sourceFingerprint(SRC);
  const zipAvailable = hasCommand('zip');
  const unzipAvailable = hasCommand('unzip');
  console.log(
    [
      `Cohort export benchmark — ${new Date().toISOString()}`,
      `node ${process.version}, ${os.cpus().length} × ${os.cpus()[0]?.model ?? 'cpu'}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB RAM, load ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}`,
      `code: ${gitDescription(REPO)}; src/ fingerprint ${fingerprint.slice(0, 6)} (column "src": the one each export ran on)`,
      `work dir ${work} (${(free / 1e9).toFixed(0)} GB free); zip ${zipAvailable ? 'yes' : 'not found'}, unzip ${unzipAvailable ? 'yes' : 'not found'}`,
      `dataset ${(opts.size / MB).toFixed(0)} MB, compression ${opts.compressions.join('/')}, best of ${opts.repeat}`,
    ].join('\n'),
  );
  // Dataset, plus one output at a time (each output is removed once measured), plus slack.
  const needed = opts.size * 2.1;
  if (free < needed) throw new Error(`Not enough free space in ${work}: need ~${(needed / 1e9).toFixed(1)} GB, have ${(free / 1e9).toFixed(1)} GB (use --dir or a smaller --size)`);

  log('Generating the dataset…');
  const started = performance.now();
  const dataset = await generateDataset(paths.dataset, { size: opts.size, patients: opts.patients, seed: opts.seed, log });
  const generationSeconds = (performance.now() - started) / 1000;
  console.log(describeDataset(dataset, generationSeconds));

  log('Registering it in place through the importer…');
  const registered = await registerDataset(paths.data, paths.dataset);
  console.log(
    `registered ${registered.report.filesAdded} files of ${registered.report.patientsCreated} patients in place in ${registered.seconds.toFixed(1)} s (${(registered.report.bytesAdded / MB / registered.seconds).toFixed(0)} MB/s hashing)\n`,
  );

  const rows: Row[] = [];
  log('Plain copy (before the exports)…');
  const copyBefore = await bestOf(opts.repeat, () => timedOutput('copy', (out) => plainCopy(dataset.files, out)));
  rows.push({ name: 'plain copy, before exports', inputBytes: dataset.bytes, outputBytes: copyBefore.outputBytes, seconds: copyBefore.seconds, cpuSeconds: copyBefore.cpuSeconds });

  let zipSeconds: number | undefined;
  if (zipAvailable) {
    log('zip -r (default level 6)…');
    const zipped = await bestOf(opts.repeat, () => timedOutput('zip-r.zip', (out) => zipRecursive(paths.dataset, out)));
    zipSeconds = zipped.seconds;
    rows.push({ name: 'zip -r (level 6)', inputBytes: dataset.bytes, outputBytes: zipped.outputBytes, seconds: zipped.seconds, cpuSeconds: zipped.cpuSeconds });
  }

  const env = childEnv();
  const runs = new Map<string, ExportRun>();
  const exportRow = async (name: string, compression: CompressionMode, placement: WorkerPlacement, http: boolean, level?: number) => {
    log(`Export ${name}…`);
    const run = await bestExport(opts, registered, { compression, placement, http, level }, env, name, unzipAvailable);
    runs.set(name, run.run);
    rows.push({
      name: `export ${name}`,
      inputBytes: run.run.inputBytes,
      outputBytes: run.run.zipSize ?? 0,
      seconds: run.run.seconds,
      cpuSeconds: run.run.cpuSeconds,
      baseRss: run.run.baseRss,
      peakRss: run.peakRss,
      maxRss: run.maxRss,
      maxGapMs: run.run.maxSampleGapMs,
      verified: run.verified,
      code: [...run.code].join('+'),
    });
  };
  for (const compression of opts.compressions) await exportRow(`${compression}`, compression, 'in-process', false);
  if (opts.level !== undefined && opts.compressions.includes('auto')) {
    await exportRow(`auto, zlib level ${opts.level} (experiment)`, 'auto', 'in-process', false, opts.level);
  }
  if (opts.http && opts.compressions.includes('auto')) {
    // As `serve` runs it: HTTP in the main thread, the worker in a thread of its own…
    await exportRow('auto, HTTP + worker thread', 'auto', 'thread', true);
    // …and for comparison with the worker sharing the HTTP event loop.
    await exportRow('auto, HTTP + in-process worker', 'auto', 'in-process', true);
  }

  log('Plain copy (after the exports)…');
  const copyAfter = await bestOf(opts.repeat, () => timedOutput('copy', (out) => plainCopy(dataset.files, out)));
  rows.push({ name: 'plain copy, after exports', inputBytes: dataset.bytes, outputBytes: copyAfter.outputBytes, seconds: copyAfter.seconds, cpuSeconds: copyAfter.cpuSeconds });
  // The faster copy is the reference: noise only ever slows a run down, so this is the stricter bar.
  const copySeconds = Math.min(copyBefore.seconds, copyAfter.seconds);

  console.log(renderTable(rows, { copySeconds, zipSeconds }));
  console.log(
    '\nMB = 10^6 bytes. ×copy / ×zip -r = this run\'s speed over that of the faster plain copy / zip -r on the same bytes.\n' +
      'Export seconds run from ExportService.create to the row\'s completed_at (ZIP fsynced and renamed into place).\n' +
      'CPU s = user + system CPU of the process doing the work (all its threads; for zip -r, the zip process).\n' +
      'base RSS = child process idle with runtime (+HTTP app, +worker) loaded; peak = highest 100 ms sample during\n' +
      'the export; maxRSS = process.resourceUsage().maxRSS of that child over its life. loop stall = largest gap\n' +
      'between those 100 ms samples, i.e. how long the child\'s main event loop was blocked at worst.\n',
  );

  const latencyRows = [...runs.entries()].flatMap(([name, run]) =>
    run.health ? [{ name: `${name}: idle`, stats: run.health.idle }, { name: `${name}: during export`, stats: run.health.busy }] : [],
  );
  if (latencyRows.length) console.log(`${renderLatencies(latencyRows)}\n`);

  console.log(targets(runs, copySeconds, Math.max(copyBefore.seconds, copyAfter.seconds), zipSeconds));
  const fingerprintAfter = sourceFingerprint(SRC);
  if (fingerprintAfter !== fingerprint) {
    console.log(
      `\nWARNING: src/ changed during the run (fingerprint ${fingerprint.slice(0, 6)} → ${fingerprintAfter.slice(0, 6)}); ` +
        'rows with different "src" values measured different code. Run again for a consistent set.',
    );
  }

  if (opts.profile) {
    console.log(`\nCPU profiles in ${paths.profiles} (self time, hottest first):\n`);
    for (const dir of await fs.promises.readdir(paths.profiles)) {
      for (const file of (await fs.promises.readdir(path.join(paths.profiles, dir))).sort()) {
        console.log(`[${dir}] ${formatHottest(path.join(paths.profiles, dir, file))}\n`);
      }
    }
  }
}

function describeDataset(dataset: Dataset, seconds: number): string {
  const names: Record<Category, string> = { cbct: 'CBCT .nii.gz (incompressible)', stl: 'binary STL meshes', photo: 'JPEG photos' };
  const lines = [`\ndataset: ${(dataset.bytes / MB).toFixed(0)} MB in ${dataset.files.length} files over ${dataset.patients} patients, written in ${seconds.toFixed(1)} s`];
  for (const category of ['cbct', 'stl', 'photo'] as const) {
    const files = dataset.files.filter((f) => f.category === category);
    const bytes = files.reduce((n, f) => n + f.size, 0);
    const sizes = files.map((f) => f.size / MB);
    lines.push(
      `  ${names[category].padEnd(30)} ${String(files.length).padStart(4)} files ${(bytes / MB).toFixed(0).padStart(7)} MB (${((100 * bytes) / dataset.bytes).toFixed(0)} %), ` +
        `${Math.min(...sizes).toFixed(1)}–${Math.max(...sizes).toFixed(1)} MB each`,
    );
  }
  return lines.join('\n');
}

/** Runs `measure` against a fresh output path in the work dir and removes the output afterwards. */
async function timedOutput(name: string, measure: (output: string) => Promise<Timed>): Promise<Timed> {
  const output = path.join(paths.out, name);
  await fs.promises.rm(output, { force: true });
  try {
    return await measure(output);
  } finally {
    if (!options.keep) await fs.promises.rm(output, { force: true });
  }
}

async function bestOf(times: number, measure: () => Promise<Timed>): Promise<Timed> {
  let best: Timed | undefined;
  for (let i = 0; i < times; i++) {
    const result = await measure();
    if (!best || result.seconds < best.seconds) best = result;
  }
  return best!;
}

interface BestExport {
  run: ExportRun;
  /** Memory is a ceiling, so it is the worst over all repeats, not the fastest run's. */
  peakRss: number;
  maxRss: number;
  verified: string;
  /** src/ fingerprints (first 6 characters) the repeats ran on: more than one means src/ changed. */
  code: Set<string>;
}

async function bestExport(
  opts: BenchOptions,
  registered: Registered,
  shape: Pick<ChildJob, 'compression' | 'placement' | 'http' | 'level'>,
  env: Record<string, string>,
  name: string,
  verify: boolean,
): Promise<BestExport> {
  let best: ExportRun | undefined;
  let peakRss = 0;
  let maxRss = 0;
  const verdicts: string[] = [];
  const code = new Set<string>();
  for (let i = 0; i < opts.repeat; i++) {
    let profileDir: string | undefined;
    if (opts.profile) {
      profileDir = path.join(paths.profiles, `${name.replace(/[^a-z0-9]+/gi, '-')}-${i + 1}`);
      await fs.promises.mkdir(profileDir, { recursive: true });
    }
    const job: ChildJob = { ...shape, projectSlug: registered.projectSlug, userId: registered.userId, folderId: registered.folderId };
    code.add(sourceFingerprint(SRC).slice(0, 6));
    const run = await runExport(job, { env, profileDir });
    if (run.status !== 'completed') throw new Error(`Export ${name} ended ${run.status}: ${run.error ?? ''}`);
    log(
      `  ${run.seconds.toFixed(2)} s, ${((run.zipSize ?? 0) / MB).toFixed(0)} MB ZIP, peak RSS ${(run.peakRss / MB).toFixed(0)} MB, ` +
        `worst loop stall ${run.maxSampleGapMs.toFixed(0)} ms at ${run.maxSampleGapAt.toFixed(1)} s`,
    );
    peakRss = Math.max(peakRss, run.peakRss);
    maxRss = Math.max(maxRss, run.maxRss);
    if (run.zipPath) {
      if (verify) {
        const check = await unzipTest(run.zipPath);
        verdicts.push(check.ok ? 'OK' : 'FAILED');
        if (!check.ok) log(`  unzip -t: ${check.summary}`);
      }
      if (!opts.keep) await fs.promises.rm(run.zipPath, { force: true });
    }
    if (!best || run.seconds < best.seconds) best = run;
  }
  return { run: best!, peakRss, maxRss, code, verified: verify ? (verdicts.every((v) => v === 'OK') ? 'OK' : 'FAILED') : 'n/a' };
}

function targets(runs: Map<string, ExportRun>, copySeconds: number, slowerCopySeconds: number, zipSeconds: number | undefined): string {
  const lines = ['Targets:'];
  const store = runs.get('store');
  const storeRatio = store && ratio(store.seconds, copySeconds);
  // Judged against the faster copy; the slower one shows how much the disk itself varied.
  const lenient = store && ratio(store.seconds, slowerCopySeconds);
  lines.push(
    targetLine(
      storeRatio === undefined ? undefined : storeRatio >= TARGETS.storeVsCopy,
      `store ≥ ${TARGETS.storeVsCopy} × plain copy speed: ${storeRatio === undefined ? 'not run' : `${storeRatio.toFixed(2)} × (against the slower copy: ${lenient!.toFixed(2)} ×)`}`,
    ),
  );
  const auto = runs.get('auto');
  const autoRatio = auto && ratio(auto.seconds, zipSeconds);
  const served = runs.get('auto, HTTP + worker thread');
  const servedRatio = served && ratio(served.seconds, zipSeconds);
  lines.push(
    targetLine(
      autoRatio === undefined ? undefined : autoRatio >= TARGETS.autoVsZip,
      `auto ≥ ${TARGETS.autoVsZip} × faster than zip -r: ${autoRatio === undefined ? (zipSeconds === undefined ? 'zip not installed' : 'not run') : `${autoRatio.toFixed(2)} ×`}` +
        (servedRatio === undefined ? '' : ` (as served, HTTP + worker thread: ${servedRatio.toFixed(2)} ×)`),
    ),
  );
  for (const [name, run] of runs) {
    // Experiments are not what the app does, so they are shown beside the targets, not judged.
    if (name.includes('(experiment)') && zipSeconds !== undefined) lines.push(`info  ${name}: ${ratio(run.seconds, zipSeconds)!.toFixed(2)} × faster than zip -r`);
  }
  let worst: { name: string; bytes: number } | undefined;
  for (const [name, run] of runs) {
    const bytes = Math.max(run.peakRss, run.maxRss);
    if (!worst || bytes > worst.bytes) worst = { name, bytes };
  }
  lines.push(
    targetLine(
      worst === undefined ? undefined : worst.bytes < TARGETS.peakRssBytes,
      `peak RSS < ${TARGETS.peakRssBytes / MB} MB: ${worst === undefined ? 'no export run' : `${(worst.bytes / MB).toFixed(0)} MB (highest of sampled peak and maxRSS, export ${worst.name})`}`,
    ),
  );
  return lines.join('\n');
}

/** Only what a Node process needs, plus the benchmark's Cohort settings (see benchEnv). */
function childEnv(): Record<string, string> {
  const keep = ['PATH', 'HOME', 'TMPDIR', 'LANG', 'TZ'];
  const inherited = Object.fromEntries(keep.flatMap((k) => (process.env[k] ? [[k, process.env[k]!]] : [])));
  return { ...inherited, ...benchEnv(paths.data) };
}

async function freeBytes(dir: string): Promise<number> {
  const stats = await fs.promises.statfs(dir);
  return stats.bavail * stats.bsize;
}
