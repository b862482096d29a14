import { Command, InvalidArgumentError, Option } from 'commander';
import { ConfigError, loadConfig } from '../config.js';
import { AppError } from '../domain/errors.js';
import { newWorkerId } from '../jobs/worker-host.js';
import { createExportWorker, openRuntime, APP_VERSION, type Runtime } from '../runtime.js';
import { serve } from './serve.js';

/** Every command calls the same services as the HTTP layer; output is for people, errors exit 1. */
async function withRuntime<T>(fn: (runtime: Runtime) => Promise<T>): Promise<T> {
  const runtime = await openRuntime(loadConfig());
  try {
    return await fn(runtime);
  } finally {
    await runtime.close();
  }
}

const positiveInt = (value: string) => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('must be a positive whole number');
  return n;
};

export function buildProgram(): Command {
  const program = new Command()
    .name('cohort')
    .description('Cohort: research imaging data, browsed and exported.\nConfiguration comes from environment variables (see README).')
    .version(APP_VERSION)
    .showHelpAfterError();

  program
    .command('migrate')
    .description('Create or update the database schema')
    .action(async () => {
      const config = loadConfig();
      const runtime = await openRuntime(config, { migrate: false });
      try {
        const { migrateToLatest } = await import('../adapters/db/database.js');
        const applied = await migrateToLatest(runtime.database);
        console.log(applied.length ? `Applied migrations: ${applied.join(', ')}` : 'The database is up to date.');
      } finally {
        await runtime.close();
      }
    });

  program
    .command('serve')
    .description('Start the web server (and, on first start, create the administrator and demo project)')
    .option('--no-worker', 'do not run export jobs in this process')
    .action(async (opts: { worker: boolean }) => {
      await serve(loadConfig(), { worker: opts.worker });
    });

  program
    .command('worker')
    .description('Run background export jobs until stopped (SIGINT/SIGTERM)')
    .action(async () => {
      await withRuntime(async (runtime) => {
        const workerId = newWorkerId();
        const worker = createExportWorker(runtime, { workerId, log: (message) => console.log(message) });
        await worker.start();
        console.log(`Export worker ${workerId} started. Press Ctrl+C to stop; running exports go back to the queue.`);
        await new Promise<void>((resolve) => {
          process.once('SIGINT', resolve);
          process.once('SIGTERM', resolve);
        });
        await worker.stop();
        console.log('Export worker stopped.');
      });
    });

  const user = program.command('user').description('Manage users');
  user
    .command('add')
    .description('Add a user; prints a generated password when none is given')
    .requiredOption('--username <username>', 'login name')
    .requiredOption('--email <email>', 'email address')
    .option('--password <password>', 'password (at least 8 characters)')
    .option('--name <displayName>', 'name shown in the app')
    .option('--admin', 'make the user a site administrator', false)
    .action(async (o: { username: string; email: string; password?: string; name?: string; admin: boolean }) => {
      await withRuntime(async ({ services }) => {
        const { user: created, generatedPassword } = await services.admin.addUser({
          username: o.username,
          email: o.email,
          password: o.password,
          displayName: o.name,
          siteAdmin: o.admin,
        });
        console.log(`Added user ${created.username}${o.admin ? ' (site administrator)' : ''}.`);
        if (generatedPassword) console.log(`Password (shown once): ${generatedPassword}`);
      });
    });

  const project = program.command('project').description('Manage projects');
  project
    .command('add')
    .description('Add a project')
    .requiredOption('--slug <slug>', 'short name used in URLs, e.g. ortho-2025')
    .requiredOption('--name <name>', 'display name')
    .option('--description <text>', 'description', '')
    .option('--modalities <list>', 'comma-separated modality slugs (default: all)')
    .action(async (o: { slug: string; name: string; description: string; modalities?: string }) => {
      await withRuntime(async ({ services }) => {
        const created = await services.admin.addProject({
          slug: o.slug,
          name: o.name,
          description: o.description,
          modalities: o.modalities?.split(',').map((m) => m.trim()).filter(Boolean),
        });
        console.log(`Added project ${created.slug} (${created.name}).`);
      });
    });

  const member = program.command('member').description('Manage project members');
  member
    .command('add')
    .description('Add a user to a project, or change their role')
    .requiredOption('--project <slug>', 'project slug')
    .requiredOption('--username <username>', 'user')
    .addOption(new Option('--role <role>', 'role in the project').choices(['admin', 'member', 'viewer']).makeOptionMandatory())
    .action(async (o: { project: string; username: string; role: 'admin' | 'member' | 'viewer' }) => {
      await withRuntime(async ({ services }) => {
        await services.admin.addMember({ projectSlug: o.project, username: o.username, role: o.role });
        console.log(`${o.username} is now ${o.role} of ${o.project}.`);
      });
    });

  program
    .command('grant')
    .description('Limit a member to a folder (and its subfolders); several grants add up')
    .requiredOption('--project <slug>', 'project slug')
    .requiredOption('--username <username>', 'member')
    .requiredOption('--folder <path>', 'folder path, e.g. "Study A/Baseline"')
    .action(async (o: { project: string; username: string; folder: string }) => {
      await withRuntime(async ({ services }) => {
        const { created } = await services.admin.grantFolder({ projectSlug: o.project, username: o.username, folderPath: o.folder });
        console.log(created ? `Granted ${o.username} the folder "${o.folder}" in ${o.project}.` : `${o.username} already had "${o.folder}".`);
      });
    });

  const token = program.command('token').description('Manage API tokens');
  token
    .command('create')
    .description('Create an API token for scripts (Authorization: Bearer <token>); printed once')
    .requiredOption('--username <username>', 'the user the token acts as')
    .option('--name <name>', 'a label to recognise the token by', 'cli')
    .action(async (o: { username: string; name: string }) => {
      await withRuntime(async ({ services }) => {
        const created = await services.admin.createToken({ username: o.username, name: o.name });
        console.log(created.token);
        console.error(`Token ${created.id} created for ${o.username}. Store it now: it is not shown again.`);
      });
    });

  program
    .command('import')
    .description('Import a directory tree of patients (see README for the layout)')
    .argument('<dir>', 'directory to import')
    .requiredOption('--project <slug>', 'project to import into')
    .option('--in-place', 'register files where they lie instead of copying them into storage', false)
    .action(async (dir: string, o: { project: string; inPlace: boolean }) => {
      await withRuntime(async ({ services }) => {
        const report = await services.importer.importDirectory(dir, {
          projectSlug: o.project,
          inPlace: o.inPlace,
          onProgress: ({ filesDone, filesTotal }) => {
            if (process.stderr.isTTY) process.stderr.write(`\r${filesDone}/${filesTotal} files`);
          },
        });
        if (process.stderr.isTTY) process.stderr.write('\n');
        console.log(
          `Patients: ${report.patientsCreated} new, ${report.patientsFound} already known. ` +
            `Files: ${report.filesAdded} added (${report.bytesAdded} bytes), ${report.filesUnchanged} already registered, ${report.ignored} ignored.`,
        );
        if (report.problems.length) {
          console.log(`${report.problems.length} problem(s):`);
          for (const p of report.problems) console.log(`  ${p.path}: ${p.message}`);
          process.exitCode = 2;
        }
      });
    });

  program
    .command('demo')
    .description('Load the demo project (synthetic CBCT, intraoral scans and photos)')
    .option('--patients <n>', 'number of patients', positiveInt, 24)
    .option('--owner <username>', 'user to make project admin', undefined)
    .action(async (o: { patients: number; owner?: string }) => {
      await withRuntime(async ({ services, config }) => {
        const owner = o.owner ?? (await services.repos.users.findByUsername(config.admin.username))?.username;
        const result = await services.demo.load({ patients: o.patients, ownerUsername: owner });
        console.log(`Loaded project ${result.projectSlug} with ${result.patients} patients (${result.report.filesAdded} files).`);
      });
    });

  return program;
}

export async function runCli(argv: string[]): Promise<void> {
  try {
    await buildProgram().parseAsync(argv);
  } catch (error) {
    if (error instanceof ConfigError || error instanceof AppError) {
      console.error(`Error: ${error.message}`);
    } else {
      console.error(error);
    }
    process.exitCode = 1;
  }
}

await runCli(process.argv);
