import {
  Alert,
  Button,
  Center,
  Group,
  Loader,
  Pagination,
  Paper,
  Select,
  SimpleGrid,
  Skeleton,
  Stack,
  Switch,
  Table,
  Text,
  Title,
  VisuallyHidden,
} from '@mantine/core';
import { useDocumentTitle, useMediaQuery } from '@mantine/hooks';
import { IconCircleCheck, IconFileZip, IconFilterOff, IconPlus } from '@tabler/icons-react';
import { Fragment, useCallback, useEffect, useMemo, useRef, useState, type ReactNode } from 'react';
import { useQueryClient } from '@tanstack/react-query';
import { Link, useSearchParams } from 'react-router';
import { useModalities, useSession } from '../api';
import { ConfirmModal } from '../components/exports/ConfirmModal';
import { ExportActions, type ExportActionHandlers } from '../components/exports/ExportActions';
import { ExportDetailsDrawer } from '../components/exports/ExportDetailsDrawer';
import { ExportProgress } from '../components/exports/ExportProgress';
import { ExportStatusBadge, STATUS_FILTERS, statusLabel } from '../components/exports/exportStatus';
import { useThroughput } from '../components/exports/useThroughput';
import { EmptyState, ErrorState } from '../components/StateViews';
import { ColumnHeads, Dash, type ColumnHead } from '../components/tableParts';
import {
  EXPORT_STATUSES,
  exportKeys,
  isActiveStatus,
  useCancelExport,
  useDeleteExport,
  useExportList,
  useRetryExport,
  type ExportJob,
  type ExportStatus,
} from '../exportsApi';
import { formatBytes, formatDateTime, formatNumber, formatRelative, formatShortDateTime, plural } from '../format';
import { useProject } from '../projectContext';
import classes from './ExportsPage.module.css';

export const EXPORTS_PAGE_SIZE = 20;

interface ListState {
  status: ExportStatus | null;
  all: boolean;
  page: number;
  highlight: string | null;
  details: string | null;
}

function useListState(): [ListState, (patch: Partial<ListState>) => void] {
  const [params, setParams] = useSearchParams();
  const state = useMemo<ListState>(() => {
    const status = params.get('status');
    const page = Number.parseInt(params.get('page') ?? '1', 10);
    return {
      status: (EXPORT_STATUSES as readonly string[]).includes(status ?? '') ? (status as ExportStatus) : null,
      all: params.get('all') === '1',
      page: Number.isFinite(page) && page > 0 ? page : 1,
      highlight: params.get('highlight'),
      details: params.get('export'),
    };
  }, [params]);
  const update = useCallback(
    (patch: Partial<ListState>) => {
      setParams(
        (prev) => {
          const next = new URLSearchParams(prev);
          const merged = { ...state, ...patch };
          const set = (key: string, value: string | null) => (value ? next.set(key, value) : next.delete(key));
          set('status', merged.status);
          set('all', merged.all ? '1' : null);
          set('page', merged.page > 1 ? String(merged.page) : null);
          set('highlight', merged.highlight);
          set('export', merged.details);
          return next;
        },
        { replace: true },
      );
    },
    [setParams, state],
  );
  return [state, update];
}

const COLUMNS: readonly ColumnHead[] = [
  { label: 'Export' },
  { label: 'Status' },
  { label: 'Created' },
  { label: 'Completed' },
  { label: 'Patients', right: true },
  { label: 'Files', right: true },
  { label: 'Size', right: true },
  { label: 'Expires' },
  { label: 'Created by' },
  { label: <VisuallyHidden>Actions</VisuallyHidden>, right: true },
];

type Confirm = { kind: 'cancel' | 'delete'; job: ExportJob } | null;
type Flash = { message: string; color: 'teal' | 'red' } | null;

function sizeOf(job: ExportJob): { text: string; title: string } {
  if (job.status === 'completed' && job.zipSize !== null) return { text: formatBytes(job.zipSize), title: 'Size of the ZIP' };
  return { text: formatBytes(job.totalBytes), title: 'Size of the files (the ZIP size is known once completed)' };
}

function creatorName(job: ExportJob): string {
  return job.createdBy.displayName || job.createdBy.username || 'Unknown';
}

function When({ value }: { value: string | null }) {
  if (!value) return <Dash />;
  return (
    <Text span size="sm" title={formatDateTime(value)} style={{ whiteSpace: 'nowrap' }}>
      {formatShortDateTime(value)}
    </Text>
  );
}

function Expiry({ job }: { job: ExportJob }) {
  if (job.status === 'expired') return <Text span size="sm" c="dimmed">Expired</Text>;
  if (!job.expiresAt) return <Dash />;
  return (
    <Text span size="sm" title={formatDateTime(job.expiresAt)} style={{ whiteSpace: 'nowrap' }}>
      {formatRelative(job.expiresAt)}
    </Text>
  );
}

/** `/p/:slug/exports`: the caller's exports (admins: everyone's), live while any is running. */
export function ExportsPage() {
  const { project, folderIndex } = useProject();
  const slug = project.slug;
  const base = `/p/${encodeURIComponent(slug)}`;
  useDocumentTitle(`Exports · ${project.name} · Cohort`);
  const session = useSession();
  const isProjectAdmin = project.role === 'admin' || Boolean(session.data?.user.isSiteAdmin);
  const canCreate = project.role !== 'viewer';
  const narrow = useMediaQuery('(max-width: 62em)', false, { getInitialValueInEffect: false });

  const [state, update] = useListState();
  const all = isProjectAdmin && state.all;
  const query = useMemo(
    () => ({ all, status: state.status, limit: EXPORTS_PAGE_SIZE, offset: (state.page - 1) * EXPORTS_PAGE_SIZE }),
    [all, state.status, state.page],
  );
  const list = useExportList(slug, query);
  const items = list.data?.items;
  const rates = useThroughput(items, list.dataUpdatedAt);
  const modalities = useModalities(slug);
  const modalityNames = useMemo(() => new Map((modalities.data ?? []).map((m) => [m.slug, m.name] as const)), [modalities.data]);

  const cancel = useCancelExport(slug);
  const retry = useRetryExport(slug);
  const remove = useDeleteExport(slug);
  const [confirm, setConfirm] = useState<Confirm>(null);
  const [flash, setFlash] = useState<Flash>(null);

  // Status changes are announced to screen readers (the table updates by itself).
  const queryClient = useQueryClient();
  const [announcement, setAnnouncement] = useState('');
  const lastStatuses = useRef(new Map<string, ExportStatus>());
  useEffect(() => {
    if (!items) return;
    const changes: string[] = [];
    for (const job of items) {
      const before = lastStatuses.current.get(job.id);
      if (before && before !== job.status) changes.push(`${job.name}: ${statusLabel(job.status).toLowerCase()}.`);
      lastStatuses.current.set(job.id, job.status);
    }
    if (changes.length) {
      setAnnouncement(changes.join(' '));
      // The running count in the project navigation follows at once.
      void queryClient.invalidateQueries({ queryKey: exportKeys.running(slug) });
    }
  }, [items, queryClient, slug]);

  // The export just created: scrolled to once it appears.
  const highlighted = state.highlight ? items?.find((j) => j.id === state.highlight) : undefined;
  const scrolledTo = useRef<string | null>(null);
  useEffect(() => {
    if (!highlighted || scrolledTo.current === highlighted.id) return;
    scrolledTo.current = highlighted.id;
    document.querySelector(`[data-export-id="${CSS.escape(highlighted.id)}"]`)?.scrollIntoView({ block: 'nearest' });
  }, [highlighted]);

  const handlers: ExportActionHandlers = {
    onCancel: (job) => {
      cancel.reset();
      setConfirm({ kind: 'cancel', job });
    },
    onDelete: (job) => {
      remove.reset();
      setConfirm({ kind: 'delete', job });
    },
    onRetry: (job) =>
      retry.mutate(job.id, {
        onSuccess: () => setFlash({ message: `“${job.name}” is queued again.`, color: 'teal' }),
        onError: (error) => setFlash({ message: `Could not retry “${job.name}”: ${error.message}`, color: 'red' }),
      }),
    onDetails: (job) => update({ details: job.id }),
    retryingId: retry.isPending ? (retry.variables ?? null) : null,
  };

  const onConfirm = () => {
    if (!confirm) return;
    const { job } = confirm;
    if (confirm.kind === 'cancel') {
      cancel.mutate(job.id, {
        onSuccess: () => {
          setConfirm(null);
          setFlash({ message: `Cancelling “${job.name}”. Its partial ZIP is removed.`, color: 'teal' });
        },
      });
    } else {
      remove.mutate(job.id, {
        onSuccess: () => {
          setConfirm(null);
          if (state.details === job.id) update({ details: null });
          setFlash({ message: `“${job.name}” was deleted.`, color: 'teal' });
        },
      });
    }
  };

  const total = list.data?.total ?? 0;
  const pageCount = Math.max(1, Math.ceil(total / EXPORTS_PAGE_SIZE));
  const running = items?.filter((j) => isActiveStatus(j.status)).length ?? 0;
  const filtered = state.status !== null;

  let content: ReactNode;
  if (list.isPending) {
    content = <ListSkeleton />;
  } else if (list.isError && !list.data) {
    content = <ErrorState title="Could not load exports" error={list.error} onRetry={() => void list.refetch()} retrying={list.isFetching} />;
  } else if (items && items.length === 0 && total > 0) {
    content = (
      <EmptyState
        icon={<IconFileZip size={28} stroke={1.6} />}
        title="This page is empty"
        action={
          <Button variant="default" onClick={() => update({ page: 1 })}>
            Go to the first page
          </Button>
        }
      >
        The list is shorter than this page number.
      </EmptyState>
    );
  } else if (items && items.length === 0) {
    content = filtered ? (
      <EmptyState
        icon={<IconFilterOff size={28} stroke={1.6} />}
        title={`No ${statusLabel(state.status!).toLowerCase()} exports`}
        action={
          <Button variant="default" onClick={() => update({ status: null, page: 1 })}>
            Show all statuses
          </Button>
        }
      >
        Try another status.
      </EmptyState>
    ) : (
      <EmptyState
        icon={<IconFileZip size={28} stroke={1.6} />}
        title={all ? 'Nobody has exported from this project yet' : 'You have no exports yet'}
        action={
          canCreate ? (
            <Button component={Link} to={`${base}/exports/new`} leftSection={<IconPlus size={16} />}>
              New export
            </Button>
          ) : undefined
        }
      >
        An export packs the imaging files of the patients you choose into one verified ZIP, built in the background.
      </EmptyState>
    );
  } else if (items) {
    content = narrow ? (
      <Stack gap={0} role="list" aria-label="Exports">
        {items.map((job) => (
          <ExportCard key={job.id} job={job} slug={slug} rate={rates.get(job.id)} highlighted={job.id === state.highlight} handlers={handlers} showCreator={all} />
        ))}
      </Stack>
    ) : (
      <ExportTable items={items} slug={slug} rates={rates} highlight={state.highlight} handlers={handlers} stale={list.isPlaceholderData} />
    );
  }

  return (
    <Stack gap="md">
      <Group justify="space-between" align="flex-end" gap="sm">
        <div>
          <Title order={2} fz="h3">
            Exports
          </Title>
          <Text size="sm" c="dimmed">
            ZIP archives of patient imaging data, built in the background. Completed exports can be downloaded until they expire.
          </Text>
        </div>
        {canCreate ? (
          <Button component={Link} to={`${base}/exports/new`} leftSection={<IconPlus size={16} />}>
            New export
          </Button>
        ) : (
          <Text size="sm" c="dimmed">
            Viewers can browse but not export.
          </Text>
        )}
      </Group>

      {highlighted && (
        <Alert
          color="teal"
          variant="light"
          icon={<IconCircleCheck size={18} />}
          title={`Export “${highlighted.name}” created`}
          withCloseButton
          closeButtonLabel="Dismiss"
          onClose={() => update({ highlight: null })}
        >
          {highlighted.status === 'completed'
            ? 'It is ready: use Download in its row.'
            : 'It is being built in the background. This page updates by itself; you can also leave and come back later.'}
        </Alert>
      )}
      {flash && (
        <Alert color={flash.color} variant="light" role={flash.color === 'red' ? 'alert' : 'status'} withCloseButton closeButtonLabel="Dismiss" onClose={() => setFlash(null)} py="xs">
          <Text size="sm">{flash.message}</Text>
        </Alert>
      )}

      <Paper withBorder radius="md">
        <Group justify="space-between" gap="sm" px={{ base: 'sm', sm: 'md' }} py="sm" className={classes.toolbar}>
          <Group gap="md" align="center">
            <Select
              label="Status"
              data={[{ value: '', label: 'All statuses' }, ...STATUS_FILTERS]}
              value={state.status ?? ''}
              onChange={(value) => update({ status: (value || null) as ExportStatus | null, page: 1 })}
              allowDeselect={false}
              w={170}
              size="sm"
              comboboxProps={{ shadow: 'md' }}
            />
            {isProjectAdmin && (
              <Switch
                label="Everyone’s exports"
                description="Project admins see all members’ exports"
                checked={all}
                onChange={(event) => update({ all: event.currentTarget.checked, page: 1 })}
                mt={{ base: 0, xs: 20 }}
              />
            )}
          </Group>
          <Group gap={6} className="tabular-nums" role="status" aria-live="polite">
            {list.isFetching && !list.isPending && <Loader size={12} aria-hidden />}
            <Text size="sm" c="dimmed">
              {list.data ? plural(total, 'export') : ''}
              {running > 0 ? ` · ${formatNumber(running)} in progress, updating live` : ''}
            </Text>
          </Group>
        </Group>
        {list.isError && list.data && (
          <Text size="sm" c="red" px="md" pb="xs" role="alert">
            Could not refresh the list: {list.error.message}
          </Text>
        )}
        {content}
      </Paper>

      {list.data && pageCount > 1 && (
        <Center component="nav" aria-label="Export list pages">
          <Pagination
            total={pageCount}
            value={Math.min(state.page, pageCount)}
            onChange={(page) => update({ page })}
            withEdges
            getControlProps={(control) => ({
              'aria-label': { first: 'First page', previous: 'Previous page', next: 'Next page', last: 'Last page' }[control],
            })}
            getItemProps={(page) => ({ 'aria-label': `Page ${page}` })}
          />
        </Center>
      )}

      <VisuallyHidden role="status" aria-live="polite">
        {announcement}
      </VisuallyHidden>

      <ExportDetailsDrawer
        slug={slug}
        id={state.details}
        onClose={() => update({ details: null })}
        isProjectAdmin={isProjectAdmin}
        folderIndex={folderIndex}
        modalityNames={modalityNames}
        handlers={{ ...handlers, onDetails: undefined }}
        dialogOpen={confirm !== null}
      />

      <ConfirmModal
        opened={confirm?.kind === 'cancel'}
        title="Cancel this export?"
        confirmLabel="Cancel export"
        cancelLabel="Keep it running"
        onConfirm={onConfirm}
        onClose={() => setConfirm(null)}
        pending={cancel.isPending}
        error={cancel.error}
      >
        <Text size="sm">
          <b>{confirm?.job.name}</b> stops within a few seconds and its partial ZIP is removed. You can retry it later with the same criteria.
        </Text>
      </ConfirmModal>
      <ConfirmModal
        opened={confirm?.kind === 'delete'}
        title="Delete this export?"
        confirmLabel="Delete export"
        onConfirm={onConfirm}
        onClose={() => setConfirm(null)}
        pending={remove.isPending}
        error={remove.error}
      >
        <Text size="sm">
          <b>{confirm?.job.name}</b>
          {confirm?.job.status === 'completed' && confirm.job.zipSize !== null ? ` and its ZIP (${formatBytes(confirm.job.zipSize)})` : ''} will be removed from the
          server{confirm && isActiveStatus(confirm.job.status) ? ', and building it stops' : ''}. This cannot be undone; downloaded copies are not affected.
        </Text>
      </ConfirmModal>
    </Stack>
  );
}

function ExportTable({
  items,
  slug,
  rates,
  highlight,
  handlers,
  stale,
}: {
  items: ExportJob[];
  slug: string;
  rates: ReadonlyMap<string, number>;
  highlight: string | null;
  handlers: ExportActionHandlers;
  stale: boolean;
}) {
  // Whether the table is wider than its box (narrower windows): then the actions column sticks.
  const [scroller, setScroller] = useState<HTMLDivElement | null>(null);
  const [overflowing, setOverflowing] = useState(false);
  useEffect(() => {
    if (!scroller || typeof ResizeObserver === 'undefined') return;
    const measure = () => setOverflowing(scroller.scrollWidth > scroller.clientWidth + 1);
    measure();
    const observer = new ResizeObserver(measure);
    observer.observe(scroller);
    if (scroller.firstElementChild) observer.observe(scroller.firstElementChild);
    return () => observer.disconnect();
  }, [scroller]);

  return (
    <Table.ScrollContainer minWidth={1080} type="native" ref={setScroller}>
      <Table
        verticalSpacing="sm"
        horizontalSpacing="sm"
        aria-label="Exports"
        aria-busy={stale || undefined}
        data-overflowing={overflowing || undefined}
        className={classes.table}
        style={{ opacity: stale ? 0.6 : 1 }}
      >
        <Table.Thead>
          <ColumnHeads columns={COLUMNS} />
        </Table.Thead>
        <Table.Tbody>
          {items.map((job) => {
            const size = sizeOf(job);
            const active = isActiveStatus(job.status);
            const isHighlighted = job.id === highlight;
            return (
              <Fragment key={job.id}>
                <Table.Tr
                  data-export-id={job.id}
                  data-highlighted={isHighlighted || undefined}
                  data-with-progress={active || undefined}
                  aria-current={isHighlighted ? 'true' : undefined}
                  className={classes.row}
                >
                  <Table.Td>
                    <div className={classes.nameCell}>
                      <Text size="sm" fw={600} className={classes.name} title={job.name}>
                        {job.name}
                      </Text>
                      {job.notes.trim() && (
                        <Text size="xs" c="dimmed" className={classes.name} title={job.notes}>
                          {job.notes}
                        </Text>
                      )}
                    </div>
                  </Table.Td>
                  <Table.Td>
                    <ExportStatusBadge job={job} />
                  </Table.Td>
                  <Table.Td>
                    <When value={job.createdAt} />
                  </Table.Td>
                  <Table.Td>
                    <When value={job.status === 'completed' ? job.completedAt : null} />
                  </Table.Td>
                  <Table.Td ta="right" className="tabular-nums">
                    {formatNumber(job.patientCount)}
                  </Table.Td>
                  <Table.Td ta="right" className="tabular-nums">
                    {formatNumber(job.fileCount)}
                  </Table.Td>
                  <Table.Td ta="right" className="tabular-nums" style={{ whiteSpace: 'nowrap' }} title={size.title}>
                    {size.text}
                  </Table.Td>
                  <Table.Td>
                    <Expiry job={job} />
                  </Table.Td>
                  <Table.Td>
                    <Text size="sm" truncate="end" maw={140} title={job.createdBy.username}>
                      {creatorName(job)}
                    </Text>
                  </Table.Td>
                  <Table.Td>
                    <ExportActions slug={slug} job={job} handlers={handlers} />
                  </Table.Td>
                </Table.Tr>
                {active && (
                  <Table.Tr data-highlighted={isHighlighted || undefined} className={classes.progressRow} data-progress-for={job.id}>
                    <Table.Td colSpan={10} pt={0}>
                      <div className={classes.progressCell}>
                        <ExportProgress job={job} rate={rates.get(job.id)} />
                      </div>
                    </Table.Td>
                  </Table.Tr>
                )}
              </Fragment>
            );
          })}
        </Table.Tbody>
      </Table>
    </Table.ScrollContainer>
  );
}

function ExportCard({
  job,
  slug,
  rate,
  highlighted,
  handlers,
  showCreator,
}: {
  job: ExportJob;
  slug: string;
  rate: number | undefined;
  highlighted: boolean;
  handlers: ExportActionHandlers;
  showCreator: boolean;
}) {
  const size = sizeOf(job);
  const facts: Array<[string, ReactNode]> = [
    ['Created', <When key="c" value={job.createdAt} />],
    ['Completed', <When key="d" value={job.status === 'completed' ? job.completedAt : null} />],
    ['Patients', formatNumber(job.patientCount)],
    ['Files', formatNumber(job.fileCount)],
    ['Size', size.text],
    ['Expires', <Expiry key="e" job={job} />],
  ];
  if (showCreator) facts.push(['Created by', creatorName(job)]);
  return (
    <div role="listitem" data-export-id={job.id} data-highlighted={highlighted || undefined} aria-current={highlighted ? 'true' : undefined} className={classes.card}>
      <Group justify="space-between" wrap="nowrap" align="flex-start" gap="sm">
        <Text fw={600} size="sm" style={{ overflowWrap: 'anywhere' }}>
          {job.name}
        </Text>
        <ExportStatusBadge job={job} />
      </Group>
      {isActiveStatus(job.status) && (
        <div style={{ marginTop: 10 }}>
          <ExportProgress job={job} rate={rate} />
        </div>
      )}
      <SimpleGrid cols={{ base: 2, xs: 3 }} spacing="xs" verticalSpacing={6} mt="sm" component="dl" className={classes.facts}>
        {facts.map(([label, value]) => (
          <div key={label}>
            <Text component="dt" size="xs" c="dimmed">
              {label}
            </Text>
            <Text component="dd" size="sm" className="tabular-nums">
              {value}
            </Text>
          </div>
        ))}
      </SimpleGrid>
      <Group justify="flex-end" mt="sm">
        <ExportActions slug={slug} job={job} handlers={handlers} />
      </Group>
    </div>
  );
}

function ListSkeleton() {
  return (
    <Stack gap={0} aria-busy="true" aria-label="Loading exports">
      {[0, 1, 2, 3].map((i) => (
        <Group key={i} justify="space-between" px="md" py="md" style={{ borderTop: '1px solid var(--mantine-color-default-border)' }} wrap="nowrap">
          <Stack gap={6} style={{ flex: 1 }}>
            <Skeleton height={12} width={`${40 + ((i * 13) % 25)}%`} />
            <Skeleton height={8} width="20%" />
          </Stack>
          <Skeleton height={20} width={80} radius="sm" />
          <Skeleton height={12} width={90} />
          <Skeleton height={26} width={110} radius="sm" />
        </Group>
      ))}
    </Stack>
  );
}
