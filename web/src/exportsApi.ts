/**
 * Export endpoints: contract types and TanStack Query hooks. Every key lives under
 * `['project', slug, 'exports', …]`, so one invalidation refreshes lists, details, the running
 * count in the project navigation and estimates (whose quota numbers change too).
 */
import {
  keepPreviousData,
  useMutation,
  useQuery,
  useQueryClient,
  type Query,
} from '@tanstack/react-query';
import { apiFetch, type TagMode } from './api';

// ---------------------------------------------------------------------------
// Contract types (src/http/routes/export-routes.ts)

export const EXPORT_STATUSES = ['pending', 'processing', 'completed', 'failed', 'cancelled', 'expired'] as const;
export type ExportStatus = (typeof EXPORT_STATUSES)[number];
export type Compression = 'auto' | 'store' | 'deflate';

export interface ExportProgress {
  /** `queued`, `checking access`, `writing`, `finishing`, `done`, `failed`, `cancelled`. */
  phase: string;
  /** 0–100, one decimal. */
  percent: number;
  filesDone: number;
  filesTotal: number;
  bytesDone: number;
  bytesTotal: number;
  etaSeconds: number | null;
}

export interface ExportSelection {
  folderIds?: string[];
  patientIds?: string[];
  excludePatientIds?: string[];
  tags?: string[];
  tagMode?: TagMode;
}

export interface ExportRequestBody {
  name?: string;
  notes?: string;
  selection: ExportSelection;
  modalities: string[];
  include: { raw: boolean; processed: boolean };
  options?: { compression?: Compression; pseudonymize?: boolean };
}

export interface ExportJob {
  id: string;
  name: string;
  notes: string;
  status: ExportStatus;
  createdAt: string;
  startedAt: string | null;
  completedAt: string | null;
  expiresAt: string | null;
  createdBy: { id: string; username: string; displayName: string };
  patientCount: number;
  fileCount: number;
  totalBytes: number;
  zipSize: number | null;
  zipSha256: string | null;
  progress: ExportProgress;
  cancelRequested: boolean;
  errorMessage: string | null;
  attempt: number;
  skipped: Array<{ patientFolder: string; reason: string }>;
  downloadCount: number;
  lastDownloadAt: string | null;
  /** Whether the creator was emailed about the result. */
  notification: ExportNotification;
  /** The request as it was made (see {@link readCriteria}). */
  criteria: unknown;
}

/**
 * The email to the creator when an export completes or fails: `none` (not finished, or not
 * notified), `pending` (to be sent; `error` set while retrying), `sent`, `failed` (gave up,
 * with the error) or `skipped` (the creator turned export emails off).
 */
export interface ExportNotification {
  status: 'none' | 'pending' | 'sent' | 'failed' | 'skipped';
  sentAt: string | null;
  error: string | null;
}

export interface ExportPage {
  total: number;
  items: ExportJob[];
}

export interface ModalityEstimate {
  modality: string;
  patientCount: number;
  fileCount: number;
  totalBytes: number;
}

export interface ExportEstimate {
  /** Patients the selection holds. */
  selectedPatientCount: number;
  /** Of those, patients with files of the chosen modalities and kinds (the ones exported). */
  patientCount: number;
  fileCount: number;
  totalBytes: number;
  perModality: ModalityEstimate[];
  limits: { maxBytes: number; maxPatients: number; quotaBytes: number; quotaUsedBytes: number };
  warnings: Array<{ code: string; message: string }>;
}

export interface ExportCreated {
  id: string;
  status: string;
  patientCount: number;
  fileCount: number;
  totalBytes: number;
}

export interface ExportListQuery {
  all: boolean;
  status: ExportStatus | null;
  limit: number;
  offset: number;
}

export const isActiveStatus = (status: ExportStatus) => status === 'pending' || status === 'processing';

/** The stored request of an export, read defensively (older rows may lack keys). */
export interface ExportCriteria {
  selection: Required<Pick<ExportSelection, 'folderIds' | 'patientIds' | 'excludePatientIds' | 'tags'>> & { tagMode: TagMode };
  modalities: string[];
  include: { raw: boolean; processed: boolean };
  compression: Compression;
  pseudonymize: boolean;
}

function stringArray(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : [];
}

function record(value: unknown): Record<string, unknown> {
  return typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : {};
}

export function readCriteria(value: unknown): ExportCriteria {
  const c = record(value);
  const selection = record(c.selection);
  const include = record(c.include);
  const options = record(c.options);
  const compression = options.compression;
  return {
    selection: {
      folderIds: stringArray(selection.folderIds),
      patientIds: stringArray(selection.patientIds),
      excludePatientIds: stringArray(selection.excludePatientIds),
      tags: stringArray(selection.tags),
      tagMode: selection.tagMode === 'all' ? 'all' : 'any',
    },
    modalities: stringArray(c.modalities),
    include: { raw: include.raw === true, processed: include.processed === true },
    compression: compression === 'store' || compression === 'deflate' ? compression : 'auto',
    pseudonymize: options.pseudonymize === true,
  };
}

// ---------------------------------------------------------------------------
// URLs that the browser follows itself (never fetched into memory)

const seg = encodeURIComponent;

export function exportDownloadUrl(slug: string, id: string): string {
  return `/api/${seg(slug)}/exports/${seg(id)}/download`;
}

export function pseudonymsUrl(slug: string, id: string): string {
  return `/api/${seg(slug)}/exports/${seg(id)}/pseudonyms.csv`;
}

// ---------------------------------------------------------------------------
// Query keys

export const exportKeys = {
  all: (slug: string) => ['project', slug, 'exports'] as const,
  list: (slug: string, query: ExportListQuery) => ['project', slug, 'exports', 'list', query] as const,
  detail: (slug: string, id: string) => ['project', slug, 'exports', 'detail', id] as const,
  running: (slug: string) => ['project', slug, 'exports', 'running'] as const,
  estimate: (slug: string, body: string) => ['project', slug, 'exports', 'estimate', body] as const,
};

/** How often lists and details refresh: quickly while something is being built. */
export const ACTIVE_POLL_MS = 1500;
export const IDLE_POLL_MS = 15_000;

// ---------------------------------------------------------------------------
// Hooks

export function fetchExports(slug: string, query: ExportListQuery, signal?: AbortSignal): Promise<ExportPage> {
  return apiFetch<ExportPage>(`/api/${seg(slug)}/exports`, {
    signal,
    query: {
      all: query.all ? 'true' : undefined,
      status: query.status ?? undefined,
      limit: query.limit,
      offset: query.offset,
    },
  });
}

/** One page of exports; polls every 1.5 s while any shown export is waiting or running. */
export function useExportList(slug: string, query: ExportListQuery) {
  return useQuery({
    queryKey: exportKeys.list(slug, query),
    queryFn: ({ signal }) => fetchExports(slug, query, signal),
    placeholderData: keepPreviousData,
    staleTime: 0,
    refetchInterval: (q: Query<ExportPage, Error, ExportPage, readonly unknown[]>) =>
      q.state.data?.items.some((e) => isActiveStatus(e.status)) ? ACTIVE_POLL_MS : IDLE_POLL_MS,
  });
}

/** One export; polls while it is waiting or running. */
export function useExportJob(slug: string, id: string | null) {
  return useQuery({
    queryKey: exportKeys.detail(slug, id ?? ''),
    queryFn: ({ signal }) => apiFetch<ExportJob>(`/api/${seg(slug)}/exports/${seg(id ?? '')}`, { signal }),
    enabled: Boolean(id),
    staleTime: 0,
    refetchInterval: (q: Query<ExportJob, Error, ExportJob, readonly unknown[]>) =>
      q.state.data && isActiveStatus(q.state.data.status) ? ACTIVE_POLL_MS : IDLE_POLL_MS,
  });
}

/** How many of the caller's exports are waiting or running (for the navigation badge). */
export function useRunningExportCount(slug: string) {
  return useQuery({
    queryKey: exportKeys.running(slug),
    queryFn: async ({ signal }) => {
      const [processing, pending] = await Promise.all(
        (['processing', 'pending'] as const).map((status) =>
          fetchExports(slug, { all: false, status, limit: 1, offset: 0 }, signal),
        ),
      );
      return { processing: processing?.total ?? 0, pending: pending?.total ?? 0 };
    },
    staleTime: 0,
    refetchInterval: (q) => {
      const d = q.state.data;
      return d && d.processing + d.pending > 0 ? 3000 : 30_000;
    },
    // A missing badge is better than an error in the navigation.
    retry: false,
  });
}

export function fetchEstimate(slug: string, body: ExportRequestBody, signal?: AbortSignal): Promise<ExportEstimate> {
  return apiFetch<ExportEstimate>(`/api/${seg(slug)}/exports/estimate`, { method: 'POST', body, signal });
}

/**
 * Estimate for a request given as its JSON text (a stable key); `null` skips the request.
 * Keeps the previous numbers on screen while the next ones load.
 */
export function useExportEstimate(slug: string, body: string | null) {
  return useQuery({
    queryKey: exportKeys.estimate(slug, body ?? ''),
    queryFn: ({ signal }) => fetchEstimate(slug, JSON.parse(body ?? '{}') as ExportRequestBody, signal),
    enabled: body !== null,
    placeholderData: keepPreviousData,
    staleTime: 30_000,
    retry: false,
  });
}

function useInvalidateExports(slug: string) {
  const queryClient = useQueryClient();
  return () => queryClient.invalidateQueries({ queryKey: exportKeys.all(slug) });
}

export function useCreateExport(slug: string) {
  const invalidate = useInvalidateExports(slug);
  return useMutation({
    mutationFn: (body: ExportRequestBody) =>
      apiFetch<ExportCreated>(`/api/${seg(slug)}/exports/create/`, { method: 'POST', body }),
    onSuccess: () => void invalidate(),
  });
}

function useExportAction(slug: string, action: 'cancel' | 'retry') {
  const queryClient = useQueryClient();
  const invalidate = useInvalidateExports(slug);
  return useMutation({
    mutationFn: (id: string) => apiFetch<ExportJob>(`/api/${seg(slug)}/exports/${seg(id)}/${action}`, { method: 'POST' }),
    onSuccess: (job) => {
      queryClient.setQueryData(exportKeys.detail(slug, job.id), job);
      void invalidate();
    },
  });
}

export function useCancelExport(slug: string) {
  return useExportAction(slug, 'cancel');
}

export function useRetryExport(slug: string) {
  return useExportAction(slug, 'retry');
}

export function useDeleteExport(slug: string) {
  const queryClient = useQueryClient();
  const invalidate = useInvalidateExports(slug);
  return useMutation({
    mutationFn: (id: string) => apiFetch<void>(`/api/${seg(slug)}/exports/${seg(id)}`, { method: 'DELETE' }),
    onSuccess: (_data, id) => {
      queryClient.removeQueries({ queryKey: exportKeys.detail(slug, id) });
      void invalidate();
    },
  });
}
