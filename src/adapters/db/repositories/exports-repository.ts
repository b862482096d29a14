import { sql, type Kysely, type SelectQueryBuilder } from 'kysely';
import type { PatientScope } from '../../../domain/policy.js';
import type { NormalisedSelection } from '../../../domain/selection.js';
import type { Database, ExportEntryRow, ExportRow, ExportStatus } from '../schema.js';
import { dialectOf } from '../column-types.js';
import { inChunks } from './chunks.js';
import { folderPathWithin, patientScopeFilter } from './patient-scope-sql.js';

export interface SelectedPatient {
  id: string;
  name: string;
  code: string | null;
  folderPath: string;
}

export interface RegistryFile {
  id: string;
  patientId: string;
  modality: string;
  subtype: string | null;
  kind: 'raw' | 'processed';
  originalName: string;
  size: number;
  sha256: string;
  crc32: number;
}

export interface ModalityEstimate {
  modality: string;
  patientCount: number;
  fileCount: number;
  totalBytes: number;
}

type DB = Database & { p: Database['patients']; f: Database['folders'] };

/** Exports: resolving selections, freezing plans, and the export rows' lifecycle. */
export class ExportsRepository {
  constructor(private readonly db: Kysely<Database>) {}

  /** Patients of a selection that the scope allows, in a deterministic order (folder path, name, id). */
  private selectedPatients(projectId: string, scope: PatientScope, selection: NormalisedSelection, folderPaths: string[]) {
    let q = this.db
      .selectFrom('patients as p')
      .innerJoin('folders as f', 'f.id', 'p.folder_id')
      .where('p.project_id', '=', projectId)
      .where((eb) => patientScopeFilter(eb, scope))
      .where((eb) => {
        const picks = folderPaths.map((path) => folderPathWithin(eb, path));
        if (selection.patientIds.length) picks.push(eb('p.id', 'in', selection.patientIds));
        return picks.length ? eb.or(picks) : sql<boolean>`1 = 0`;
      });
    if (selection.excludePatientIds.length) q = q.where('p.id', 'not in', selection.excludePatientIds);
    if (selection.tags.length) {
      const tagged = this.db
        .selectFrom('patient_tags as pt')
        .innerJoin('tags as t', 't.id', 'pt.tag_id')
        .select('pt.patient_id')
        .where('t.project_id', '=', projectId)
        .where('t.name', 'in', selection.tags)
        .groupBy('pt.patient_id');
      q = q.where(
        'p.id',
        'in',
        selection.tagMode === 'all' ? tagged.having((eb) => eb.fn.count('pt.tag_id').distinct(), '=', selection.tags.length) : tagged,
      );
    }
    return q as SelectQueryBuilder<DB, 'p' | 'f', object>;
  }

  async resolvePatients(projectId: string, scope: PatientScope, selection: NormalisedSelection, folderPaths: string[]): Promise<SelectedPatient[]> {
    const rows = await this.selectedPatients(projectId, scope, selection, folderPaths)
      .select(['p.id', 'p.name', 'p.code', 'f.path'])
      .orderBy('f.path')
      .orderBy('p.name')
      .orderBy('p.id')
      .execute();
    return rows.map((r) => ({ id: r.id, name: r.name, code: r.code, folderPath: r.path }));
  }

  /** Counts per modality for a selection, from indexed aggregates only (no file reads). */
  async estimate(
    projectId: string,
    scope: PatientScope,
    selection: NormalisedSelection,
    folderPaths: string[],
    modalityIds: string[],
    kinds: Array<'raw' | 'processed'>,
  ): Promise<{ selectedPatientCount: number; patientCount: number; perModality: ModalityEstimate[] }> {
    const patients = this.selectedPatients(projectId, scope, selection, folderPaths).select('p.id');
    const { n } = await this.db
      .selectFrom(patients.as('sel'))
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .executeTakeFirstOrThrow();
    if (modalityIds.length === 0 || kinds.length === 0) return { selectedPatientCount: Number(n), patientCount: 0, perModality: [] };
    const matching = this.db
      .selectFrom('files as fi')
      .where('fi.project_id', '=', projectId)
      .where('fi.deleted_at', 'is', null)
      .where('fi.modality_id', 'in', modalityIds)
      .where('fi.kind', 'in', kinds)
      .where('fi.patient_id', 'in', patients);
    const { withFiles } = await matching
      .select((eb) => eb.fn.count('fi.patient_id').distinct().as('withFiles'))
      .executeTakeFirstOrThrow();
    const rows = await this.db
      .selectFrom('files as fi')
      .innerJoin('modalities as m', 'm.id', 'fi.modality_id')
      .select([
        'm.slug',
        (eb) => eb.fn.count('fi.patient_id').distinct().as('patients'),
        (eb) => eb.fn.countAll().as('files'),
        (eb) => eb.fn.sum('fi.size_bytes').as('bytes'),
      ])
      .where('fi.project_id', '=', projectId)
      .where('fi.deleted_at', 'is', null)
      .where('fi.modality_id', 'in', modalityIds)
      .where('fi.kind', 'in', kinds)
      .where('fi.patient_id', 'in', patients)
      .groupBy('m.slug')
      .execute();
    return {
      selectedPatientCount: Number(n),
      patientCount: Number(withFiles),
      perModality: rows.map((r) => ({ modality: r.slug, patientCount: Number(r.patients), fileCount: Number(r.files), totalBytes: Number(r.bytes ?? 0) })),
    };
  }

  async registryFiles(patientIds: string[], modalityIds: string[], kinds: Array<'raw' | 'processed'>): Promise<RegistryFile[]> {
    const rows = await inChunks(patientIds, (chunk) =>
      this.db
        .selectFrom('files as fi')
        .innerJoin('modalities as m', 'm.id', 'fi.modality_id')
        .select(['fi.id', 'fi.patient_id', 'm.slug', 'fi.subtype', 'fi.kind', 'fi.original_name', 'fi.size_bytes', 'fi.sha256', 'fi.crc32'])
        .where('fi.patient_id', 'in', chunk)
        .where('fi.modality_id', 'in', modalityIds)
        .where('fi.kind', 'in', kinds)
        .where('fi.deleted_at', 'is', null)
        .execute(),
    );
    return rows.map((r) => ({
      id: r.id,
      patientId: r.patient_id,
      modality: r.slug,
      subtype: r.subtype,
      kind: r.kind,
      originalName: r.original_name,
      size: Number(r.size_bytes),
      sha256: r.sha256,
      crc32: Number(r.crc32),
    }));
  }

  /**
   * Saves the export with its frozen patient list and plan, all or nothing. `guard` runs first in
   * the same transaction, serialised per creator, so limits it checks (active exports, quota)
   * hold even when one user sends many requests at once.
   */
  async insertWithPlan(
    row: ExportRow,
    patients: Array<{ ordinal: number; patientId: string; folder: string }>,
    entries: Array<Omit<ExportEntryRow, 'export_id'>>,
    guard?: (exports: ExportsRepository) => Promise<void>,
  ): Promise<void> {
    await this.db.transaction().execute(async (trx) => {
      // SQLite runs one transaction at a time already; PostgreSQL needs a lock per creator.
      if (dialectOf(trx) === 'postgres') await sql`select pg_advisory_xact_lock(hashtext(${`cohort-export:${row.created_by}`}))`.execute(trx);
      await guard?.(new ExportsRepository(trx));
      await trx.insertInto('dataset_exports').values(row).execute();
      for (let i = 0; i < patients.length; i += 500) {
        await trx
          .insertInto('dataset_export_patients')
          .values(patients.slice(i, i + 500).map((p) => ({ export_id: row.id, ordinal: p.ordinal, patient_id: p.patientId, folder: p.folder })))
          .execute();
      }
      for (let i = 0; i < entries.length; i += 500) {
        await trx
          .insertInto('dataset_export_entries')
          .values(entries.slice(i, i + 500).map((e) => ({ ...e, export_id: row.id })))
          .execute();
      }
    });
  }

  find(projectId: string, id: string): Promise<ExportRow | undefined> {
    return this.db.selectFrom('dataset_exports').selectAll().where('project_id', '=', projectId).where('id', '=', id).where('deleted_at', 'is', null).executeTakeFirst();
  }

  findById(id: string): Promise<ExportRow | undefined> {
    return this.db.selectFrom('dataset_exports').selectAll().where('id', '=', id).executeTakeFirst();
  }

  async list(filter: { projectId: string; createdBy?: string; status?: ExportStatus[]; limit: number; offset: number }): Promise<{ total: number; items: ExportRow[] }> {
    let q = this.db.selectFrom('dataset_exports').where('project_id', '=', filter.projectId).where('deleted_at', 'is', null);
    if (filter.createdBy) q = q.where('created_by', '=', filter.createdBy);
    if (filter.status?.length) q = q.where('status', 'in', filter.status);
    const { total } = await q.select((eb) => eb.fn.countAll<number>().as('total')).executeTakeFirstOrThrow();
    const items = await q.selectAll().orderBy('created_at', 'desc').orderBy('id', 'desc').limit(filter.limit).offset(filter.offset).execute();
    return { total: Number(total), items };
  }

  async activeCount(userId: string): Promise<number> {
    const row = await this.db
      .selectFrom('dataset_exports')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('created_by', '=', userId)
      .where('status', 'in', ['pending', 'processing'])
      .where('deleted_at', 'is', null)
      .executeTakeFirstOrThrow();
    return Number(row.n);
  }

  /** Bytes a user's exports hold or will hold in storage (completed ZIPs and exports still to build). */
  async storedBytes(userId: string): Promise<number> {
    const row = await this.db
      .selectFrom('dataset_exports')
      .select((eb) => eb.fn.sum<number>(eb.fn.coalesce('zip_size', 'total_bytes')).as('n'))
      .where('created_by', '=', userId)
      .where('status', 'in', ['pending', 'processing', 'completed'])
      .where('deleted_at', 'is', null)
      .executeTakeFirstOrThrow();
    return Number(row.n ?? 0);
  }

  /** Bytes every export still to build will add to storage; checked against free disk. */
  async pendingBytes(): Promise<number> {
    const row = await this.db
      .selectFrom('dataset_exports')
      .select((eb) => eb.fn.sum<number>(sql`total_bytes - bytes_done`).as('n'))
      .where('status', 'in', ['pending', 'processing'])
      .executeTakeFirstOrThrow();
    return Number(row.n ?? 0);
  }

  /**
   * The frozen patient list with each patient as it is now (folder path, visibility, deletion), or
   * `patient: null` when the row is gone: what every access re-check of an export reads.
   */
  async patientsNow(exportId: string) {
    const rows = await this.db
      .selectFrom('dataset_export_patients as ep')
      .leftJoin('patients as p', 'p.id', 'ep.patient_id')
      .leftJoin('folders as f', 'f.id', 'p.folder_id')
      .select(['ep.folder', 'ep.patient_id', 'p.id', 'p.project_id', 'p.name', 'p.code', 'p.visibility', 'p.created_by', 'p.deleted_at', 'f.path as folder_path'])
      .where('ep.export_id', '=', exportId)
      .orderBy('ep.ordinal')
      .execute();
    return rows.map((r) => ({
      folder: r.folder,
      patientId: r.patient_id,
      patient:
        r.id && r.project_id && r.visibility && r.folder_path !== null
          ? { id: r.id, project_id: r.project_id, name: r.name ?? '', code: r.code, visibility: r.visibility, created_by: r.created_by, deleted_at: r.deleted_at, folder_path: r.folder_path }
          : null,
    }));
  }

  patients(exportId: string) {
    return this.db.selectFrom('dataset_export_patients').selectAll().where('export_id', '=', exportId).orderBy('ordinal').execute();
  }

  entries(exportId: string): Promise<ExportEntryRow[]> {
    return this.db.selectFrom('dataset_export_entries').selectAll().where('export_id', '=', exportId).orderBy('seq').execute();
  }

  /**
   * Moves an export from one status to another only if it is still in `from` (and, when given,
   * still owned by `attempt`): the conditional update that keeps two workers from both finishing.
   */
  async transition(id: string, from: ExportStatus[], changes: Partial<ExportRow>, attempt?: number, options: { unlessCancelled?: boolean } = {}): Promise<boolean> {
    let q = this.db
      .updateTable('dataset_exports')
      .set({ ...changes, updated_at: new Date().toISOString() })
      .where('id', '=', id)
      .where('status', 'in', from);
    if (attempt !== undefined) q = q.where('attempt', '=', attempt);
    if (options.unlessCancelled) q = q.where('cancel_requested_at', 'is', null).where('deleted_at', 'is', null);
    const result = await q.executeTakeFirst();
    return Number(result.numUpdatedRows) > 0;
  }

  async update(id: string, changes: Partial<ExportRow>): Promise<void> {
    await this.db.updateTable('dataset_exports').set({ ...changes, updated_at: new Date().toISOString() }).where('id', '=', id).execute();
  }

  /**
   * Claims a pending export for a worker: the row becomes `processing` with a new attempt number
   * only if no one else claimed it first.
   */
  async claim(id: string, workerId: string, now: string): Promise<ExportRow | null> {
    const row = await this.findById(id);
    if (!row || row.status !== 'pending' || row.deleted_at) return null;
    const ok = await this.transition(
      id,
      ['pending'],
      { status: 'processing', worker_id: workerId, heartbeat_at: now, started_at: now, attempt: row.attempt + 1, progress_phase: 'starting', files_done: 0, bytes_done: 0 },
      row.attempt,
    );
    return ok ? { ...row, status: 'processing', worker_id: workerId, attempt: row.attempt + 1 } : null;
  }

  /** Progress and heartbeat; also tells the worker whether someone asked to cancel. */
  async heartbeat(id: string, attempt: number, progress: { phase: string; filesDone: number; bytesDone: number }, now: string): Promise<{ owned: boolean; cancelRequested: boolean }> {
    const result = await this.db
      .updateTable('dataset_exports')
      .set({ progress_phase: progress.phase, files_done: progress.filesDone, bytes_done: progress.bytesDone, heartbeat_at: now, updated_at: now })
      .where('id', '=', id)
      .where('status', '=', 'processing')
      .where('attempt', '=', attempt)
      .executeTakeFirst();
    const row = await this.db.selectFrom('dataset_exports').select(['cancel_requested_at', 'status']).where('id', '=', id).executeTakeFirst();
    return { owned: Number(result.numUpdatedRows) > 0, cancelRequested: !!row?.cancel_requested_at || row?.status === 'cancelled' };
  }

  /** Exports whose worker stopped sending heartbeats (crashed, killed, lost its machine). */
  stale(before: string): Promise<ExportRow[]> {
    return this.db.selectFrom('dataset_exports').selectAll().where('status', '=', 'processing').where('heartbeat_at', '<', before).execute();
  }

  pendingIds(limit: number): Promise<Array<{ id: string }>> {
    return this.db.selectFrom('dataset_exports').select('id').where('status', '=', 'pending').where('deleted_at', 'is', null).orderBy('created_at').limit(limit).execute();
  }

  expiredCompleted(now: string): Promise<ExportRow[]> {
    return this.db.selectFrom('dataset_exports').selectAll().where('status', '=', 'completed').where('expires_at', '<=', now).execute();
  }

  notificationsDue(now: string, limit: number): Promise<ExportRow[]> {
    return this.db
      .selectFrom('dataset_exports')
      .selectAll()
      .where('notification_status', '=', 'pending')
      .where('notification_next_at', '<=', now)
      .orderBy('notification_next_at')
      .limit(limit)
      .execute();
  }

  /** Takes a due notification for one sender: counts the attempt and moves its next time on. */
  async leaseNotification(id: string, attempts: number, until: string): Promise<boolean> {
    const result = await this.db
      .updateTable('dataset_exports')
      .set({ notification_attempts: attempts + 1, notification_next_at: until })
      .where('id', '=', id)
      .where('notification_status', '=', 'pending')
      .where('notification_attempts', '=', attempts)
      .executeTakeFirst();
    return Number(result.numUpdatedRows) > 0;
  }

  async recordDownload(id: string, now: string): Promise<void> {
    await this.db
      .updateTable('dataset_exports')
      .set((eb) => ({ download_count: eb('download_count', '+', 1), last_download_at: now }))
      .where('id', '=', id)
      .execute();
  }
}
