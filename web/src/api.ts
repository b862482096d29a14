/**
 * Typed client for the Cohort HTTP API: fetch wrapper, error type and
 * TanStack Query hooks. Every request is same-origin with the session cookie;
 * non-GET/HEAD requests carry the CSRF token obtained from login or /me.
 */
import { keepPreviousData, useMutation, useQuery, useQueryClient, type QueryClient } from '@tanstack/react-query';

// ---------------------------------------------------------------------------
// Contract types

export type ProjectRole = 'admin' | 'member' | 'viewer';
export type PatientVisibility = 'public' | 'private' | 'debug';
export type TagMode = 'any' | 'all';

export interface User {
  id: string;
  username: string;
  email: string;
  displayName: string;
  isSiteAdmin: boolean;
}

export interface Session {
  user: User;
  csrfToken: string;
}

export interface Project {
  id: string;
  slug: string;
  name: string;
  description: string;
  role: ProjectRole;
}

export interface Folder {
  id: string;
  parentId: string | null;
  name: string;
  path: string;
  /** Visible patients directly in this folder. */
  patientCount: number;
  /** Visible patients in this folder and all its subfolders. */
  totalPatientCount: number;
  /** `false`: shown only as an ancestor of a granted folder; its own patients are hidden. */
  accessible: boolean;
}

export interface ProjectTree {
  project: Project;
  folders: Folder[];
}

export interface Patient {
  id: string;
  name: string;
  code: string | null;
  visibility: PatientVisibility;
  folderId: string;
  folderPath: string;
  tags: string[];
  /** Modality slugs. */
  modalities: string[];
  fileCount: number;
  totalBytes: number;
  createdAt: string;
}

export interface PatientPage {
  total: number;
  items: Patient[];
}

export interface Modality {
  slug: string;
  name: string;
  subtypes: string[];
  extensions: string[];
  patientCount: number;
  fileCount: number;
  totalBytes: number;
}

export interface Tag {
  id: string;
  name: string;
  color: string | null;
  patientCount: number;
}

export interface PatientQuery {
  q: string;
  tags: string[];
  tagMode: TagMode;
  recursive: boolean;
  limit: number;
  offset: number;
}

// ---------------------------------------------------------------------------
// Errors

export interface ApiErrorBody {
  error: { code: string; message: string; field?: string };
}

/** A failed API call. `message` is meant to be shown to users. */
export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly field: string | undefined;

  constructor(status: number, code: string, message: string, field?: string) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
    this.field = field;
  }
}

export function isApiError(error: unknown, status?: number): error is ApiError {
  return error instanceof ApiError && (status === undefined || error.status === status);
}

/** Text to show a user for any thrown value. */
export function errorMessage(error: unknown): string {
  if (error instanceof ApiError) return error.message;
  return 'Something went wrong. Please try again.';
}

function isErrorBody(value: unknown): value is ApiErrorBody {
  if (typeof value !== 'object' || value === null || !('error' in value)) return false;
  const inner = (value as { error: unknown }).error;
  return (
    typeof inner === 'object' &&
    inner !== null &&
    typeof (inner as { message?: unknown }).message === 'string' &&
    typeof (inner as { code?: unknown }).code === 'string'
  );
}

function fallbackMessage(status: number): string {
  if (status === 401) return 'Your session has ended. Please sign in again.';
  if (status === 403) return 'You do not have permission to do that.';
  if (status === 404) return 'Not found.';
  if (status === 429) return 'Too many requests. Try again in a minute.';
  if (status >= 500) return `The server ran into a problem (HTTP ${status}). Please try again.`;
  return `The request failed (HTTP ${status}).`;
}

// ---------------------------------------------------------------------------
// Fetch

let csrfToken: string | null = null;

/** Remember (or forget) the CSRF token sent with every mutating request. */
export function setCsrfToken(token: string | null): void {
  csrfToken = token;
}

type QueryValue = string | number | boolean | null | undefined;

export interface RequestOptions {
  method?: 'GET' | 'HEAD' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  query?: Record<string, QueryValue>;
  body?: unknown;
  signal?: AbortSignal;
}

function buildUrl(path: string, query?: Record<string, QueryValue>): string {
  if (!query) return path;
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) {
    if (value === undefined || value === null || value === '') continue;
    params.set(key, String(value));
  }
  const search = params.toString();
  return search ? `${path}?${search}` : path;
}

/** Call the API; resolves with the parsed JSON body (undefined for 204), throws {@link ApiError}. */
export async function apiFetch<T>(path: string, options: RequestOptions = {}): Promise<T> {
  const method = options.method ?? 'GET';
  const headers: Record<string, string> = { Accept: 'application/json' };
  if (options.body !== undefined) headers['Content-Type'] = 'application/json';
  if (method !== 'GET' && method !== 'HEAD' && csrfToken) headers['X-CSRF-Token'] = csrfToken;

  let response: Response;
  try {
    response = await fetch(buildUrl(path, options.query), {
      method,
      headers,
      body: options.body === undefined ? undefined : JSON.stringify(options.body),
      credentials: 'same-origin',
      signal: options.signal,
    });
  } catch (error) {
    if (error instanceof DOMException && error.name === 'AbortError') throw error;
    throw new ApiError(0, 'network_error', 'Could not reach the Cohort server. Check your connection and try again.');
  }

  if (response.status === 204 || method === 'HEAD') return undefined as T;

  let body: unknown = undefined;
  const text = await response.text();
  if (text) {
    try {
      body = JSON.parse(text);
    } catch {
      body = undefined;
    }
  }

  if (!response.ok) {
    if (isErrorBody(body)) {
      throw new ApiError(response.status, body.error.code, body.error.message, body.error.field);
    }
    throw new ApiError(response.status, `http_${response.status}`, fallbackMessage(response.status));
  }
  return body as T;
}

const seg = encodeURIComponent;

// ---------------------------------------------------------------------------
// Query keys

export const queryKeys = {
  session: ['session'] as const,
  projects: ['projects'] as const,
  project: (slug: string) => ['project', slug] as const,
  tree: (slug: string) => ['project', slug, 'tree'] as const,
  modalities: (slug: string) => ['project', slug, 'modalities'] as const,
  tags: (slug: string) => ['project', slug, 'tags'] as const,
  patients: (slug: string, folderId: string, query: PatientQuery) =>
    ['project', slug, 'patients', folderId, query] as const,
};

// ---------------------------------------------------------------------------
// Session

/** `GET /api/auth/me`; `null` when not signed in. */
export async function fetchSession(signal?: AbortSignal): Promise<Session | null> {
  try {
    const session = await apiFetch<Session>('/api/auth/me', { signal });
    setCsrfToken(session.csrfToken);
    return session;
  } catch (error) {
    if (isApiError(error, 401)) {
      setCsrfToken(null);
      return null;
    }
    throw error;
  }
}

/** The signed-in session (source of truth for authentication). `data === null`: signed out. */
export function useSession() {
  return useQuery({
    queryKey: queryKeys.session,
    queryFn: ({ signal }) => fetchSession(signal),
    staleTime: 30_000,
  });
}

/** Forget every cached response except the session itself (whose observers stay subscribed). */
function removeUserData(queryClient: QueryClient): void {
  queryClient.removeQueries({ predicate: (query) => query.queryKey[0] !== queryKeys.session[0] });
}

export interface Credentials {
  username: string;
  password: string;
}

export function useLogin() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: (credentials: Credentials) =>
      apiFetch<Session>('/api/auth/login', { method: 'POST', body: credentials }),
    onSuccess: (session) => {
      // Drop everything cached for a previous user before installing the new session.
      removeUserData(queryClient);
      setCsrfToken(session.csrfToken);
      queryClient.setQueryData(queryKeys.session, session);
    },
  });
}

export function useLogout() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: () => apiFetch<void>('/api/auth/logout', { method: 'POST' }),
    onSettled: () => {
      setCsrfToken(null);
      removeUserData(queryClient);
      queryClient.setQueryData(queryKeys.session, null);
    },
  });
}

// ---------------------------------------------------------------------------
// Projects

export function useProjects() {
  return useQuery({
    queryKey: queryKeys.projects,
    queryFn: ({ signal }) =>
      apiFetch<{ projects: Project[] }>('/api/projects', { signal }).then((r) => r.projects),
  });
}

export function useProjectTree(slug: string | undefined) {
  return useQuery({
    queryKey: queryKeys.tree(slug ?? ''),
    queryFn: ({ signal }) => apiFetch<ProjectTree>(`/api/${seg(slug ?? '')}/tree`, { signal }),
    enabled: Boolean(slug),
  });
}

export function useModalities(slug: string) {
  return useQuery({
    queryKey: queryKeys.modalities(slug),
    queryFn: ({ signal }) =>
      apiFetch<{ modalities: Modality[] }>(`/api/${seg(slug)}/modalities`, { signal }).then(
        (r) => r.modalities,
      ),
    staleTime: 5 * 60_000,
  });
}

export function useTags(slug: string) {
  return useQuery({
    queryKey: queryKeys.tags(slug),
    queryFn: ({ signal }) =>
      apiFetch<{ tags: Tag[] }>(`/api/${seg(slug)}/tags`, { signal }).then((r) => r.tags),
    staleTime: 60_000,
  });
}

export function fetchPatients(
  slug: string,
  folderId: string,
  query: PatientQuery,
  signal?: AbortSignal,
): Promise<PatientPage> {
  const hasTags = query.tags.length > 0;
  return apiFetch<PatientPage>(`/api/${seg(slug)}/folders/${seg(folderId)}/patients`, {
    signal,
    query: {
      q: query.q.trim(),
      tags: hasTags ? query.tags.join(',') : undefined,
      tagMode: hasTags ? query.tagMode : undefined,
      recursive: query.recursive,
      limit: query.limit,
      offset: query.offset,
    },
  });
}

/** One page of patients; keeps the previous page on screen while the next one loads. */
export function usePatients(slug: string, folderId: string | null, query: PatientQuery) {
  return useQuery({
    queryKey: queryKeys.patients(slug, folderId ?? '', query),
    queryFn: ({ signal }) => fetchPatients(slug, folderId ?? '', query, signal),
    enabled: Boolean(folderId),
    placeholderData: keepPreviousData,
  });
}
