import { Box, Checkbox, Skeleton, Text } from '@mantine/core';
import { keepPreviousData, useQueries, useQuery } from '@tanstack/react-query';
import { IconUserSearch, IconUsers } from '@tabler/icons-react';
import { useEffect, useId, useMemo, useState, type CSSProperties, type KeyboardEvent } from 'react';
import { fetchPatients, queryKeys, type Patient, type PatientQuery, type TagMode } from '../../api';
import type { FolderNode } from '../../folders';
import { formatBytes, plural } from '../../format';
import { VisibilityBadge } from '../badges';
import { EmptyState, ErrorState } from '../StateViews';
import classes from './PatientPicker.module.css';
import { useWindowedRows } from './useWindowedRows';

/** Patients per request (the API's maximum). */
export const PICKER_PAGE_SIZE = 500;
const ROW_HEIGHT = 52;
const MAX_VISIBLE_ROWS = 8;

export interface PatientFilter {
  q: string;
  tags: string[];
  tagMode: TagMode;
}

interface PatientPickerProps {
  slug: string;
  folder: FolderNode;
  filter: PatientFilter;
  isSelected: (patient: Patient) => boolean;
  onToggle: (patient: Patient, selected: boolean) => void;
  modalityNames: ReadonlyMap<string, string>;
  /** Accessible name of the list. */
  label: string;
}

/**
 * The patients directly in one folder, each with a checkbox. Loaded page by page (500 at a time)
 * as the list scrolls, and rendered windowed, so thousands of patients stay smooth.
 * Keyboard: one tab stop; ↑/↓, Page Up/Down, Home/End move; Space or Enter picks or un-picks.
 */
export function PatientPicker({ slug, folder, filter, isSelected, onToggle, modalityNames, label }: PatientPickerProps) {
  const idPrefix = useId();
  const [viewport, setViewport] = useState<HTMLDivElement | null>(null);
  const [active, setActive] = useState<number | null>(null);

  const baseQuery = useMemo(
    () => ({ q: filter.q.trim(), tags: filter.tags, tagMode: filter.tagMode, recursive: false, limit: PICKER_PAGE_SIZE }),
    [filter.q, filter.tags, filter.tagMode],
  );
  const pageQuery = (page: number): PatientQuery => ({ ...baseQuery, offset: page * PICKER_PAGE_SIZE });

  const first = useQuery({
    queryKey: queryKeys.patients(slug, folder.id, pageQuery(0)),
    queryFn: ({ signal }) => fetchPatients(slug, folder.id, pageQuery(0), signal),
    placeholderData: keepPreviousData,
    enabled: folder.accessible,
  });
  const total = first.data?.total ?? 0;
  const stale = first.isPlaceholderData;

  const rows = useWindowedRows({ count: total, rowHeight: ROW_HEIGHT, viewport, initialHeight: MAX_VISIBLE_ROWS * ROW_HEIGHT });

  // A new search or tag filter starts at the top.
  const filterKey = JSON.stringify(baseQuery);
  useEffect(() => {
    if (viewport) viewport.scrollTop = 0;
    setActive(null);
    // Only when the filter changes, not when the list element mounts.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [filterKey]);

  const pages = useMemo(() => {
    if (total === 0 || rows.end <= rows.start) return [];
    const out: number[] = [];
    for (let p = Math.floor(rows.start / PICKER_PAGE_SIZE); p <= Math.floor((rows.end - 1) / PICKER_PAGE_SIZE); p++) if (p > 0) out.push(p);
    return out;
  }, [rows.start, rows.end, total]);

  const more = useQueries({
    queries: pages.map((page) => ({
      queryKey: queryKeys.patients(slug, folder.id, pageQuery(page)),
      queryFn: ({ signal }: { signal: AbortSignal }) => fetchPatients(slug, folder.id, pageQuery(page), signal),
      staleTime: 60_000,
    })),
  });

  const itemAt = (index: number): Patient | undefined => {
    const page = Math.floor(index / PICKER_PAGE_SIZE);
    const offset = index % PICKER_PAGE_SIZE;
    if (page === 0) return first.data?.items[offset];
    const position = pages.indexOf(page);
    return position >= 0 ? more[position]?.data?.items[offset] : undefined;
  };

  const moveTo = (index: number) => {
    if (total === 0) return;
    const next = Math.max(0, Math.min(total - 1, index));
    setActive(next);
    rows.scrollToIndex(next);
  };

  const toggleAt = (index: number) => {
    const patient = itemAt(index);
    if (patient) onToggle(patient, !isSelected(patient));
  };

  const onKeyDown = (event: KeyboardEvent<HTMLDivElement>) => {
    if (event.altKey || event.ctrlKey || event.metaKey || total === 0) return;
    const current = active ?? 0;
    let handled = true;
    switch (event.key) {
      case 'ArrowDown':
        moveTo(active === null ? 0 : current + 1);
        break;
      case 'ArrowUp':
        moveTo(current - 1);
        break;
      case 'PageDown':
        moveTo(current + rows.pageSize);
        break;
      case 'PageUp':
        moveTo(current - rows.pageSize);
        break;
      case 'Home':
        moveTo(0);
        break;
      case 'End':
        moveTo(total - 1);
        break;
      case ' ':
      case 'Enter':
        if (active === null) moveTo(0);
        else toggleAt(current);
        break;
      default:
        handled = false;
    }
    if (handled) {
      event.preventDefault();
      event.stopPropagation();
    }
  };

  if (!folder.accessible) {
    return (
      <EmptyState icon={<IconUsers size={24} stroke={1.6} />} title="Patients here are not shared with you" py="md">
        Pick its subfolders instead.
      </EmptyState>
    );
  }
  if (first.isPending) {
    return (
      <Box aria-busy="true" aria-label="Loading patients" className={classes.viewport} style={{ height: 4 * ROW_HEIGHT }}>
        {[0, 1, 2, 3].map((i) => (
          <LoadingRow key={i} />
        ))}
      </Box>
    );
  }
  if (first.isError && !first.data) {
    return (
      <ErrorState title="Could not load patients" error={first.error} onRetry={() => void first.refetch()} retrying={first.isFetching} />
    );
  }
  const filtered = baseQuery.q !== '' || baseQuery.tags.length > 0;
  if (total === 0 && !stale) {
    return filtered ? (
      <EmptyState icon={<IconUserSearch size={24} stroke={1.6} />} title="No patients here match the search or tags" py="md">
        Patients outside the tag filter are not exported even when their folder is picked.
      </EmptyState>
    ) : (
      <EmptyState icon={<IconUsers size={24} stroke={1.6} />} title="No patients directly in this folder" py="md">
        {folder.children.length > 0 ? 'Its patients are in the subfolders above.' : 'This folder is empty.'}
      </EmptyState>
    );
  }

  const activeRendered = active !== null && active >= rows.start && active < rows.end;
  const height = Math.min(total, MAX_VISIBLE_ROWS) * ROW_HEIGHT + 2;

  const rendered = [];
  for (let index = rows.start; index < rows.end; index++) {
    const patient = itemAt(index);
    if (!patient) {
      rendered.push(<LoadingRow key={`loading-${index}`} />);
      continue;
    }
    const selected = isSelected(patient);
    rendered.push(
      <div
        key={patient.id}
        id={`${idPrefix}-opt-${index}`}
        role="option"
        aria-selected={selected}
        aria-setsize={total}
        aria-posinset={index + 1}
        aria-label={patient.code ? `${patient.name} (${patient.code})` : patient.name}
        data-active={index === active || undefined}
        data-patient-id={patient.id}
        className={classes.row}
        onClick={() => {
          setActive(index);
          onToggle(patient, !selected);
        }}
      >
        <Checkbox.Indicator size="sm" checked={selected} aria-hidden />
        <div className={classes.main}>
          <div className={classes.line}>
            <span className={classes.name}>{patient.name}</span>
            <VisibilityBadge visibility={patient.visibility} />
            {patient.tags.length > 0 && (
              <span className={classes.tags}>
                {patient.tags.map((tag) => (
                  <span key={tag} className={classes.tag}>
                    {tag}
                  </span>
                ))}
              </span>
            )}
          </div>
          <div className={classes.sub}>
            {patient.code && <span className={classes.code}>{patient.code}</span>}
            {patient.code && patient.modalities.length > 0 && ' · '}
            {patient.modalities.map((m) => modalityNames.get(m) ?? m).join(', ')}
          </div>
        </div>
        <span className={classes.size}>{formatBytes(patient.totalBytes)}</span>
      </div>,
    );
  }

  return (
    <div>
      <div
        ref={setViewport}
        role="listbox"
        aria-multiselectable="true"
        aria-label={label}
        aria-busy={stale || undefined}
        aria-activedescendant={activeRendered ? `${idPrefix}-opt-${active}` : undefined}
        tabIndex={0}
        className={classes.viewport}
        style={{ height, opacity: stale ? 0.6 : 1, '--row-height': `${ROW_HEIGHT}px` } as CSSProperties}
        onKeyDown={onKeyDown}
        onFocus={() => {
          // Start at the first row in view.
          if (active === null && viewport) setActive(Math.min(Math.floor(viewport.scrollTop / ROW_HEIGHT), total - 1));
        }}
      >
        <div role="presentation" style={{ height: rows.totalHeight, position: 'relative' }}>
          <div role="presentation" style={{ transform: `translateY(${rows.start * ROW_HEIGHT}px)` }}>
            {rendered}
          </div>
        </div>
      </div>
      <Text size="xs" c="dimmed" mt={6} className="tabular-nums">
        {plural(total, 'patient')} {filtered ? 'match' + (total === 1 ? 'es' : '') : 'directly in this folder'}
        {total > MAX_VISIBLE_ROWS ? ' · scroll or use ↑ ↓ Page Up/Down to move, Space to pick' : ''}
      </Text>
    </div>
  );
}

function LoadingRow() {
  return (
    <div className={classes.row} aria-hidden style={{ '--row-height': `${ROW_HEIGHT}px` } as CSSProperties}>
      <Skeleton height={16} width={16} radius="sm" />
      <div className={classes.main}>
        <Skeleton height={10} width="40%" mb={6} />
        <Skeleton height={8} width="25%" />
      </div>
    </div>
  );
}
