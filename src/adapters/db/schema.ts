import type { Generated, Insertable, Selectable, Updateable } from 'kysely';

/**
 * Table shapes as the application sees them. Timestamps are ISO-8601 UTC strings on both databases
 * (PostgreSQL's timestamptz is converted on read), flags are 0/1 integers, JSON is stored as text.
 */
export type Timestamp = string;

export interface UsersTable {
  id: string;
  username: string;
  email: string;
  display_name: string;
  password_hash: string | null;
  is_site_admin: number;
  /** 1 when the user wants an email as their exports finish. */
  export_emails: number;
  disabled_at: Timestamp | null;
  created_at: Timestamp;
}

export interface ProjectsTable {
  id: string;
  slug: string;
  name: string;
  description: string;
  created_at: Timestamp;
}

export type ProjectRole = 'admin' | 'member' | 'viewer';

export interface ProjectMembersTable {
  project_id: string;
  user_id: string;
  role: ProjectRole;
  created_at: Timestamp;
}

export interface FoldersTable {
  id: string;
  project_id: string;
  parent_id: string | null;
  name: string;
  /** Slash-joined names from the root, e.g. "Study A/Baseline"; unique per project. */
  path: string;
  created_at: Timestamp;
}

export interface FolderGrantsTable {
  id: string;
  project_id: string;
  user_id: string;
  folder_id: string;
  created_at: Timestamp;
}

export type PatientVisibility = 'public' | 'private' | 'debug';

export interface PatientsTable {
  id: string;
  project_id: string;
  folder_id: string;
  name: string;
  code: string | null;
  visibility: PatientVisibility;
  created_by: string | null;
  created_at: Timestamp;
  deleted_at: Timestamp | null;
}

export interface TagsTable {
  id: string;
  project_id: string;
  name: string;
  color: string | null;
  created_at: Timestamp;
}

export interface PatientTagsTable {
  patient_id: string;
  tag_id: string;
}

export interface ModalitiesTable {
  id: string;
  slug: string;
  name: string;
  /** JSON array of subtype slugs, e.g. ["upper","lower"]. */
  subtypes: string;
  /** JSON array of lower-case extensions without dot, e.g. ["nii.gz","dcm"]. */
  extensions: string;
  sort_order: number;
}

export interface ProjectModalitiesTable {
  project_id: string;
  modality_id: string;
}

export type FileKind = 'raw' | 'processed';
/** `store`: bytes live in the blob store under `storage_key`; `inplace`: an absolute path registered as found. */
export type FileStorage = 'store' | 'inplace';

export interface FilesTable {
  id: string;
  project_id: string;
  patient_id: string;
  modality_id: string;
  subtype: string | null;
  kind: FileKind;
  original_name: string;
  storage: FileStorage;
  storage_key: string;
  size_bytes: number;
  sha256: string;
  crc32: number;
  media_type: string;
  metadata: string;
  created_by: string | null;
  created_at: Timestamp;
  deleted_at: Timestamp | null;
}

export interface SessionsTable {
  id: string;
  token_hash: string;
  user_id: string;
  csrf_token: string;
  ip: string | null;
  user_agent: string | null;
  created_at: Timestamp;
  last_seen_at: Timestamp;
  expires_at: Timestamp;
}

export interface ApiTokensTable {
  id: string;
  user_id: string;
  name: string;
  token_hash: string;
  /** First characters of the token, so a user can tell tokens apart without the secret. */
  token_prefix: string;
  created_at: Timestamp;
  last_used_at: Timestamp | null;
  expires_at: Timestamp | null;
  revoked_at: Timestamp | null;
}

export interface AuditLogTable {
  id: Generated<number>;
  at: Timestamp;
  user_id: string | null;
  project_id: string | null;
  action: string;
  target_type: string | null;
  target_id: string | null;
  ip: string | null;
  details: string;
}

export type ExportStatus = 'pending' | 'processing' | 'completed' | 'failed' | 'cancelled' | 'expired';

export interface DatasetExportsTable {
  id: string;
  project_id: string;
  created_by: string;
  name: string;
  notes: string;
  status: ExportStatus;
  /** JSON: the request as given (selection, modalities, include, options). */
  request: string;
  patient_count: number;
  file_count: number;
  total_bytes: number;
  zip_key: string | null;
  zip_size: number | null;
  zip_sha256: string | null;
  created_at: Timestamp;
  started_at: Timestamp | null;
  completed_at: Timestamp | null;
  expires_at: Timestamp | null;
  updated_at: Timestamp;
  progress_phase: string;
  files_done: number;
  bytes_done: number;
  attempt: number;
  attempt_limit: number;
  worker_id: string | null;
  heartbeat_at: Timestamp | null;
  cancel_requested_at: Timestamp | null;
  error_message: string | null;
  error_detail: string | null;
  /** JSON: patients left out when the job ran (deleted since creation), with the reason. */
  skipped: string;
  download_count: number;
  last_download_at: Timestamp | null;
  deleted_at: Timestamp | null;
  notification_status: NotificationStatus;
  notification_attempts: number;
  notification_next_at: Timestamp | null;
  notified_at: Timestamp | null;
  notification_error: string | null;
}

export type NotificationStatus = 'none' | 'pending' | 'sent' | 'failed' | 'skipped';

export interface ExportSharesTable {
  id: string;
  export_id: string;
  token_hash: string;
  access: 'members' | 'link';
  created_by: string;
  created_at: Timestamp;
  expires_at: Timestamp;
  max_downloads: number | null;
  download_count: number;
  bytes_served: number;
  last_download_at: Timestamp | null;
  revoked_at: Timestamp | null;
}

export interface DatasetExportPatientsTable {
  export_id: string;
  ordinal: number;
  patient_id: string;
  folder: string;
}

export interface DatasetExportEntriesTable {
  export_id: string;
  seq: number;
  file_id: string;
  patient_id: string;
  path: string;
  size_bytes: number;
  sha256: string;
  crc32: number;
  compress: number;
}

export interface Database {
  dataset_exports: DatasetExportsTable;
  dataset_export_patients: DatasetExportPatientsTable;
  dataset_export_entries: DatasetExportEntriesTable;
  export_shares: ExportSharesTable;
  users: UsersTable;
  projects: ProjectsTable;
  project_members: ProjectMembersTable;
  folders: FoldersTable;
  folder_grants: FolderGrantsTable;
  patients: PatientsTable;
  tags: TagsTable;
  patient_tags: PatientTagsTable;
  modalities: ModalitiesTable;
  project_modalities: ProjectModalitiesTable;
  files: FilesTable;
  sessions: SessionsTable;
  api_tokens: ApiTokensTable;
  audit_log: AuditLogTable;
}

export type UserRow = Selectable<UsersTable>;
export type ProjectRow = Selectable<ProjectsTable>;
export type FolderRow = Selectable<FoldersTable>;
export type PatientRow = Selectable<PatientsTable>;
export type TagRow = Selectable<TagsTable>;
export type ModalityRow = Selectable<ModalitiesTable>;
export type FileRow = Selectable<FilesTable>;
export type NewFile = Insertable<FilesTable>;
export type NewPatient = Insertable<PatientsTable>;
export type PatientUpdate = Updateable<PatientsTable>;
export type ExportRow = Selectable<DatasetExportsTable>;
export type ExportEntryRow = Selectable<DatasetExportEntriesTable>;
export type ExportShareRow = Selectable<ExportSharesTable>;
