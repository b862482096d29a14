import { sql, type Kysely } from 'kysely';
import type { PatientScope } from '../../../domain/policy.js';
import type { Database, FolderRow, PatientVisibility } from '../schema.js';
import { folderPathWithin, patientScopeFilter } from './patient-scope-sql.js';

export interface PatientListFilter {
  /** Folder path to list; with `recursive`, subfolders too. */
  folderPath: string;
  recursive: boolean;
  text?: string;
  tags?: string[];
  tagMode: 'any' | 'all';
  limit: number;
  offset: number;
}

export interface PatientListItem {
  id: string;
  name: string;
  code: string | null;
  visibility: PatientVisibility;
  folderId: string;
  folderPath: string;
  createdAt: string;
  tags: string[];
  modalities: string[];
  fileCount: number;
  totalBytes: number;
}

export interface ModalityUsage {
  slug: string;
  name: string;
  subtypes: string[];
  extensions: string[];
  patientCount: number;
  fileCount: number;
  totalBytes: number;
}

/** Read-side queries behind the browsing API; every patient query applies the caller's scope. */
export class BrowseRepository {
  constructor(private readonly db: Kysely<Database>) {}

  folders(projectId: string): Promise<FolderRow[]> {
    return this.db.selectFrom('folders').selectAll().where('project_id', '=', projectId).orderBy('path').execute();
  }

  findFolder(projectId: string, folderId: string): Promise<FolderRow | undefined> {
    return this.db.selectFrom('folders').selectAll().where('project_id', '=', projectId).where('id', '=', folderId).executeTakeFirst();
  }

  /** Visible patients per folder (direct children only). */
  async patientCountsByFolder(projectId: string, scope: PatientScope): Promise<Map<string, number>> {
    const rows = await this.db
      .selectFrom('patients as p')
      .innerJoin('folders as f', 'f.id', 'p.folder_id')
      .select(['p.folder_id', (eb) => eb.fn.countAll<number>().as('n')])
      .where('p.project_id', '=', projectId)
      .where((eb) => patientScopeFilter(eb, scope))
      .groupBy('p.folder_id')
      .execute();
    return new Map(rows.map((r) => [r.folder_id, Number(r.n)]));
  }

  async listPatients(projectId: string, scope: PatientScope, filter: PatientListFilter): Promise<{ total: number; items: PatientListItem[] }> {
    let base = this.db
      .selectFrom('patients as p')
      .innerJoin('folders as f', 'f.id', 'p.folder_id')
      .where('p.project_id', '=', projectId)
      .where((eb) => patientScopeFilter(eb, scope))
      .where((eb) => (filter.recursive ? folderPathWithin(eb, filter.folderPath) : eb('f.path', '=', filter.folderPath)));

    if (filter.text) {
      const needle = `%${filter.text.toLowerCase().replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
      base = base.where((eb) =>
        eb.or([
          eb(sql`lower(p.name)`, 'like', sql`${needle} escape '\\'`),
          eb(sql`lower(coalesce(p.code, ''))`, 'like', sql`${needle} escape '\\'`),
        ]),
      );
    }
    const tags = filter.tags ?? [];
    if (tags.length > 0) {
      const tagged = this.db
        .selectFrom('patient_tags as pt')
        .innerJoin('tags as t', 't.id', 'pt.tag_id')
        .select('pt.patient_id')
        .where('t.project_id', '=', projectId)
        .where('t.name', 'in', tags)
        .groupBy('pt.patient_id');
      base = base.where(
        'p.id',
        'in',
        filter.tagMode === 'all' ? tagged.having((eb) => eb.fn.count('pt.tag_id').distinct(), '=', new Set(tags).size) : tagged,
      );
    }

    const { total } = await base.select((eb) => eb.fn.countAll<number>().as('total')).executeTakeFirstOrThrow();
    const rows = await base
      .select(['p.id', 'p.name', 'p.code', 'p.visibility', 'p.folder_id', 'f.path', 'p.created_at'])
      .orderBy('p.name')
      .orderBy('p.id')
      .limit(filter.limit)
      .offset(filter.offset)
      .execute();
    const ids = rows.map((r) => r.id);
    const [tagRows, fileRows] = await Promise.all([
      ids.length
        ? this.db
            .selectFrom('patient_tags as pt')
            .innerJoin('tags as t', 't.id', 'pt.tag_id')
            .select(['pt.patient_id', 't.name'])
            .where('pt.patient_id', 'in', ids)
            .orderBy('t.name')
            .execute()
        : [],
      ids.length
        ? this.db
            .selectFrom('files as fi')
            .innerJoin('modalities as m', 'm.id', 'fi.modality_id')
            .select(['fi.patient_id', 'm.slug', 'm.sort_order', (eb) => eb.fn.countAll<number>().as('n'), (eb) => eb.fn.sum<number>('fi.size_bytes').as('bytes')])
            .where('fi.patient_id', 'in', ids)
            .where('fi.deleted_at', 'is', null)
            .groupBy(['fi.patient_id', 'm.slug', 'm.sort_order'])
            .orderBy('m.sort_order')
            .execute()
        : [],
    ]);
    const items = rows.map<PatientListItem>((r) => {
      const files = fileRows.filter((f) => f.patient_id === r.id);
      return {
        id: r.id,
        name: r.name,
        code: r.code,
        visibility: r.visibility,
        folderId: r.folder_id,
        folderPath: r.path,
        createdAt: r.created_at,
        tags: tagRows.filter((t) => t.patient_id === r.id).map((t) => t.name),
        modalities: files.map((f) => f.slug),
        fileCount: files.reduce((n, f) => n + Number(f.n), 0),
        totalBytes: files.reduce((n, f) => n + Number(f.bytes ?? 0), 0),
      };
    });
    return { total: Number(total), items };
  }

  /** The modalities a project uses, in display order. */
  projectModalities(projectId: string) {
    return this.db
      .selectFrom('modalities as m')
      .innerJoin('project_modalities as pm', 'pm.modality_id', 'm.id')
      .select(['m.id', 'm.slug', 'm.name', 'm.subtypes', 'm.extensions'])
      .where('pm.project_id', '=', projectId)
      .orderBy('m.sort_order')
      .execute();
  }

  /** The project's modalities with how many visible patients, files and bytes each has. */
  async modalityUsage(projectId: string, scope: PatientScope): Promise<ModalityUsage[]> {
    const modalities = await this.projectModalities(projectId);
    const usage = await this.db
      .selectFrom('files as fi')
      .innerJoin('patients as p', 'p.id', 'fi.patient_id')
      .innerJoin('folders as f', 'f.id', 'p.folder_id')
      .select([
        'fi.modality_id',
        (eb) => eb.fn.count('fi.patient_id').distinct().as('patients'),
        (eb) => eb.fn.countAll().as('files'),
        (eb) => eb.fn.sum('fi.size_bytes').as('bytes'),
      ])
      .where('fi.project_id', '=', projectId)
      .where('fi.deleted_at', 'is', null)
      .where((eb) => patientScopeFilter(eb, scope))
      .groupBy('fi.modality_id')
      .execute();
    return modalities.map((m) => {
      const u = usage.find((x) => x.modality_id === m.id);
      return {
        slug: m.slug,
        name: m.name,
        subtypes: JSON.parse(m.subtypes) as string[],
        extensions: JSON.parse(m.extensions) as string[],
        patientCount: Number(u?.patients ?? 0),
        fileCount: Number(u?.files ?? 0),
        totalBytes: Number(u?.bytes ?? 0),
      };
    });
  }

  /** Tags of the project with the number of visible patients carrying each. */
  async tagUsage(projectId: string, scope: PatientScope): Promise<Array<{ id: string; name: string; color: string | null; patientCount: number }>> {
    const tags = await this.db.selectFrom('tags').select(['id', 'name', 'color']).where('project_id', '=', projectId).orderBy('name').execute();
    const counts = await this.db
      .selectFrom('patient_tags as pt')
      .innerJoin('patients as p', 'p.id', 'pt.patient_id')
      .innerJoin('folders as f', 'f.id', 'p.folder_id')
      .select(['pt.tag_id', (eb) => eb.fn.countAll().as('n')])
      .where('p.project_id', '=', projectId)
      .where((eb) => patientScopeFilter(eb, scope))
      .groupBy('pt.tag_id')
      .execute();
    return tags.map((t) => ({ ...t, patientCount: Number(counts.find((c) => c.tag_id === t.id)?.n ?? 0) }));
  }
}
