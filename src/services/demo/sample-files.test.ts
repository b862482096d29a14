import { gunzipSync, gzipSync } from 'node:zlib';
import { decode as decodeJpeg } from 'jpeg-js';
import { describe, expect, it } from 'vitest';
import {
  incompressibleStream,
  makeBinaryStl,
  makeIncompressibleBytes,
  makeJpegPhoto,
  makeNiftiVolume,
} from './sample-files.js';

type Vec3 = [number, number, number];

describe('makeNiftiVolume', () => {
  const parseHeader = (nii: Buffer) => ({
    sizeofHdr: nii.readInt32LE(0),
    dim: Array.from({ length: 8 }, (_, i) => nii.readInt16LE(40 + 2 * i)),
    datatype: nii.readInt16LE(70),
    bitpix: nii.readInt16LE(72),
    pixdim: Array.from({ length: 4 }, (_, i) => nii.readFloatLE(76 + 4 * i)),
    voxOffset: nii.readFloatLE(108),
    sclSlope: nii.readFloatLE(112),
    xyztUnits: nii.readUInt8(123),
    qformCode: nii.readInt16LE(252),
    sformCode: nii.readInt16LE(254),
    srow: Array.from({ length: 3 }, (_, r) => Array.from({ length: 4 }, (_, c) => nii.readFloatLE(280 + 16 * r + 4 * c))),
    magic: nii.toString('latin1', 344, 348),
    extension: [...nii.subarray(348, 352)],
  });

  it('writes a gzipped single-file NIfTI-1 int16 volume with a consistent header', () => {
    const gz = makeNiftiVolume({ seed: 1 });
    expect([gz[0], gz[1]]).toEqual([0x1f, 0x8b]);
    const nii = gunzipSync(gz);
    const h = parseHeader(nii);
    expect(h.sizeofHdr).toBe(348);
    expect(h.magic).toBe('n+1\0');
    expect(h.extension).toEqual([0, 0, 0, 0]);
    expect(h.dim.slice(0, 4)).toEqual([3, 48, 48, 32]);
    expect(h.datatype).toBe(4);
    expect(h.bitpix).toBe(16);
    expect(h.voxOffset).toBe(352);
    expect(h.sclSlope).toBe(1);
    expect(h.xyztUnits & 0x07).toBe(2); // millimetres
    expect(h.pixdim[0]).toBe(1); // qfac
    const voxel = h.pixdim[1]!;
    expect(voxel).toBeGreaterThan(0.05);
    expect(voxel).toBeLessThan(1);
    expect(h.pixdim[2]).toBe(voxel);
    expect(h.pixdim[3]).toBe(voxel);
    expect(h.qformCode).toBeGreaterThan(0);
    expect(h.sformCode).toBeGreaterThan(0);
    // Diagonal affine scaled by the voxel size, centred on the volume.
    for (let r = 0; r < 3; r++) {
      for (let c = 0; c < 3; c++) expect(h.srow[r]![c]).toBeCloseTo(r === c ? voxel : 0, 6);
      expect(h.srow[r]![3]).toBeCloseTo((-(h.dim[r + 1]! - 1) / 2) * voxel, 4);
    }
    expect(nii.length).toBe(352 + 48 * 48 * 32 * 2);
  });

  it('honours custom dims and gzip: false', () => {
    const nii = makeNiftiVolume({ seed: 5, dims: [20, 16, 12], gzip: false });
    expect(parseHeader(nii).dim.slice(0, 4)).toEqual([3, 20, 16, 12]);
    expect(nii.length).toBe(352 + 20 * 16 * 12 * 2);
    expect(gunzipSync(makeNiftiVolume({ seed: 5, dims: [20, 16, 12] })).equals(nii)).toBe(true);
    expect(() => makeNiftiVolume({ seed: 5, dims: [0, 16, 12] })).toThrow(RangeError);
    expect(() => makeNiftiVolume({ seed: 1.5 })).toThrow(TypeError);
  });

  it('is deterministic per seed', () => {
    const a = makeNiftiVolume({ seed: 42 });
    expect(makeNiftiVolume({ seed: 42 }).equals(a)).toBe(true);
    expect(makeNiftiVolume({ seed: 43 }).equals(a)).toBe(false);
  });

  it('holds a plausible head of air, soft tissue and bone that does not compress to nothing', () => {
    const gz = makeNiftiVolume({ seed: 7 });
    const nii = gunzipSync(gz);
    const count = (nii.length - 352) / 2;
    let air = 0;
    let soft = 0;
    let bone = 0;
    for (let i = 0; i < count; i++) {
      const hu = nii.readInt16LE(352 + 2 * i);
      if (hu < -900) air++;
      else if (hu > -100 && hu < 200) soft++;
      else if (hu >= 1000) bone++;
    }
    expect(air / count).toBeGreaterThan(0.1);
    expect(soft / count).toBeGreaterThan(0.1);
    expect(bone / count).toBeGreaterThan(0.05);
    expect(nii.length / gz.length).toBeLessThan(5);
  });
});

describe('makeBinaryStl', () => {
  const parseStl = (stl: Buffer) => {
    const n = stl.readUInt32LE(80);
    const triangles = Array.from({ length: n }, (_, t) => {
      const at = (k: number) => stl.readFloatLE(84 + 50 * t + 4 * k);
      const vec = (k: number): Vec3 => [at(k), at(k + 1), at(k + 2)];
      return { normal: vec(0), vertices: [vec(3), vec(6), vec(9)] as [Vec3, Vec3, Vec3], attr: stl.readUInt16LE(84 + 50 * t + 48) };
    });
    return { header: stl.toString('latin1', 0, 80), n, triangles };
  };
  const sub = (a: Vec3, b: Vec3): Vec3 => [a[0] - b[0], a[1] - b[1], a[2] - b[2]];
  const cross = (a: Vec3, b: Vec3): Vec3 => [a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]];
  const dot = (a: Vec3, b: Vec3) => a[0] * b[0] + a[1] * b[1] + a[2] * b[2];

  it('writes a well-formed binary STL with unit normals that match the winding', () => {
    const stl = makeBinaryStl({ seed: 1, arch: 'upper' });
    const { header, n, triangles } = parseStl(stl);
    expect(stl.length).toBe(84 + 50 * n);
    expect(header.trimStart().toLowerCase().startsWith('solid')).toBe(false);
    expect(header).toMatch(/upper/);
    expect(n).toBeGreaterThan(2000);
    expect(n).toBeLessThan(10000);
    // Worst cases over all triangles, so a failure reports numbers rather than thousands of asserts.
    let minArea = Infinity;
    let maxNormalLengthError = 0;
    let minAlignment = Infinity;
    for (const { normal, vertices, attr } of triangles) {
      expect(attr).toBe(0);
      const [a, b, c] = vertices;
      const area2 = cross(sub(b, a), sub(c, a));
      const length = Math.hypot(...area2);
      minArea = Math.min(minArea, length / 2);
      maxNormalLengthError = Math.max(maxNormalLengthError, Math.abs(Math.hypot(...normal) - 1));
      minAlignment = Math.min(minAlignment, dot(normal, area2) / length);
    }
    expect(minArea).toBeGreaterThan(1e-4); // mm², no degenerate triangles
    expect(maxNormalLengthError).toBeLessThan(1e-5);
    expect(minAlignment).toBeGreaterThan(1 - 1e-5);
  });

  it('is a closed, outward-facing surface of plausible arch size', () => {
    const { triangles } = parseStl(makeBinaryStl({ seed: 3, arch: 'lower' }));
    // Watertight and consistently wound: every directed edge is matched by exactly one reverse edge.
    const edges = new Map<string, number>();
    const key = (p: Vec3, q: Vec3) => `${p.join(',')}>${q.join(',')}`;
    for (const { vertices: [a, b, c] } of triangles) {
      for (const [p, q] of [[a, b], [b, c], [c, a]] as const) edges.set(key(p, q), (edges.get(key(p, q)) ?? 0) + 1);
    }
    const badEdges = [...edges].filter(([edge, uses]) => {
      const [p, q] = edge.split('>');
      return uses !== 1 || edges.get(`${q}>${p}`) !== 1;
    });
    expect(badEdges).toEqual([]);
    // Divergence theorem: positive enclosed volume means normals point outwards.
    const volume = triangles.reduce((sum, { vertices: [a, b, c] }) => sum + dot(a, cross(b, c)) / 6, 0);
    expect(volume).toBeGreaterThan(2000); // mm³
    expect(volume).toBeLessThan(20000);

    const min: Vec3 = [Infinity, Infinity, Infinity];
    const max: Vec3 = [-Infinity, -Infinity, -Infinity];
    for (const { vertices } of triangles) {
      for (const v of vertices) {
        for (let i = 0; i < 3; i++) {
          min[i] = Math.min(min[i]!, v[i]!);
          max[i] = Math.max(max[i]!, v[i]!);
        }
      }
    }
    const span = sub(max, min);
    expect(span[0]).toBeGreaterThan(35); // mm, arch width
    expect(span[0]).toBeLessThan(75);
    expect(span[1]).toBeGreaterThan(20); // arch depth
    expect(span[1]).toBeLessThan(60);
    expect(span[2]).toBeGreaterThan(5); // crown height
    expect(span[2]).toBeLessThan(20);
  });

  it('is deterministic, and distinguishes arches, seeds and segment counts', () => {
    const upper = makeBinaryStl({ seed: 9, arch: 'upper' });
    const lower = makeBinaryStl({ seed: 9, arch: 'lower' });
    expect(makeBinaryStl({ seed: 9, arch: 'upper' }).equals(upper)).toBe(true);
    expect(upper.equals(lower)).toBe(false);
    expect(makeBinaryStl({ seed: 10, arch: 'upper' }).equals(upper)).toBe(false);
    const meanZ = (stl: Buffer) => {
      const { triangles } = parseStl(stl);
      return triangles.reduce((s, t) => s + t.vertices[0][2], 0) / triangles.length;
    };
    expect(meanZ(upper)).toBeGreaterThan(meanZ(lower));
    const small = parseStl(makeBinaryStl({ seed: 9, arch: 'upper', segments: 10 }));
    expect(small.n).toBeLessThan(parseStl(upper).n);
    expect(small.n).toBeGreaterThan(0);
  });
});

describe('makeJpegPhoto', () => {
  it('encodes a decodable JPEG of the requested size', () => {
    const jpeg = makeJpegPhoto({ seed: 1 });
    expect([jpeg[0], jpeg[1]]).toEqual([0xff, 0xd8]);
    expect([jpeg[jpeg.length - 2], jpeg[jpeg.length - 1]]).toEqual([0xff, 0xd9]);
    const image = decodeJpeg(jpeg, { useTArray: true });
    expect([image.width, image.height]).toEqual([320, 240]);

    const custom = decodeJpeg(makeJpegPhoto({ seed: 1, width: 97, height: 61, quality: 60 }), { useTArray: true });
    expect([custom.width, custom.height]).toEqual([97, 61]);
  });

  it('looks like teeth and gums rather than flat noise', () => {
    const { data, width, height } = decodeJpeg(makeJpegPhoto({ seed: 2 }), { useTArray: true });
    let pink = 0;
    let white = 0;
    for (let i = 0; i < width * height; i++) {
      const [r, g, b] = [data[4 * i]!, data[4 * i + 1]!, data[4 * i + 2]!];
      if (r > g + 50 && r > b + 40) pink++;
      if (r > 170 && g > 165 && b > 150) white++;
    }
    expect(pink / (width * height)).toBeGreaterThan(0.1);
    expect(white / (width * height)).toBeGreaterThan(0.15);
  });

  it('is deterministic per seed', () => {
    const a = makeJpegPhoto({ seed: 11, width: 64, height: 48 });
    expect(makeJpegPhoto({ seed: 11, width: 64, height: 48 }).equals(a)).toBe(true);
    expect(makeJpegPhoto({ seed: 12, width: 64, height: 48 }).equals(a)).toBe(false);
  });
});

describe('incompressible bytes', () => {
  const collect = async (stream: NodeJS.ReadableStream) => {
    const chunks: Buffer[] = [];
    for await (const chunk of stream) chunks.push(chunk as Buffer);
    return chunks;
  };

  it('are deterministic per seed and do not compress', () => {
    const a = makeIncompressibleBytes(1, 100_000);
    expect(a.length).toBe(100_000);
    expect(makeIncompressibleBytes(1, 100_000).equals(a)).toBe(true);
    expect(makeIncompressibleBytes(2, 100_000).equals(a)).toBe(false);
    // A shorter request is a prefix of a longer one.
    expect(makeIncompressibleBytes(1, 1000).equals(a.subarray(0, 1000))).toBe(true);
    expect(gzipSync(a).length).toBeGreaterThan(a.length * 0.99);
    expect(makeIncompressibleBytes(1, 0).length).toBe(0);
  });

  it('stream exactly the same bytes, in several chunks', async () => {
    const size = 300_007; // not a multiple of any chunk size
    const chunks = await collect(incompressibleStream(5, size));
    expect(chunks.length).toBeGreaterThan(1);
    const streamed = Buffer.concat(chunks);
    expect(streamed.length).toBe(size);
    expect(streamed.equals(makeIncompressibleBytes(5, size))).toBe(true);
    expect(Buffer.concat(await collect(incompressibleStream(5, 0))).length).toBe(0);
  });

  it('reject invalid sizes and seeds', () => {
    expect(() => makeIncompressibleBytes(1, -1)).toThrow(RangeError);
    expect(() => incompressibleStream(1, 1.5)).toThrow(RangeError);
    expect(() => makeIncompressibleBytes(Number.NaN, 10)).toThrow(TypeError);
  });
});
