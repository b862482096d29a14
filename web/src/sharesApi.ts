/**
 * Share links of completed exports (src/http/routes/share-routes.ts): managed from the export
 * details (creator and project admins) and opened by token on the public landing page.
 */
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { apiFetch } from './api';
import { exportKeys } from './exportsApi';

// ---------------------------------------------------------------------------
// Contract types

export type ShareAccess = 'members' | 'link';
export type ShareState = 'active' | 'expired' | 'revoked' | 'used_up';

export interface ShareLink {
  id: string;
  access: ShareAccess;
  createdAt: string;
  expiresAt: string;
  maxDownloads: number | null;
  downloadCount: number;
  lastDownloadAt: string | null;
  state: ShareState;
}

/** The answer to creating a link: the only time its token and URL are known. */
export interface CreatedShareLink extends ShareLink {
  token: string;
  url: string;
}

export interface CreateShareBody {
  access: ShareAccess;
  /** 1–365; the server caps the expiry at the export's own. Default 7. */
  expiresInDays?: number;
  /** 1–10,000; absent: no limit. */
  maxDownloads?: number;
}

/** What the landing page shows about a shared export (`GET /api/share/<token>`). */
export interface SharedExportInfo {
  name: string;
  zipSize: number;
  fileCount: number;
  patientCount: number;
  createdBy: string;
  completedAt: string | null;
  expiresAt: string;
  access: ShareAccess;
  /** `null`: no download limit. */
  downloadsLeft: number | null;
}

export const SHARE_DEFAULT_DAYS = 7;
export const SHARE_MAX_DAYS = 365;
export const SHARE_MAX_DOWNLOADS = 10_000;

export const ACCESS_LABELS: Record<ShareAccess, string> = {
  members: 'Project members',
  link: 'Anyone with the link',
};

export const ACCESS_DESCRIPTIONS: Record<ShareAccess, string> = {
  members: 'Signed-in members of this project who may see every patient in the export.',
  link: 'Anyone who has the link, without signing in.',
};

/** For sentences: "the public link created …". */
export const ACCESS_NOUNS: Record<ShareAccess, string> = {
  members: 'members-only link',
  link: 'public link',
};

// ---------------------------------------------------------------------------
// URLs

const seg = encodeURIComponent;

/** Followed by the browser itself (never fetched into memory). */
export function shareDownloadUrl(token: string): string {
  return `/api/share/${seg(token)}/download`;
}

// ---------------------------------------------------------------------------
// Query keys: an export's links live under its project's export keys, so refreshing the
// exports refreshes them too. The landing page's key is dropped with the rest of the user's
// data at sign-in and sign-out (see api.ts), so it is fetched again as the new user.

export const shareKeys = {
  forExport: (slug: string, exportId: string) => [...exportKeys.all(slug), 'shares', exportId] as const,
  info: (token: string) => ['share', token] as const,
};

// ---------------------------------------------------------------------------
// Hooks

export function useShareLinks(slug: string, exportId: string, enabled = true) {
  return useQuery({
    queryKey: shareKeys.forExport(slug, exportId),
    queryFn: ({ signal }) =>
      apiFetch<{ shares: ShareLink[] }>(`/api/${seg(slug)}/exports/${seg(exportId)}/shares`, { signal }).then((r) =>
        [...r.shares].sort((a, b) => b.createdAt.localeCompare(a.createdAt)),
      ),
    enabled,
    staleTime: 0,
    // Download counts change as people use the links.
    refetchInterval: 15_000,
  });
}

export function useCreateShareLink(slug: string, exportId: string) {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: (body: CreateShareBody) =>
      apiFetch<CreatedShareLink>(`/api/${seg(slug)}/exports/${seg(exportId)}/shares`, { method: 'POST', body }),
    onSuccess: (created) => {
      // The token and URL stay with the caller only; the cached list holds the plain link.
      const { token: _token, url: _url, ...link } = created;
      queryClient.setQueryData<ShareLink[]>(shareKeys.forExport(slug, exportId), (links) =>
        links ? [link, ...links.filter((l) => l.id !== link.id)] : links,
      );
      void queryClient.invalidateQueries({ queryKey: shareKeys.forExport(slug, exportId) });
    },
  });
}

export function useRevokeShareLink(slug: string, exportId: string) {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: (shareId: string) =>
      apiFetch<void>(`/api/${seg(slug)}/exports/${seg(exportId)}/shares/${seg(shareId)}`, { method: 'DELETE' }),
    onSuccess: (_data, shareId) => {
      queryClient.setQueryData<ShareLink[]>(shareKeys.forExport(slug, exportId), (links) =>
        links?.map((l) => (l.id === shareId ? { ...l, state: 'revoked' } : l)),
      );
      void queryClient.invalidateQueries({ queryKey: shareKeys.forExport(slug, exportId) });
    },
  });
}

export function useSharedExport(token: string) {
  return useQuery({
    queryKey: shareKeys.info(token),
    queryFn: ({ signal }) => apiFetch<SharedExportInfo>(`/api/share/${seg(token)}`, { signal }),
    staleTime: 60_000,
  });
}
