import path from 'node:path';
import { loadConfig } from '../src/config.js';
import type { ImportReport } from '../src/services/import-service.js';
import { openRuntime } from '../src/runtime.js';

export const PROJECT_SLUG = 'bench';
const USERNAME = 'bench';

/**
 * The environment every Cohort runtime of the benchmark reads (the registering process, the export
 * child processes and their worker threads, which call loadConfig() themselves). Nothing else is
 * passed on, so a developer's own DATABASE_URL or EXPORT_* settings cannot leak into the run.
 */
export function benchEnv(dataDir: string): Record<string, string> {
  return {
    DATA_DIR: dataDir,
    DATABASE_URL: `sqlite:${path.join(dataDir, 'cohort.db')}`,
    STORAGE: 'local',
    COHORT_DEMO: 'false',
    LOG_LEVEL: 'silent',
    // The benchmark checks free space itself before it starts; the default 2 GiB reserve would only
    // make large runs on small temp disks fail half-way for a reason that is not being measured.
    EXPORT_DISK_RESERVE_BYTES: '0',
  };
}

export interface Registered {
  projectSlug: string;
  userId: string;
  folderId: string;
  report: ImportReport;
  seconds: number;
}

/**
 * Creates a user and a project and registers the dataset with the real importer, in place
 * (`inPlace: true`, as `cohort import --in-place` does): files are hashed where they lie, not copied.
 */
export async function registerDataset(dataDir: string, datasetRoot: string): Promise<Registered> {
  const runtime = await openRuntime(loadConfig(benchEnv(dataDir)));
  try {
    const { services } = runtime;
    const { user } = await services.admin.addUser({ username: USERNAME, email: 'bench@localhost', displayName: 'Benchmark', password: 'benchmark password' });
    await services.admin.addProject({ slug: PROJECT_SLUG, name: 'Benchmark cohort' });
    // Project admin: sees every patient, may export.
    await services.admin.addMember({ projectSlug: PROJECT_SLUG, username: USERNAME, role: 'admin' });
    const started = performance.now();
    const report = await services.importer.importDirectory(datasetRoot, { projectSlug: PROJECT_SLUG, inPlace: true, actorUserId: user.id });
    const seconds = (performance.now() - started) / 1000;
    if (report.problems.length) throw new Error(`The import reported problems:\n${report.problems.map((p) => `  ${p.path}: ${p.message}`).join('\n')}`);
    // Patients at the top of an import go into a folder named after the imported directory.
    const project = (await services.repos.projects.findBySlug(PROJECT_SLUG))!;
    const folder = await services.repos.folders.ensurePath(project.id, [path.basename(datasetRoot)], new Date().toISOString());
    return { projectSlug: PROJECT_SLUG, userId: user.id, folderId: folder.id, report, seconds };
  } finally {
    await runtime.close();
  }
}
