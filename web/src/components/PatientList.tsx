import { Button, Center, Group, Loader, Pagination, Stack, Text, VisuallyHidden } from '@mantine/core';
import { IconFilterOff, IconLock, IconSubtask, IconUserSearch, IconUsers } from '@tabler/icons-react';
import { useMemo, useRef, useState } from 'react';
import { usePatients, useModalities, useTags, type TagMode } from '../api';
import type { FolderNode } from '../folders';
import { formatNumber, plural } from '../format';
import type { BrowserState, UpdateOptions } from '../pages/useBrowserState';
import { PatientFilters } from './PatientFilters';
import { PatientTable, PatientTableSkeleton } from './PatientTable';
import { EmptyState, ErrorState } from './StateViews';

export const PAGE_SIZE = 50;

interface PatientListProps {
  slug: string;
  folder: FolderNode;
  state: BrowserState;
  update: (patch: Partial<BrowserState>, options?: UpdateOptions) => void;
}

/** Filters, table and pagination for the patients of one folder. */
export function PatientList({ slug, folder, state, update }: PatientListProps) {
  const topRef = useRef<HTMLDivElement>(null);
  const query = useMemo(
    () => ({
      q: state.q.trim(),
      tags: state.tags,
      tagMode: state.tagMode,
      recursive: state.recursive,
      limit: PAGE_SIZE,
      offset: (state.page - 1) * PAGE_SIZE,
    }),
    [state.q, state.tags, state.tagMode, state.recursive, state.page],
  );
  const patients = usePatients(slug, folder.id, query);
  const tags = useTags(slug);
  const modalities = useModalities(slug);

  const tagColors = useMemo(() => new Map((tags.data ?? []).map((t) => [t.name, t.color] as const)), [tags.data]);
  const modalityNames = useMemo(
    () => new Map((modalities.data ?? []).map((m) => [m.slug, m.name] as const)),
    [modalities.data],
  );

  const filtered = query.q !== '' || state.tags.length > 0;
  const [resetCount, setResetCount] = useState(0);
  const clearFilters = () => {
    setResetCount((n) => n + 1);
    update({ q: '', tags: [], tagMode: 'any' });
  };
  const includeSubfolders = () => update({ recursive: true });

  const data = patients.data;
  const total = data?.total ?? 0;
  const pageCount = Math.max(1, Math.ceil(total / PAGE_SIZE));
  const first = total === 0 ? 0 : query.offset + 1;
  const last = Math.min(total, query.offset + (data?.items.length ?? 0));
  // Showing another page's/filter's rows while the new ones load.
  const stale = patients.isPlaceholderData;

  const goToPage = (page: number) => {
    update({ page });
    topRef.current?.scrollIntoView({ block: 'nearest', behavior: 'smooth' });
  };

  let body;
  if (patients.isPending) {
    body = <PatientTableSkeleton />;
  } else if (patients.isError && !data) {
    body = (
      <ErrorState
        title="Could not load patients"
        error={patients.error}
        onRetry={() => void patients.refetch()}
        retrying={patients.isFetching}
      />
    );
  } else if (data && data.items.length === 0) {
    body = (
      <EmptyPatients
        filtered={filtered}
        pageOutOfRange={total > 0}
        folder={folder}
        recursive={state.recursive}
        onClearFilters={clearFilters}
        onIncludeSubfolders={includeSubfolders}
        onFirstPage={() => update({ page: 1 })}
      />
    );
  } else if (data) {
    body = (
      <PatientTable
        patients={data.items}
        label={`Patients in ${folder.name}`}
        tagColors={tagColors}
        modalityNames={modalityNames}
        showFolder={state.recursive}
        stale={stale}
      />
    );
  }

  return (
    <Stack gap="md" ref={topRef} style={{ scrollMarginTop: 72 }}>
      <PatientFilters
        q={state.q}
        tags={state.tags}
        tagMode={state.tagMode}
        availableTags={tags.data}
        tagsError={tags.isError}
        onSearchChange={(q) => update({ q })}
        onTagsChange={(next) => update({ tags: next })}
        onTagModeChange={(mode: TagMode) => update({ tagMode: mode })}
        resetCount={resetCount}
      />

      <Group justify="space-between" gap="xs" mih={24}>
        <Text size="sm" c="dimmed" role="status" aria-live="polite" className="tabular-nums">
          {data && total > 0 && (
            <>
              Showing {formatNumber(first)}–{formatNumber(last)} of {plural(total, 'patient')}
              {state.recursive ? ' (including subfolders)' : ''}
            </>
          )}
          {data && total === 0 && !stale && <VisuallyHidden>No patients</VisuallyHidden>}
        </Text>
        <Group gap="sm">
          {patients.isFetching && !patients.isPending && (
            <Group gap={6}>
              <Loader size={14} />
              <Text size="xs" c="dimmed">
                Updating…
              </Text>
            </Group>
          )}
          {filtered && (
            <Button
              variant="subtle"
              color="gray"
              size="compact-sm"
              leftSection={<IconFilterOff size={14} aria-hidden />}
              onClick={clearFilters}
            >
              Clear filters
            </Button>
          )}
        </Group>
      </Group>

      {patients.isError && data && (
        <Text size="sm" c="red" role="alert">
          Could not refresh the list: {patients.error.message}
        </Text>
      )}

      {body}

      {data && pageCount > 1 && (
        <Center component="nav" aria-label="Patient list pages" pt="xs">
          <Pagination
            total={pageCount}
            value={Math.min(state.page, pageCount)}
            onChange={goToPage}
            withEdges
            siblings={1}
            getControlProps={(control) => ({
              'aria-label': {
                first: 'First page',
                previous: 'Previous page',
                next: 'Next page',
                last: 'Last page',
              }[control],
            })}
            getItemProps={(page) => ({ 'aria-label': `Page ${page}` })}
          />
        </Center>
      )}
    </Stack>
  );
}

interface EmptyPatientsProps {
  filtered: boolean;
  pageOutOfRange: boolean;
  folder: FolderNode;
  recursive: boolean;
  onClearFilters: () => void;
  onIncludeSubfolders: () => void;
  onFirstPage: () => void;
}

function EmptyPatients({
  filtered,
  pageOutOfRange,
  folder,
  recursive,
  onClearFilters,
  onIncludeSubfolders,
  onFirstPage,
}: EmptyPatientsProps) {
  if (pageOutOfRange) {
    return (
      <EmptyState
        icon={<IconUsers size={28} stroke={1.6} />}
        title="This page is empty"
        action={<Button variant="default" onClick={onFirstPage}>Go to the first page</Button>}
      >
        The list is shorter than this page number.
      </EmptyState>
    );
  }
  if (filtered) {
    return (
      <EmptyState
        icon={<IconUserSearch size={28} stroke={1.6} />}
        title="No patients match your filters"
        action={
          <Button variant="default" leftSection={<IconFilterOff size={16} />} onClick={onClearFilters}>
            Clear filters
          </Button>
        }
      >
        Try a different name or code, fewer tags, or “Any tag”
        {recursive ? '.' : ', or include subfolders.'}
      </EmptyState>
    );
  }
  const inSubfolders = folder.totalPatientCount - (folder.accessible ? folder.patientCount : 0);
  const subfolderAction =
    !recursive && inSubfolders > 0 ? (
      <Button variant="light" leftSection={<IconSubtask size={16} />} onClick={onIncludeSubfolders}>
        Include subfolders
      </Button>
    ) : undefined;

  if (!folder.accessible && !recursive) {
    return (
      <EmptyState icon={<IconLock size={28} stroke={1.6} />} title="Patients here are not shared with you" action={subfolderAction}>
        You can see this folder because you have access to some of its subfolders.
        {inSubfolders > 0 ? ` They hold ${plural(inSubfolders, 'patient')} you can see.` : ''}
      </EmptyState>
    );
  }
  if (!recursive && inSubfolders > 0) {
    return (
      <EmptyState icon={<IconSubtask size={28} stroke={1.6} />} title="No patients directly in this folder" action={subfolderAction}>
        Its subfolders hold {plural(inSubfolders, 'patient')}.
      </EmptyState>
    );
  }
  return (
    <EmptyState icon={<IconUsers size={28} stroke={1.6} />} title="This folder is empty">
      No patients have been added to {recursive && folder.children.length > 0 ? 'this folder or its subfolders' : 'this folder'} yet.
    </EmptyState>
  );
}
