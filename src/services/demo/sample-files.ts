import { createCipheriv, createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { encode as encodeJpeg } from 'jpeg-js';

/**
 * Small but valid sample imaging files for the demo project and benchmarks. Every generator is a pure
 * function of its seed, so the same seed always yields byte-identical files (fixtures stay stable and
 * checksums can be asserted).
 */

/** mulberry32: tiny, fast and good enough for synthetic image content (not for anything secret). */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Approximately normal noise (Irwin-Hall with 4 terms): cheap, bounded, and looks like sensor noise. */
function gaussianish(random: () => number): number {
  return (random() + random() + random() + random() - 2) * Math.sqrt(3);
}

function assertSeed(seed: number): void {
  if (!Number.isInteger(seed)) throw new TypeError(`seed must be an integer, got ${seed}`);
}

function assertIntInRange(name: string, value: number, min: number, max: number): void {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new RangeError(`${name} must be an integer between ${min} and ${max}, got ${value}`);
  }
}

function clamp(value: number, min: number, max: number): number {
  return value < min ? min : value > max ? max : value;
}

// ---------------------------------------------------------------------------------------------------
// NIfTI-1 (CBCT-like volume)
// ---------------------------------------------------------------------------------------------------

const NIFTI_HEADER_SIZE = 348;
/** Header plus the 4-byte extension flag; voxel data starts right after, as in every plain .nii. */
const NIFTI_VOX_OFFSET = 352;
const NIFTI_DT_INT16 = 4;
const NIFTI_UNITS_MM = 2;
const NIFTI_XFORM_SCANNER_ANAT = 1;
/** Typical isotropic voxel size of a small-FOV dental CBCT. */
const CBCT_VOXEL_MM = 0.3;

export interface NiftiVolumeOptions {
  seed: number;
  /** Voxels along x, y, z. Default 48x48x32: ~150 KB raw, enough to look like a head in a viewer. */
  dims?: [number, number, number];
  /** Return `.nii.gz` bytes (default) rather than a plain `.nii`. */
  gzip?: boolean;
}

/**
 * A single-file NIfTI-1 volume of int16 Hounsfield units: air around an ellipsoidal head with a skin
 * layer, a skull shell whose density peaks mid-cortex, soft tissue inside and a few dense enamel-like
 * inclusions, all with seeded noise so the data compresses like a real scan rather than like zeros.
 */
export function makeNiftiVolume(opts: NiftiVolumeOptions): Buffer {
  assertSeed(opts.seed);
  const [nx, ny, nz] = opts.dims ?? [48, 48, 32];
  for (const [name, n] of [['dims[0]', nx], ['dims[1]', ny], ['dims[2]', nz]] as const) {
    assertIntInRange(name, n, 1, 1024);
  }
  const random = mulberry32(opts.seed);

  const header = Buffer.alloc(NIFTI_VOX_OFFSET);
  header.writeInt32LE(NIFTI_HEADER_SIZE, 0);
  header.write('r', 38, 'latin1'); // "regular", kept for ANALYZE 7.5 readers
  const dim = [3, nx, ny, nz, 1, 1, 1, 1];
  dim.forEach((d, i) => header.writeInt16LE(d, 40 + 2 * i));
  header.writeInt16LE(NIFTI_DT_INT16, 70);
  header.writeInt16LE(16, 72); // bitpix
  // pixdim[0] is qfac: +1 means a right-handed voxel grid, which the identity rotation below assumes.
  const pixdim = [1, CBCT_VOXEL_MM, CBCT_VOXEL_MM, CBCT_VOXEL_MM, 0, 0, 0, 0];
  pixdim.forEach((p, i) => header.writeFloatLE(p, 76 + 4 * i));
  header.writeFloatLE(NIFTI_VOX_OFFSET, 108);
  // Slope 1 / intercept 0 makes stored values the HU themselves (slope 0 would mean "unscaled" too,
  // but some readers mishandle it).
  header.writeFloatLE(1, 112);
  header.writeFloatLE(0, 116);
  header.writeUInt8(NIFTI_UNITS_MM, 123);
  // A bone-friendly display window for viewers that honour cal_min/cal_max.
  header.writeFloatLE(2000, 124);
  header.writeFloatLE(-1000, 128);
  header.write(`Cohort synthetic CBCT, seed ${opts.seed}`.slice(0, 79), 148, 'latin1');

  // Identity orientation scaled by the voxel size, with the origin at the volume centre so the head
  // sits around (0,0,0) mm. qform (quaternion b=c=d=0) and sform describe the same affine.
  const origin = [nx, ny, nz].map((n) => (-(n - 1) / 2) * CBCT_VOXEL_MM);
  header.writeInt16LE(NIFTI_XFORM_SCANNER_ANAT, 252);
  header.writeInt16LE(NIFTI_XFORM_SCANNER_ANAT, 254);
  origin.forEach((o, i) => header.writeFloatLE(o, 268 + 4 * i));
  for (let row = 0; row < 3; row++) {
    for (let col = 0; col < 4; col++) {
      const value = col === 3 ? origin[row]! : col === row ? CBCT_VOXEL_MM : 0;
      header.writeFloatLE(value, 280 + 16 * row + 4 * col);
    }
  }
  header.write('n+1\0', 344, 'latin1');
  // Bytes 348..351 stay zero: no header extensions follow.

  // Shape parameters come from the seed first so that different seeds give different anatomy, not
  // just different noise.
  const rx = 0.44 * nx * (0.95 + 0.1 * random());
  const ry = 0.46 * ny * (0.95 + 0.1 * random());
  const rz = 0.44 * nz * (0.95 + 0.1 * random());
  const cx = (nx - 1) / 2 + (random() - 0.5) * 0.04 * nx;
  const cy = (ny - 1) / 2 + (random() - 0.5) * 0.04 * ny;
  const cz = (nz - 1) / 2 + (random() - 0.5) * 0.04 * nz;
  const skinInner = 0.93;
  const boneOuter = 0.9;
  const boneInner = 0.76 + 0.04 * random();
  const inclusions = Array.from({ length: 6 }, () => ({
    x: cx + (random() - 0.5) * rx,
    y: cy + (random() - 0.5) * ry,
    z: cz + (random() - 0.5) * rz,
    r: 1.5 + 2 * random(),
  }));

  const data = Buffer.alloc(nx * ny * nz * 2);
  let offset = 0;
  // NIfTI stores x fastest, then y, then z.
  for (let z = 0; z < nz; z++) {
    for (let y = 0; y < ny; y++) {
      for (let x = 0; x < nx; x++) {
        const u = (x - cx) / rx;
        const v = (y - cy) / ry;
        const w = (z - cz) / rz;
        const r = Math.sqrt(u * u + v * v + w * w);
        let hu: number;
        let noise = 20;
        if (r > 1) {
          hu = -1000;
          noise = 8;
        } else if (r > skinInner) {
          hu = 30;
        } else if (r > boneOuter) {
          hu = 60; // periosteum / scalp between skin and bone
        } else if (r > boneInner) {
          // Denser cortex in the middle of the shell, spongier towards both surfaces.
          const depth = (r - boneInner) / (boneOuter - boneInner);
          hu = 1100 + 800 * (1 - Math.abs(2 * depth - 1));
          noise = 60;
        } else {
          hu = 40;
        }
        for (const inc of inclusions) {
          const dx = x - inc.x;
          const dy = y - inc.y;
          const dz = z - inc.z;
          if (dx * dx + dy * dy + dz * dz < inc.r * inc.r) {
            hu = 2500;
            noise = 80;
          }
        }
        data.writeInt16LE(Math.round(clamp(hu + noise * gaussianish(random), -1024, 3071)), offset);
        offset += 2;
      }
    }
  }

  const nii = Buffer.concat([header, data]);
  return opts.gzip === false ? nii : gzipSync(nii);
}

// ---------------------------------------------------------------------------------------------------
// Binary STL (intraoral scan of one dental arch)
// ---------------------------------------------------------------------------------------------------

type Vec3 = [number, number, number];

export interface BinaryStlOptions {
  seed: number;
  arch: 'upper' | 'lower';
  /** Cross-sections along the arch; triangles = 2 * segments * ring points + caps. */
  segments?: number;
}

/** Points around each cross-section of the arch tube. */
const STL_RING_POINTS = 20;
/** Crown bumps along the arch, one per permanent tooth excluding third molars. */
const TEETH_PER_ARCH = 14;

/**
 * A binary STL of a closed, watertight horseshoe tube shaped like a dental arch (coordinates in mm),
 * with a bump per tooth and seeded surface jitter. The upper arch is slightly wider and sits above
 * the lower one, as the two would in occlusion.
 */
export function makeBinaryStl(opts: BinaryStlOptions): Buffer {
  assertSeed(opts.seed);
  const segments = opts.segments ?? 96;
  assertIntInRange('segments', segments, 2, 100_000);
  const random = mulberry32(opts.seed);
  const upper = opts.arch === 'upper';

  // Half-width and depth of the arch curve, and the tube's cross-section half-axes.
  const halfWidth = (upper ? 26 : 23.5) * (0.96 + 0.08 * random());
  const depth = (upper ? 24 : 21.5) * (0.96 + 0.08 * random());
  const halfThickness = 4.5;
  const halfHeight = 4;
  const zCentre = upper ? 5 : -5;
  // Crowns point towards the occlusal plane (z=0): down for the upper arch, up for the lower one.
  const occlusalSign = upper ? -1 : 1;
  // The arch spans a little over a half-turn so its ends (the last molars) curve back like a horseshoe.
  const phiMax = (100 * Math.PI) / 180;

  const centre = (phi: number): Vec3 => [halfWidth * Math.sin(phi), depth * Math.cos(phi), zCentre];
  const tangent = (phi: number): Vec3 => normalize([halfWidth * Math.cos(phi), -depth * Math.sin(phi), 0]);

  // Build the vertex grid first so that neighbouring triangles share bit-identical vertices; this
  // is what makes the mesh watertight once written as float32.
  const rings: Vec3[][] = [];
  for (let i = 0; i <= segments; i++) {
    const s = i / segments;
    const phi = -phiMax + 2 * phiMax * s;
    const c = centre(phi);
    const t = tangent(phi);
    // (t, n, up) is a right-handed frame, which fixes the winding below to face outwards.
    const n: Vec3 = [-t[1], t[0], 0];
    const crown = Math.pow(Math.abs(Math.cos(Math.PI * TEETH_PER_ARCH * s)), 0.6);
    const ring: Vec3[] = [];
    for (let j = 0; j < STL_RING_POINTS; j++) {
      const theta = (2 * Math.PI * j) / STL_RING_POINTS;
      const cos = Math.cos(theta);
      const sin = Math.sin(theta);
      // Cusps only on the occlusal half of the cross-section.
      const cusp = sin * occlusalSign > 0 ? 1 + 0.35 * crown * Math.abs(sin) : 1;
      const jitter = 1 + 0.02 * gaussianish(random);
      const a = halfThickness * jitter;
      const b = halfHeight * cusp * jitter;
      ring.push(fround3([c[0] + a * cos * n[0], c[1] + a * cos * n[1], c[2] + b * sin]));
    }
    rings.push(ring);
  }
  const startCap = fround3(centre(-phiMax));
  const endCap = fround3(centre(phiMax));

  const triangles: [Vec3, Vec3, Vec3][] = [];
  for (let i = 0; i < segments; i++) {
    for (let j = 0; j < STL_RING_POINTS; j++) {
      const k = (j + 1) % STL_RING_POINTS;
      const p00 = rings[i]![j]!;
      const p01 = rings[i]![k]!;
      const p10 = rings[i + 1]![j]!;
      const p11 = rings[i + 1]![k]!;
      triangles.push([p00, p01, p11], [p00, p11, p10]);
    }
  }
  const first = rings[0]!;
  const last = rings[segments]!;
  for (let j = 0; j < STL_RING_POINTS; j++) {
    const k = (j + 1) % STL_RING_POINTS;
    triangles.push([startCap, first[k]!, first[j]!], [endCap, last[j]!, last[k]!]);
  }

  const out = Buffer.alloc(84 + 50 * triangles.length);
  // Readers sniff ASCII STL by a leading "solid", so the header must not start with it.
  out.write(`Cohort synthetic intraoral scan, ${opts.arch} arch, seed ${opts.seed}, units mm`.slice(0, 80), 0, 'latin1');
  out.writeUInt32LE(triangles.length, 80);
  let offset = 84;
  for (const [a, b, c] of triangles) {
    for (const value of [...triangleNormal(a, b, c), ...a, ...b, ...c]) {
      out.writeFloatLE(value, offset);
      offset += 4;
    }
    out.writeUInt16LE(0, offset);
    offset += 2;
  }
  return out;
}

function fround3(v: Vec3): Vec3 {
  return [Math.fround(v[0]), Math.fround(v[1]), Math.fround(v[2])];
}

function normalize(v: Vec3): Vec3 {
  const length = Math.hypot(v[0], v[1], v[2]);
  return [v[0] / length, v[1] / length, v[2] / length];
}

/** Unit normal by the right-hand rule over (b - a) x (c - a), the orientation STL readers expect. */
function triangleNormal(a: Vec3, b: Vec3, c: Vec3): Vec3 {
  const e1: Vec3 = [b[0] - a[0], b[1] - a[1], b[2] - a[2]];
  const e2: Vec3 = [c[0] - a[0], c[1] - a[1], c[2] - a[2]];
  return normalize([e1[1] * e2[2] - e1[2] * e2[1], e1[2] * e2[0] - e1[0] * e2[2], e1[0] * e2[1] - e1[1] * e2[0]]);
}

// ---------------------------------------------------------------------------------------------------
// JPEG (intraoral photo)
// ---------------------------------------------------------------------------------------------------

export interface JpegPhotoOptions {
  seed: number;
  width?: number;
  height?: number;
  /** jpeg-js quality, 1-100. */
  quality?: number;
}

type Rgb = [number, number, number];

/**
 * A JPEG that reads as an intraoral photo at a glance: dark mouth interior, pink gingiva bands top and
 * bottom, a row of off-white rounded teeth across the middle, lens vignetting and seeded noise.
 */
export function makeJpegPhoto(opts: JpegPhotoOptions): Buffer {
  assertSeed(opts.seed);
  const width = opts.width ?? 320;
  const height = opts.height ?? 240;
  const quality = opts.quality ?? 85;
  assertIntInRange('width', width, 1, 8192);
  assertIntInRange('height', height, 1, 8192);
  assertIntInRange('quality', quality, 1, 100);
  const random = mulberry32(opts.seed);

  const toothCount = 6 + Math.floor(random() * 3);
  const rowTop = height * (0.3 + 0.05 * random());
  const rowBottom = height * (0.68 + 0.05 * random());
  const teeth = Array.from({ length: toothCount }, (_, i) => {
    const slot = width / toothCount;
    return {
      cx: slot * (i + 0.5) + (random() - 0.5) * slot * 0.1,
      halfWidth: slot * (0.4 + 0.06 * random()),
      top: rowTop + (random() - 0.5) * height * 0.04,
      bottom: rowBottom + (random() - 0.5) * height * 0.04,
      shade: 0.9 + 0.1 * random(),
    };
  });

  const gum: Rgb = [214, 112, 124];
  const mouth: Rgb = [92, 28, 36];
  const enamel: Rgb = [238, 232, 214];
  const pixels = Buffer.alloc(width * height * 4);
  for (let y = 0; y < height; y++) {
    // Gingiva fades into the darker mouth interior towards the occlusal line.
    const fromEdge = Math.min(y, height - 1 - y) / (height / 2);
    const gumMix = clamp(1 - fromEdge * 1.6, 0, 1);
    for (let x = 0; x < width; x++) {
      let color: Rgb = mix(mouth, gum, gumMix);
      for (const tooth of teeth) {
        const inside = superellipse(x, y, tooth);
        if (inside < 1) {
          // Brighter towards the middle of each crown, as under a ring flash.
          const lit = tooth.shade * (0.82 + 0.18 * (1 - inside));
          color = [enamel[0] * lit, enamel[1] * lit, enamel[2] * lit];
          break;
        }
      }
      const dx = (x - width / 2) / (width / 2);
      const dy = (y - height / 2) / (height / 2);
      const vignette = 1 - 0.35 * clamp((dx * dx + dy * dy) / 2, 0, 1);
      const grain = 6 * gaussianish(random);
      const i = 4 * (y * width + x);
      pixels[i] = clamp(Math.round(color[0] * vignette + grain), 0, 255);
      pixels[i + 1] = clamp(Math.round(color[1] * vignette + grain), 0, 255);
      pixels[i + 2] = clamp(Math.round(color[2] * vignette + grain), 0, 255);
      pixels[i + 3] = 255;
    }
  }
  return encodeJpeg({ data: pixels, width, height }, quality).data;
}

function mix(a: Rgb, b: Rgb, t: number): Rgb {
  return [a[0] + (b[0] - a[0]) * t, a[1] + (b[1] - a[1]) * t, a[2] + (b[2] - a[2]) * t];
}

/** Distance-like measure for a rounded-rectangle crown: < 1 inside, 0 at its centre, Infinity well outside. */
function superellipse(x: number, y: number, t: { cx: number; halfWidth: number; top: number; bottom: number }): number {
  const halfHeight = (t.bottom - t.top) / 2;
  const u = Math.abs(x - t.cx) / t.halfWidth;
  const v = Math.abs(y - (t.top + halfHeight)) / halfHeight;
  // Cheap rejection first: this runs for every tooth at every pixel.
  if (u >= 1 || v >= 1) return Infinity;
  const u2 = u * u;
  const v2 = v * v;
  return Math.sqrt(Math.sqrt(u2 * u2 + v2 * v2));
}

// ---------------------------------------------------------------------------------------------------
// Incompressible bytes (benchmarks of large volumes)
// ---------------------------------------------------------------------------------------------------

const INCOMPRESSIBLE_CHUNK = 64 * 1024;

/**
 * AES-128-CTR keystream keyed from the seed. A JS PRNG would do, but this runs at memory speed thanks
 * to hardware AES, which matters when benchmarks stream gigabytes; and a CTR keystream continues
 * seamlessly across update() calls, so chunked and one-shot output are identical by construction.
 */
function keystream(seed: number) {
  assertSeed(seed);
  const key = createHash('sha256').update(`cohort-sample-bytes:${seed}`).digest().subarray(0, 16);
  return createCipheriv('aes-128-ctr', key, Buffer.alloc(16));
}

function assertSize(size: number): void {
  if (!Number.isSafeInteger(size) || size < 0) throw new RangeError(`size must be a non-negative integer, got ${size}`);
}

/** `size` deterministic pseudo-random bytes; equal to the concatenation of `incompressibleStream(seed, size)`. */
export function makeIncompressibleBytes(seed: number, size: number): Buffer {
  assertSize(size);
  return keystream(seed).update(Buffer.alloc(size));
}

/** The same bytes as `makeIncompressibleBytes`, produced on demand so huge sizes never sit in memory. */
export function incompressibleStream(seed: number, size: number): Readable {
  assertSize(size);
  const cipher = keystream(seed);
  const zeros = Buffer.alloc(INCOMPRESSIBLE_CHUNK);
  let remaining = size;
  return new Readable({
    highWaterMark: INCOMPRESSIBLE_CHUNK,
    read() {
      if (remaining === 0) {
        this.push(null);
        return;
      }
      const n = Math.min(remaining, INCOMPRESSIBLE_CHUNK);
      remaining -= n;
      this.push(cipher.update(n === INCOMPRESSIBLE_CHUNK ? zeros : zeros.subarray(0, n)));
    },
  });
}
