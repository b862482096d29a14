import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import fs from 'node:fs';
import { syncFile, type DatasetFile } from './dataset.js';

export interface Timed {
  seconds: number;
  /** User + system CPU spent on it: steadier than wall time on a shared machine. */
  cpuSeconds: number;
  outputBytes: number;
}

/**
 * The yardstick for `store`: the same bytes read and written once by Node streams, into one file on
 * the same filesystem, made durable with fsync as LocalBlobStore.put does for a ZIP. No hashing, no
 * ZIP framing: what is left is the I/O any export has to do.
 */
export async function plainCopy(files: readonly DatasetFile[], output: string): Promise<Timed> {
  const started = performance.now();
  // This process does nothing else meanwhile, so its own CPU usage is the copy's.
  const cpu = process.cpuUsage();
  const out = fs.createWriteStream(output, { flags: 'wx' });
  const failed = new Promise<never>((_, reject) => out.once('error', reject));
  failed.catch(() => undefined); // surfaced by the races below; never an unhandled rejection
  for (const file of files) {
    // Same read stream (64 KiB chunks) as the export pipeline uses for in-place files.
    for await (const chunk of fs.createReadStream(file.absPath)) {
      if (!out.write(chunk)) await Promise.race([once(out, 'drain'), failed]);
    }
  }
  out.end();
  await Promise.race([once(out, 'finish'), failed]);
  if (!out.closed) await once(out, 'close');
  await syncFile(output);
  const used = process.cpuUsage(cpu);
  return { seconds: (performance.now() - started) / 1000, cpuSeconds: (used.user + used.system) / 1e6, outputBytes: out.bytesWritten };
}

export function hasCommand(name: string): boolean {
  return spawnSync('which', [name], { stdio: 'ignore' }).status === 0;
}

/**
 * `zip -r` at its default level (6) over the dataset directory, plus an fsync of the result so it
 * pays for durability as the export does. Info-ZIP deflates everything whose suffix is not in its
 * short built-in list (.Z .zip .zoo .arc .lzh .arj), so `.nii.gz` and `.jpg` are deflated for nothing
 * — which is what a researcher zipping a folder by hand gets.
 */
export async function zipRecursive(datasetRoot: string, output: string): Promise<Timed> {
  const started = performance.now();
  // The shell's `times` reports the CPU its children (zip) used: second line, "user system".
  const report = await run('sh', ['-c', 'zip -r -q "$1" . && times', 'sh', output], datasetRoot);
  await syncFile(output);
  const children = report.trim().split('\n').pop() ?? '';
  const [user, system] = [...children.matchAll(/(\d+)m([\d.]+)s/g)].map((m) => Number(m[1]) * 60 + Number(m[2]));
  return {
    seconds: (performance.now() - started) / 1000,
    cpuSeconds: user !== undefined && system !== undefined ? user + system : NaN,
    outputBytes: (await fs.promises.stat(output)).size,
  };
}

export interface Verification {
  ok: boolean;
  seconds: number;
  summary: string;
}

/** `unzip -tq`: every entry decompressed and its CRC-32 checked against the central directory. */
export async function unzipTest(zip: string): Promise<Verification> {
  const started = performance.now();
  try {
    const output = await run('unzip', ['-tq', zip]);
    return { ok: /No errors detected/.test(output), seconds: (performance.now() - started) / 1000, summary: output.trim().split('\n').pop() ?? '' };
  } catch (error) {
    return { ok: false, seconds: (performance.now() - started) / 1000, summary: (error as Error).message.split('\n').slice(0, 5).join(' | ') };
  }
}

/** Commands still running, each the leader of its own process group (`sh` and the `zip` under it). */
const liveCommands = new Set<ChildProcess>();

/** Stops the commands this benchmark started (an interrupted run), and nothing else. */
export function stopCommands(): void {
  for (const child of liveCommands) {
    try {
      if (child.pid) process.kill(-child.pid, 'SIGTERM');
    } catch {
      // Already gone.
    }
  }
}

function run(command: string, args: string[], cwd?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    // A group of its own, so that stopping `sh -c 'zip …'` stops zip too.
    const child = spawn(command, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    liveCommands.add(child);
    child.once('close', () => liveCommands.delete(child));
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.once('error', reject);
    child.once('close', (code) => (code === 0 ? resolve(output) : reject(new Error(`${command} exited with ${code}: ${output.trim()}`))));
  });
}
