import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Repositories } from '../../adapters/db/repositories/index.js';
import { conflict } from '../../domain/errors.js';
import type { AdminService } from '../admin-service.js';
import type { ImportReport, ImportService } from '../import-service.js';
import { makeBinaryStl, makeJpegPhoto, makeNiftiVolume } from './sample-files.js';

export const DEMO_PROJECT_SLUG = 'demo';

const FOLDERS = [
  ['Orthodontics', '2024 intake'],
  ['Orthodontics', '2025 intake'],
  ['Implants', 'Pilot study'],
  ['Orthognathic surgery', 'Pre-op'],
  ['Orthognathic surgery', 'Post-op'],
];

const TAGS: Record<string, string> = {
  'class-ii': 'blue',
  'class-iii': 'violet',
  consented: 'teal',
  'follow-up': 'orange',
  implant: 'grape',
  surgery: 'red',
  retention: 'cyan',
};

const GIVEN = ['Ana', 'Bruno', 'Chiara', 'Dmitri', 'Elif', 'Farah', 'Goran', 'Hana', 'Ines', 'Jonas', 'Keiko', 'Luca', 'Maren', 'Noor', 'Oskar', 'Priya'];
const FAMILY = ['Almeida', 'Bauer', 'Costa', 'Dubois', 'Eriksen', 'Fischer', 'García', 'Horvat', 'Ivanova', 'Jensen', 'Kowalski', 'Lindqvist', 'Moreau', 'Novak', 'Okafor', 'Petrov'];

export interface DemoResult {
  projectSlug: string;
  patients: number;
  report: ImportReport;
}

/** A demo project whose files are small but real (NIfTI volumes, STL meshes, JPEG photos). */
export class DemoService {
  constructor(
    private readonly repos: Repositories,
    private readonly admin: AdminService,
    private readonly importer: ImportService,
  ) {}

  async load(options: { patients?: number; ownerUsername?: string } = {}): Promise<DemoResult> {
    const count = options.patients ?? 24;
    if (!Number.isInteger(count) || count < 1 || count > 5000) throw conflict('patients', 'The demo takes between 1 and 5000 patients.');
    if (await this.repos.projects.findBySlug(DEMO_PROJECT_SLUG)) {
      throw conflict('slug', `A project "${DEMO_PROJECT_SLUG}" already exists; the demo is loaded only once.`);
    }
    const project = await this.admin.addProject({
      slug: DEMO_PROJECT_SLUG,
      name: 'Demo study',
      description: 'Synthetic CBCT volumes, intraoral scans and photos to try Cohort with.',
    });
    const dir = await fs.promises.mkdtemp(path.join(os.tmpdir(), 'cohort-demo-'));
    try {
      const root = path.join(dir, 'Demo study');
      await writeDemoTree(root, count);
      const report = await this.importer.importDirectory(root, { projectSlug: project.slug });
      for (const [name, color] of Object.entries(TAGS)) await this.repos.catalog.setTagColor(project.id, name, color);
      if (options.ownerUsername) await this.admin.addMember({ projectSlug: project.slug, username: options.ownerUsername, role: 'admin' });
      return { projectSlug: project.slug, patients: report.patientsCreated, report };
    } finally {
      await fs.promises.rm(dir, { recursive: true, force: true });
    }
  }
}

async function writeDemoTree(root: string, count: number): Promise<void> {
  for (let i = 1; i <= count; i++) {
    const folder = FOLDERS[(i - 1) % FOLDERS.length]!;
    const code = `P-${String(i).padStart(4, '0')}`;
    const patientDir = path.join(root, ...folder, code);
    const seed = i * 7919;
    const tags = [
      i % 2 === 0 ? 'class-ii' : 'class-iii',
      ...(i % 3 !== 0 ? ['consented'] : []),
      ...(i % 4 === 0 ? ['follow-up'] : []),
      ...(folder[0] === 'Implants' ? ['implant'] : []),
      ...(folder[0] === 'Orthognathic surgery' ? ['surgery'] : []),
      ...(i % 5 === 0 ? ['retention'] : []),
    ];
    const visibility = i === count && count > 3 ? 'debug' : i % 11 === 0 ? 'private' : 'public';
    const name = visibility === 'debug' ? 'QA phantom' : `${GIVEN[i % GIVEN.length]} ${FAMILY[(i * 5) % FAMILY.length]}`;
    const files: Array<[string, Buffer]> = [['patient.json', Buffer.from(JSON.stringify({ name, code, tags, visibility }, null, 2))]];
    files.push(['cbct/raw/scan.nii.gz', makeNiftiVolume({ seed })]);
    if (i % 2 === 1) files.push(['cbct/processed/segmentation.nii.gz', makeNiftiVolume({ seed: seed + 1, dims: [32, 32, 24] })]);
    if (i % 4 !== 3) {
      files.push(['ios/raw/upper.stl', makeBinaryStl({ seed, arch: 'upper' })]);
      files.push(['ios/raw/lower.stl', makeBinaryStl({ seed, arch: 'lower' })]);
      if (i % 3 === 0) files.push(['ios/processed/upper_aligned.stl', makeBinaryStl({ seed: seed + 2, arch: 'upper', segments: 64 })]);
    }
    const photos = 1 + (i % 3);
    for (let n = 1; n <= photos; n++) files.push([`intraoral-photo/raw/photo_${n}.jpg`, makeJpegPhoto({ seed: seed + n })]);
    if (i % 3 === 1) files.push(['panoramic/panoramic.jpg', makeJpegPhoto({ seed: seed + 9, width: 480, height: 240 })]);
    for (const [rel, bytes] of files) {
      const file = path.join(patientDir, rel);
      await fs.promises.mkdir(path.dirname(file), { recursive: true });
      await fs.promises.writeFile(file, bytes);
    }
  }
}
