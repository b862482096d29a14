import { useCallback, useMemo } from 'react';
import { useSearchParams } from 'react-router';
import type { TagMode } from '../api';

/** Patient-browser state, kept in the URL so views can be shared, reloaded and navigated with Back. */
export interface BrowserState {
  /** Selected folder id; `null` = the default (first root) folder. */
  folderId: string | null;
  recursive: boolean;
  q: string;
  tags: string[];
  tagMode: TagMode;
  /** 1-based. */
  page: number;
}

const P = {
  folder: 'folder',
  recursive: 'subfolders',
  q: 'q',
  tag: 'tag',
  tagMode: 'match',
  page: 'page',
} as const;

function parse(params: URLSearchParams): BrowserState {
  const page = Number.parseInt(params.get(P.page) ?? '1', 10);
  return {
    folderId: params.get(P.folder) || null,
    recursive: params.get(P.recursive) === '1',
    q: params.get(P.q) ?? '',
    tags: [...new Set(params.getAll(P.tag).filter(Boolean))],
    tagMode: params.get(P.tagMode) === 'all' ? 'all' : 'any',
    page: Number.isFinite(page) && page > 0 ? page : 1,
  };
}

function write(params: URLSearchParams, state: BrowserState): URLSearchParams {
  const next = new URLSearchParams(params);
  for (const key of Object.values(P)) next.delete(key);
  if (state.folderId) next.set(P.folder, state.folderId);
  if (state.recursive) next.set(P.recursive, '1');
  if (state.q) next.set(P.q, state.q);
  for (const tag of state.tags) next.append(P.tag, tag);
  if (state.tagMode === 'all') next.set(P.tagMode, 'all');
  if (state.page > 1) next.set(P.page, String(state.page));
  return next;
}

export interface UpdateOptions {
  /** Add a history entry (folder changes) instead of replacing the current one (filters, paging). */
  push?: boolean;
}

/**
 * Read and update the browser state. Any update that does not set `page`
 * goes back to page 1 (the result set changed).
 */
export function useBrowserState(): [BrowserState, (patch: Partial<BrowserState>, options?: UpdateOptions) => void] {
  const [params, setParams] = useSearchParams();
  const state = useMemo(() => parse(params), [params]);

  const update = useCallback(
    (patch: Partial<BrowserState>, options: UpdateOptions = {}) => {
      setParams(
        (prev) => {
          const current = parse(prev);
          return write(prev, { ...current, page: 1, ...patch });
        },
        { replace: !options.push },
      );
    },
    [setParams],
  );

  return [state, update];
}
