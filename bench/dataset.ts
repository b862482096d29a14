import fs from 'node:fs';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { incompressibleStream, makeBinaryStl, makeJpegPhoto, mulberry32 } from '../src/services/demo/sample-files.js';

/**
 * The synthetic dataset: the mix of a real dental imaging cohort, by bytes.
 *
 * - CBCT volumes (`cbct/*.nii.gz`, 50–300 MB): incompressible bytes, as gzipped NIfTI is. They are
 *   not valid gzip (nothing reads their content here); the `.nii.gz` name is what makes `auto`
 *   store them, as it would real ones.
 * - Intraoral scans (`ios/upper_NN.stl`, `lower_NN.stl`, 10–40 MB): binary STL meshes; float32
 *   coordinates deflate to roughly 40–45 %, which is why `auto` compresses them.
 * - Intraoral photos (`intraoral-photo/*.jpg`, 1–5 MB): real JPEGs, which do not deflate.
 */
export type Category = 'cbct' | 'stl' | 'photo';

export const SHARES: Record<Category, number> = { cbct: 0.68, stl: 0.21, photo: 0.11 };

const MB = 1e6;
const CBCT_SIZE = { min: 50 * MB, max: 300 * MB };
const STL_SIZE = { min: 10 * MB, max: 40 * MB };
const STL_HEADER = 84;
const STL_TRIANGLE = 50;

export interface DatasetFile {
  relPath: string;
  absPath: string;
  category: Category;
  size: number;
}

export interface Dataset {
  /** The import root; also what the plain copy and `zip -r` read. */
  root: string;
  files: DatasetFile[];
  patients: number;
  bytes: number;
}

/** Plans are reproducible from the seed: the same generator as the sample files. */
const random = mulberry32;

/**
 * Sizes in [min, max] adding up to `budget`: the last two files are adjusted so none falls outside
 * the range (only a budget below `min` yields one smaller file).
 */
function splitBudget(budget: number, range: { min: number; max: number }, rng: () => number): number[] {
  const sizes: number[] = [];
  let left = Math.round(budget);
  while (left > 0) {
    let size = Math.round(range.min + (range.max - range.min) * rng());
    if (left <= range.max) size = left;
    else if (left - size < range.min) size = left - range.min;
    sizes.push(size);
    left -= size;
  }
  return sizes;
}

/**
 * Photos are slow to encode in JavaScript (jpeg-js, ~2 s for 12 MP), so a handful of distinct
 * photos of 1–5 MB is made once and reused under different names. Reuse does not flatter any
 * measurement: neither the copy nor ZIP writers nor deflate (32 KB window) see across files.
 */
function photoPool(seed: number): Buffer[] {
  const shapes: Array<[number, number, number]> = [
    [2000, 1500, 92],
    [2800, 2100, 92],
    [3400, 2550, 93],
    [4000, 3000, 94],
  ];
  return shapes.map(([width, height, quality], i) => makeJpegPhoto({ seed: seed * 100 + i, width, height, quality }));
}

/**
 * Triangle records (without the 84-byte STL header) of a few large arch meshes, cycled to build
 * bigger files; each piece is ~10 MB, far beyond deflate's window, so repetition compresses no
 * better than unique data would.
 */
function meshPool(seed: number): Buffer[] {
  const pieces: Buffer[] = [];
  for (let i = 0; i < 2; i++) {
    for (const arch of ['upper', 'lower'] as const) {
      pieces.push(makeBinaryStl({ seed: seed * 100 + i, arch, segments: 5000 }).subarray(STL_HEADER));
    }
  }
  return pieces;
}

interface PlannedFile {
  relPath: string;
  category: Category;
  size: number;
  /** CBCT: keystream seed; STL: first mesh piece; photo: index into the photo pool. */
  source: number;
}

function plan(totalBytes: number, patients: number, seed: number, photos: Buffer[]): PlannedFile[] {
  const rng = random(seed);
  const patientDir = (i: number) => `patient_${String((i % patients) + 1).padStart(3, '0')}`;
  const counters = new Map<string, number>();
  const next = (key: string) => {
    const n = (counters.get(key) ?? 0) + 1;
    counters.set(key, n);
    return String(n).padStart(2, '0');
  };
  const files: PlannedFile[] = [];
  splitBudget(totalBytes * SHARES.cbct, CBCT_SIZE, rng).forEach((size, i) => {
    const dir = patientDir(i);
    files.push({ relPath: `${dir}/cbct/scan_${next(`${dir}/cbct`)}.nii.gz`, category: 'cbct', size, source: seed * 1000 + i });
  });
  splitBudget(totalBytes * SHARES.stl, STL_SIZE, rng).forEach((size, i) => {
    const dir = patientDir(i);
    const arch = i % 2 === 0 ? 'upper' : 'lower';
    // A binary STL is 84 header bytes plus 50 per triangle, so sizes snap to whole triangles.
    const triangles = Math.max(1, Math.floor((size - STL_HEADER) / STL_TRIANGLE));
    files.push({ relPath: `${dir}/ios/${arch}_${next(`${dir}/${arch}`)}.stl`, category: 'stl', size: STL_HEADER + STL_TRIANGLE * triangles, source: i });
  });
  // Photos: whole pool photos until the budget is spent (at least one).
  let left = totalBytes * SHARES.photo;
  for (let i = 0; left > 0 || i === 0; i++) {
    const pick = Math.floor(rng() * photos.length);
    const dir = patientDir(i);
    files.push({ relPath: `${dir}/intraoral-photo/photo_${next(`${dir}/photo`)}.jpg`, category: 'photo', size: photos[pick]!.length, source: pick });
    left -= photos[pick]!.length;
  }
  return files;
}

/** Writes the dataset under `root` (which must not exist) and fsyncs every file. */
export async function generateDataset(root: string, options: { size: number; patients?: number; seed: number; log: (line: string) => void }): Promise<Dataset> {
  const patients = options.patients ?? Math.max(2, Math.round(options.size / (200 * MB)));
  options.log(`  making sample meshes and photos…`);
  const photos = photoPool(options.seed);
  const meshes = meshPool(options.seed);
  const planned = plan(options.size, patients, options.seed, photos);
  const files: DatasetFile[] = [];
  let written = 0;
  for (const file of planned) {
    const absPath = path.join(root, ...file.relPath.split('/'));
    await fs.promises.mkdir(path.dirname(absPath), { recursive: true });
    if (file.category === 'cbct') {
      await pipeline(incompressibleStream(file.source, file.size), fs.createWriteStream(absPath, { flags: 'wx' }));
      await syncFile(absPath);
    } else if (file.category === 'stl') {
      await writeStl(absPath, file.size, file.source, meshes);
    } else {
      await writeSynced(absPath, [photos[file.source]!]);
    }
    files.push({ relPath: file.relPath, absPath, category: file.category, size: file.size });
    // One line per tenth of the dataset is enough to show it is moving.
    const before = Math.floor((10 * written) / options.size);
    written += file.size;
    if (Math.floor((10 * written) / options.size) > before) options.log(`  ${((100 * written) / options.size).toFixed(0)} % written (${files.length} files)`);
  }
  return { root, files, patients, bytes: written };
}

async function writeStl(file: string, size: number, firstPiece: number, pieces: Buffer[]): Promise<void> {
  const triangles = (size - STL_HEADER) / STL_TRIANGLE;
  const header = Buffer.alloc(STL_HEADER);
  // Readers sniff ASCII STL by a leading "solid", so the header must not start with it.
  header.write(`Cohort benchmark intraoral scan, ${triangles} triangles, units mm`, 0, 'latin1');
  header.writeUInt32LE(triangles, 80);
  const parts: Buffer[] = [header];
  let left = triangles * STL_TRIANGLE;
  for (let i = firstPiece; left > 0; i++) {
    const piece = pieces[i % pieces.length]!;
    const take = Math.min(left, piece.length);
    parts.push(piece.subarray(0, take));
    left -= take;
  }
  await writeSynced(file, parts);
}

async function writeSynced(file: string, parts: Buffer[]): Promise<void> {
  const handle = await fs.promises.open(file, 'wx');
  try {
    for (const part of parts) await handle.write(part);
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/**
 * Generated data must be on disk before any measurement starts: otherwise the kernel writes it back
 * in the background while the copy or an export is being timed.
 */
export async function syncFile(file: string): Promise<void> {
  const handle = await fs.promises.open(file, 'r+');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
