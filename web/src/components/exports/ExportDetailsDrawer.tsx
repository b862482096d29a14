import {
  ActionIcon,
  Alert,
  Anchor,
  Badge,
  Box,
  Code,
  CopyButton,
  Divider,
  Drawer,
  Group,
  List,
  Skeleton,
  Stack,
  Table,
  Text,
  Title,
  Tooltip,
} from '@mantine/core';
import { useMediaQuery } from '@mantine/hooks';
import {
  IconAlertTriangle,
  IconBan,
  IconCheck,
  IconClock,
  IconCopy,
  IconFileSpreadsheet,
  IconHourglassEmpty,
  IconMailCheck,
  IconMailExclamation,
  IconMailOff,
} from '@tabler/icons-react';
import { useState, type ReactNode } from 'react';
import { isApiError, useSession } from '../../api';
import { pseudonymsUrl, readCriteria, useExportJob, type ExportJob } from '../../exportsApi';
import type { FolderIndex } from '../../folders';
import { formatBytes, formatDateTime, formatNumber, formatRelative, plural } from '../../format';
import { ErrorState } from '../StateViews';
import { ExportActions, type ExportActionHandlers } from './ExportActions';
import { ExportProgress } from './ExportProgress';
import { ExportStatusBadge } from './exportStatus';
import { ShareLinksSection } from './ShareLinksSection';
import { useThroughput } from './useThroughput';

interface ExportDetailsDrawerProps {
  slug: string;
  /** The export shown; null closes the drawer. */
  id: string | null;
  onClose: () => void;
  isProjectAdmin: boolean;
  folderIndex: FolderIndex;
  modalityNames: ReadonlyMap<string, string>;
  handlers: ExportActionHandlers;
  /** A dialog of the page is open over the drawer: Escape closes that dialog only. */
  dialogOpen?: boolean;
}

const COMPRESSION_LABELS = { auto: 'Automatic', store: 'Store only (no compression)', deflate: 'Compress everything' } as const;

function Facts({ rows, label }: { rows: Array<[string, ReactNode]>; label: string }) {
  return (
    <Table variant="vertical" layout="fixed" withTableBorder={false} verticalSpacing={6} aria-label={label}>
      <Table.Tbody>
        {rows.map(([name, value]) => (
          <Table.Tr key={name}>
            <Table.Th w={150} fw={500} c="dimmed" style={{ background: 'transparent' }}>
              {name}
            </Table.Th>
            <Table.Td style={{ overflowWrap: 'anywhere' }}>{value}</Table.Td>
          </Table.Tr>
        ))}
      </Table.Tbody>
    </Table>
  );
}

function Section({ title, children }: { title: string; children: ReactNode }) {
  return (
    <Box component="section">
      <Title order={3} fz="sm" fw={650} mb={6}>
        {title}
      </Title>
      {children}
    </Box>
  );
}

/** Everything about one export: state, criteria, summary, checksum and what to do next. */
export function ExportDetailsDrawer({ slug, id, onClose, isProjectAdmin, folderIndex, modalityNames, handlers, dialogOpen = false }: ExportDetailsDrawerProps) {
  const narrow = useMediaQuery('(max-width: 48em)', false, { getInitialValueInEffect: false });
  // Dialogs opened from inside the drawer (share links) sit over it, too.
  const [innerDialogOpen, setInnerDialogOpen] = useState(false);
  const job = useExportJob(slug, id);
  const data = job.data && job.data.id === id ? job.data : undefined;

  let body;
  if (!id) body = null;
  else if (data) body = <Details job={data} slug={slug} isProjectAdmin={isProjectAdmin} folderIndex={folderIndex} modalityNames={modalityNames} handlers={handlers} updatedAt={job.dataUpdatedAt} onDialogChange={setInnerDialogOpen} />;
  else if (job.isError) {
    body = isApiError(job.error, 404) ? (
      <Text c="dimmed" size="sm">
        This export no longer exists; it may have been deleted.
      </Text>
    ) : (
      <ErrorState title="Could not load this export" error={job.error} onRetry={() => void job.refetch()} retrying={job.isFetching} />
    );
  } else {
    body = (
      <Stack gap="sm" aria-busy="true" aria-label="Loading export">
        <Skeleton height={20} width="60%" />
        <Skeleton height={12} />
        <Skeleton height={12} width="80%" />
        <Skeleton height={120} mt="md" />
      </Stack>
    );
  }

  return (
    <Drawer
      opened={id !== null}
      onClose={onClose}
      // Every open Mantine dialog closes on Escape: only the topmost one should.
      closeOnEscape={!dialogOpen && !innerDialogOpen}
      position="right"
      size={narrow ? '100%' : 560}
      title={
        <span style={{ display: 'flex', alignItems: 'center', gap: 'var(--mantine-spacing-sm)' }}>
          <Text component="span" fw={650} size="lg" style={{ overflowWrap: 'anywhere' }}>
            {data?.name ?? 'Export'}
          </Text>
          {data && <ExportStatusBadge job={data} />}
        </span>
      }
      closeButtonProps={{ 'aria-label': 'Close details' }}
      padding="lg"
    >
      {body}
    </Drawer>
  );
}

function Details({
  job,
  slug,
  isProjectAdmin,
  folderIndex,
  modalityNames,
  handlers,
  updatedAt,
  onDialogChange,
}: {
  job: ExportJob;
  slug: string;
  isProjectAdmin: boolean;
  folderIndex: FolderIndex;
  modalityNames: ReadonlyMap<string, string>;
  handlers: ExportActionHandlers;
  updatedAt: number;
  onDialogChange: (open: boolean) => void;
}) {
  const session = useSession();
  const isCreator = session.data?.user.id === job.createdBy.id;
  const rates = useThroughput([job], updatedAt);
  const criteria = readCriteria(job.criteria);
  const folders = criteria.selection.folderIds.map((fid) => folderIndex.byId.get(fid));
  const knownFolders = folders.filter((f) => f !== undefined);
  const unknownFolders = folders.length - knownFolders.length;
  const creator = job.createdBy.displayName || job.createdBy.username || 'Unknown user';
  const active = job.status === 'pending' || job.status === 'processing';

  const selectionParts: ReactNode[] = [];
  if (knownFolders.length) {
    selectionParts.push(
      <div key="folders">
        {plural(knownFolders.length, 'folder')} with subfolders:{' '}
        {knownFolders.map((f, i) => (
          <span key={f.id}>
            {i > 0 && ', '}
            <Code>{f.path}</Code>
          </span>
        ))}
      </div>,
    );
  }
  if (unknownFolders) selectionParts.push(<div key="unknown">{plural(unknownFolders, 'folder')} you can no longer see</div>);
  if (criteria.selection.patientIds.length) selectionParts.push(<div key="picked">{plural(criteria.selection.patientIds.length, 'patient')} picked one by one</div>);
  if (criteria.selection.excludePatientIds.length) {
    selectionParts.push(<div key="excluded">{plural(criteria.selection.excludePatientIds.length, 'patient')} left out of picked folders</div>);
  }
  if (!selectionParts.length) selectionParts.push(<div key="none">—</div>);

  const kinds = [criteria.include.raw && 'Raw', criteria.include.processed && 'Processed'].filter(Boolean).join(' and ') || '—';

  return (
    <Stack gap="lg">
      {job.status === 'failed' && (
        <Alert color="red" variant="light" icon={<IconAlertTriangle size={18} />} title="This export failed" role="alert">
          <Stack gap={6}>
            <Text size="sm">{job.errorMessage || 'The export stopped because of a problem on the server.'}</Text>
            <Text size="sm" c="dimmed">
              Nothing was kept from this attempt. Retry once the cause is fixed; if it keeps failing, pass this message on to an administrator.
            </Text>
          </Stack>
        </Alert>
      )}
      {job.status === 'cancelled' && (
        <Alert color="orange" variant="light" icon={<IconBan size={18} />} title="Cancelled">
          <Text size="sm">
            This export was stopped{job.completedAt ? ` on ${formatDateTime(job.completedAt)}` : ''} and its partial ZIP removed. Retry builds it again with the same
            criteria.
          </Text>
        </Alert>
      )}
      {job.status === 'expired' && (
        <Alert color="gray" variant="light" icon={<IconHourglassEmpty size={18} />} title="Expired">
          <Text size="sm">The ZIP was removed after its retention period. Create a new export with the same criteria if you need it again.</Text>
        </Alert>
      )}
      {active && <ExportProgress job={job} rate={rates.get(job.id)} size="md" />}

      <ExportActions slug={slug} job={job} handlers={handlers} variant="drawer" />

      {job.notes.trim() && (
        <Section title="Notes">
          <Text size="sm" style={{ whiteSpace: 'pre-wrap', overflowWrap: 'anywhere' }}>
            {job.notes}
          </Text>
        </Section>
      )}

      <Section title="Summary">
        <Facts
          label="Summary"
          rows={[
            ['Patients', formatNumber(job.patientCount)],
            ['Files', formatNumber(job.fileCount)],
            ['Size of the files', formatBytes(job.totalBytes)],
            ['ZIP size', job.zipSize !== null ? formatBytes(job.zipSize) : '—'],
            ['Created', `${formatDateTime(job.createdAt)} by ${creator}`],
            ['Started', job.startedAt ? formatDateTime(job.startedAt) : '—'],
            ['Finished', job.completedAt ? formatDateTime(job.completedAt) : '—'],
            ['Expires', job.expiresAt ? `${formatDateTime(job.expiresAt)} (${formatRelative(job.expiresAt)})` : '—'],
            ['Downloads', job.downloadCount ? `${formatNumber(job.downloadCount)}, last ${formatDateTime(job.lastDownloadAt ?? '')}` : 'None yet'],
            ['Email', <NotificationFact key="email" job={job} creator={creator} isCreator={isCreator} />],
            ...(job.attempt > 1 ? ([['Attempts', formatNumber(job.attempt)]] as Array<[string, ReactNode]>) : []),
          ]}
        />
      </Section>

      {job.skipped.length > 0 && (
        <Section title={`Skipped patients (${formatNumber(job.skipped.length)})`}>
          <Text size="sm" c="dimmed" mb={6}>
            These patients were in the selection but left out when the ZIP was built.
          </Text>
          <List size="sm" spacing={4}>
            {job.skipped.map((s) => (
              <List.Item key={s.patientFolder}>
                <Code>{s.patientFolder}</Code> — {s.reason}
              </List.Item>
            ))}
          </List>
        </Section>
      )}

      <Section title="ZIP checksum (SHA-256)">
        {job.zipSha256 ? (
          <Group gap="xs" wrap="nowrap" align="flex-start">
            <Code block style={{ flex: 1, whiteSpace: 'normal' }} data-testid="zip-sha256">
              {job.zipSha256.slice(0, 32)}
              <wbr />
              {job.zipSha256.slice(32)}
            </Code>
            <CopyButton value={job.zipSha256} timeout={2000}>
              {({ copied, copy }) => (
                <Tooltip label={copied ? 'Copied' : 'Copy checksum'}>
                  <ActionIcon variant={copied ? 'light' : 'default'} color={copied ? 'teal' : undefined} size="lg" onClick={copy} aria-label={copied ? 'Checksum copied' : 'Copy checksum'}>
                    {copied ? <IconCheck size={16} /> : <IconCopy size={16} />}
                  </ActionIcon>
                </Tooltip>
              )}
            </CopyButton>
          </Group>
        ) : (
          <Text size="sm" c="dimmed">
            Known once the export is completed.
          </Text>
        )}
        {job.zipSha256 && (
          <Text size="xs" c="dimmed" mt={6}>
            Compare with <Code>sha256sum {job.name}.zip</Code> after downloading. Inside the ZIP, SHA256SUMS checks every file.
          </Text>
        )}
      </Section>

      {job.status === 'completed' && <ShareLinksSection slug={slug} job={job} onDialogChange={onDialogChange} />}

      <Divider />

      <Section title="Criteria">
        <Facts
          label="Criteria"
          rows={[
            ['Selection', <Stack key="sel" gap={2}>{selectionParts}</Stack>],
            [
              'Tag filter',
              criteria.selection.tags.length ? (
                <Group gap={4} key="tags">
                  <Text size="sm" span>
                    {criteria.selection.tags.length > 1 ? (criteria.selection.tagMode === 'all' ? 'All of' : 'Any of') : ''}
                  </Text>
                  {criteria.selection.tags.map((t) => (
                    <Badge key={t} size="sm" variant="default" tt="none" fw={500}>
                      {t}
                    </Badge>
                  ))}
                </Group>
              ) : (
                'None'
              ),
            ],
            ['Modalities', criteria.modalities.map((m) => modalityNames.get(m) ?? m).join(', ') || '—'],
            ['Files', kinds],
            ['Compression', COMPRESSION_LABELS[criteria.compression]],
            ['Pseudonymised', criteria.pseudonymize ? 'Yes: no names, codes or ids in the ZIP' : 'No'],
          ]}
        />
      </Section>

      {criteria.pseudonymize && isProjectAdmin && (
        <Alert variant="light" color="grape" icon={<IconFileSpreadsheet size={18} />} title="Pseudonym mapping">
          <Text size="sm">
            <Anchor href={pseudonymsUrl(slug, job.id)} download>
              Download pseudonyms.csv
            </Anchor>{' '}
            — links each patient_NNN folder to its patient. Keep it apart from the export.
          </Text>
        </Alert>
      )}
    </Stack>
  );
}

/** Whether the creator was emailed about the result (`notification` of the export). */
function NotificationFact({ job, creator, isCreator }: { job: ExportJob; creator: string; isCreator: boolean }) {
  const { status, sentAt, error } = job.notification;
  const who = isCreator ? 'you' : creator;
  const has = isCreator ? 'you have' : `${creator} has`;
  let icon: ReactNode;
  let color: string | undefined;
  let text: ReactNode;
  if (status === 'sent') {
    icon = <IconMailCheck size={16} />;
    color = 'teal';
    text = `Sent to ${who}${sentAt ? ` on ${formatDateTime(sentAt)}` : ''}`;
  } else if (status === 'pending') {
    icon = <IconClock size={16} />;
    color = error ? 'orange' : 'gray';
    text = error ? `Not sent yet; trying again after an error: ${error}` : `Waiting to be sent to ${who}`;
  } else if (status === 'failed') {
    icon = <IconMailExclamation size={16} />;
    color = 'red';
    text = `Could not be sent: ${error || 'the mail server refused it'}`;
  } else if (status === 'skipped') {
    icon = <IconMailOff size={16} />;
    text = `Not sent: ${has} export emails turned off${isCreator ? ' (change this in your user menu)' : ''}`;
  } else {
    icon = <IconMailOff size={16} />;
    text =
      job.status === 'pending' || job.status === 'processing'
        ? `Sent when it finishes, if ${has} export emails turned on`
        : 'No email was sent about this export';
  }
  return (
    <Group gap={6} wrap="nowrap" align="flex-start" data-testid="notification-status" data-notification={status}>
      <Text span c={color ?? 'dimmed'} lh={1} mt={3} aria-hidden style={{ flexShrink: 0 }}>
        {icon}
      </Text>
      <Text span size="sm" c={status === 'failed' ? 'red' : undefined}>
        {text}
      </Text>
    </Group>
  );
}
