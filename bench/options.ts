import { parseArgs } from 'node:util';
import { parseByteSize } from '../src/domain/units.js';

export type CompressionMode = 'store' | 'auto' | 'deflate';

export interface BenchOptions {
  /** Total bytes of the synthetic dataset. */
  size: number;
  /** Keep the temporary directory (dataset, database, ZIPs) instead of removing it. */
  keep: boolean;
  compressions: CompressionMode[];
  /** Parent directory for the run's temporary directory; os.tmpdir() by default. */
  dir?: string;
  /** Patients to spread the files over; derived from the size by default. */
  patients?: number;
  /** Runs per measurement; the fastest run counts (noise on a shared machine only ever slows runs down). */
  repeat: number;
  /** Skip the HTTP responsiveness runs. */
  http: boolean;
  /** Write V8 CPU profiles of every export run (node --cpu-prof) and summarise them. */
  profile: boolean;
  /** Also run `auto` in-process at this zlib level (the app's is fixed at 6), as an experiment. */
  level?: number;
  seed: number;
}

const USAGE = `Usage: npm run bench -- [options]

  --size <bytes>        dataset size, e.g. 500MB, 1GB, 3GB (default 1GB)
  --compression <mode>  auto | store | deflate | all (default all)
  --patients <n>        patients to spread the files over (default: one per ~200 MB, at least 2)
  --repeat <n>          runs per measurement, fastest counts (default 1)
  --dir <path>          parent of the temporary directory (default: the OS temp dir)
  --keep                keep the dataset, database and ZIPs
  --no-http             skip the API responsiveness runs
  --profile             write CPU profiles of the export runs and print their hottest functions
  --level <0-9>         also run auto in-process at this zlib level (experiment; the app uses 6)
  --seed <n>            seed of the synthetic data (default 1)
`;

export function parseOptions(argv: string[]): BenchOptions {
  const { values } = parseArgs({
    args: argv,
    options: {
      size: { type: 'string', default: '1GB' },
      keep: { type: 'boolean', default: false },
      compression: { type: 'string', default: 'all' },
      dir: { type: 'string' },
      patients: { type: 'string' },
      repeat: { type: 'string', default: '1' },
      'no-http': { type: 'boolean', default: false },
      profile: { type: 'boolean', default: false },
      level: { type: 'string' },
      seed: { type: 'string', default: '1' },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(USAGE);
    process.exit(0);
  }
  const size = parseByteSize(values.size);
  if (size === null || size < 10e6) fail(`--size must be a size of at least 10MB, such as 1GB (got ${values.size})`);
  const compression = values.compression;
  const all: CompressionMode[] = ['store', 'auto', 'deflate'];
  if (compression !== 'all' && !all.includes(compression as CompressionMode)) fail(`--compression must be auto, store, deflate or all (got ${compression})`);
  const positiveInt = (name: string, text: string | undefined): number | undefined => {
    if (text === undefined) return undefined;
    const n = Number(text);
    if (!Number.isInteger(n) || n < 1) fail(`--${name} must be a positive integer (got ${text})`);
    return n;
  };
  return {
    size: size!,
    keep: values.keep,
    compressions: compression === 'all' ? all : [compression as CompressionMode],
    dir: values.dir,
    patients: positiveInt('patients', values.patients),
    repeat: positiveInt('repeat', values.repeat) ?? 1,
    http: !values['no-http'],
    profile: values.profile,
    level: values.level === undefined ? undefined : zlibLevel(values.level),
    seed: Number.isInteger(Number(values.seed)) ? Number(values.seed) : fail(`--seed must be an integer (got ${values.seed})`),
  };
}

function zlibLevel(text: string): number {
  const n = Number(text);
  return Number.isInteger(n) && n >= 0 && n <= 9 ? n : fail(`--level must be a zlib level 0-9 (got ${text})`);
}

function fail(message: string): never {
  process.stderr.write(`${message}\n\n${USAGE}`);
  process.exit(2);
}
