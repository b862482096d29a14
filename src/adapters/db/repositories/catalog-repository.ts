import { randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import { inChunks } from './chunks.js';
import type { Database, FileRow, ModalityRow, NewFile, NewPatient, PatientRow } from '../schema.js';

/** Writes and look-ups for patients, tags, modalities and the file registry (import, demo). */
export class CatalogRepository {
  constructor(private readonly db: Kysely<Database>) {}

  modalities(): Promise<ModalityRow[]> {
    return this.db.selectFrom('modalities').selectAll().orderBy('sort_order').execute();
  }

  findPatientByCode(projectId: string, code: string): Promise<PatientRow | undefined> {
    return this.db.selectFrom('patients').selectAll().where('project_id', '=', projectId).where('code', '=', code).executeTakeFirst();
  }

  findPatientById(id: string): Promise<PatientRow | undefined> {
    return this.db.selectFrom('patients').selectAll().where('id', '=', id).executeTakeFirst();
  }

  async tagsOfPatients(ids: string[]): Promise<Map<string, string[]>> {
    const rows = await inChunks(ids, (chunk) =>
      this.db
        .selectFrom('patient_tags as pt')
        .innerJoin('tags as t', 't.id', 'pt.tag_id')
        .select(['pt.patient_id', 't.name'])
        .where('pt.patient_id', 'in', chunk)
        .orderBy('t.name')
        .execute(),
    );
    const map = new Map<string, string[]>();
    for (const r of rows) map.set(r.patient_id, [...(map.get(r.patient_id) ?? []), r.name]);
    return map;
  }

  filesByIds(ids: string[]): Promise<FileRow[]> {
    return inChunks(ids, (chunk) => this.db.selectFrom('files').selectAll().where('id', 'in', chunk).execute());
  }

  findPatientInFolder(folderId: string, name: string): Promise<PatientRow | undefined> {
    return this.db
      .selectFrom('patients')
      .selectAll()
      .where('folder_id', '=', folderId)
      .where('name', '=', name)
      .where('deleted_at', 'is', null)
      .orderBy('created_at')
      .executeTakeFirst();
  }

  async insertPatient(patient: NewPatient): Promise<void> {
    await this.db.insertInto('patients').values(patient).execute();
  }

  /** Finds or creates the project's tags by name and attaches them to the patient. */
  async tagPatient(projectId: string, patientId: string, names: readonly string[], now: string): Promise<void> {
    for (const name of new Set(names)) {
      await this.db
        .insertInto('tags')
        .values({ id: randomUUID(), project_id: projectId, name, color: null, created_at: now })
        .onConflict((oc) => oc.columns(['project_id', 'name']).doNothing())
        .execute();
      const tag = await this.db.selectFrom('tags').select('id').where('project_id', '=', projectId).where('name', '=', name).executeTakeFirstOrThrow();
      await this.db
        .insertInto('patient_tags')
        .values({ patient_id: patientId, tag_id: tag.id })
        .onConflict((oc) => oc.columns(['patient_id', 'tag_id']).doNothing())
        .execute();
    }
  }

  async setTagColor(projectId: string, name: string, color: string): Promise<void> {
    await this.db.updateTable('tags').set({ color }).where('project_id', '=', projectId).where('name', '=', name).execute();
  }

  findLiveFile(patientId: string, modalityId: string, kind: string, originalName: string): Promise<FileRow | undefined> {
    return this.db
      .selectFrom('files')
      .selectAll()
      .where('patient_id', '=', patientId)
      .where('modality_id', '=', modalityId)
      .where('kind', '=', kind as FileRow['kind'])
      .where('original_name', '=', originalName)
      .where('deleted_at', 'is', null)
      .executeTakeFirst();
  }

  async insertFile(file: NewFile): Promise<void> {
    await this.db.insertInto('files').values(file).execute();
  }
}
