import { ActionIcon, Button, Group, Tooltip } from '@mantine/core';
import { IconDownload, IconInfoCircle, IconPlayerStop, IconRefresh, IconTrash } from '@tabler/icons-react';
import { exportDownloadUrl, type ExportJob } from '../../exportsApi';

export interface ExportActionHandlers {
  onCancel: (job: ExportJob) => void;
  onRetry: (job: ExportJob) => void;
  onDelete: (job: ExportJob) => void;
  onDetails?: (job: ExportJob) => void;
  /** The export whose retry is on its way. */
  retryingId: string | null;
}

interface ExportActionsProps {
  slug: string;
  job: ExportJob;
  handlers: ExportActionHandlers;
  /** `row`: compact, for tables and cards; `drawer`: labelled buttons. */
  variant?: 'row' | 'drawer';
}

/**
 * What can be done with an export: download (completed; a plain link the browser saves itself),
 * cancel (waiting or running), retry (failed or cancelled), details and delete.
 */
export function ExportActions({ slug, job, handlers, variant = 'row' }: ExportActionsProps) {
  const compact = variant === 'row';
  const size = compact ? 'xs' : 'sm';
  let primary = null;
  if (job.status === 'completed') {
    primary = (
      <Button
        component="a"
        href={exportDownloadUrl(slug, job.id)}
        download
        size={size}
        variant={compact ? 'light' : 'filled'}
        leftSection={compact ? undefined : <IconDownload size={16} aria-hidden />}
        aria-label={`Download ${job.name}.zip`}
      >
        Download
      </Button>
    );
  } else if (job.status === 'pending' || job.status === 'processing') {
    primary = (
      <Button
        size={size}
        variant="default"
        leftSection={compact ? undefined : <IconPlayerStop size={16} aria-hidden />}
        onClick={() => handlers.onCancel(job)}
        disabled={job.cancelRequested}
        aria-label={`Cancel ${job.name}`}
      >
        {job.cancelRequested ? 'Cancelling…' : 'Cancel'}
      </Button>
    );
  } else if (job.status === 'failed' || job.status === 'cancelled') {
    primary = (
      <Button
        size={size}
        variant={compact ? 'light' : 'filled'}
        leftSection={compact ? undefined : <IconRefresh size={16} aria-hidden />}
        onClick={() => handlers.onRetry(job)}
        loading={handlers.retryingId === job.id}
        aria-label={`Retry ${job.name}`}
      >
        Retry
      </Button>
    );
  }

  if (!compact) {
    return (
      <Group gap="sm">
        {primary}
        <Button
          size={size}
          variant="default"
          color="red"
          leftSection={<IconTrash size={16} aria-hidden />}
          onClick={() => handlers.onDelete(job)}
          aria-label={`Delete ${job.name}`}
          c="red"
        >
          Delete
        </Button>
      </Group>
    );
  }

  return (
    <Group gap={4} wrap="nowrap" justify="flex-end">
      {primary}
      {handlers.onDetails && (
        <Tooltip label="Details">
          <ActionIcon variant="subtle" color="gray" aria-label={`Details of ${job.name}`} onClick={() => handlers.onDetails?.(job)}>
            <IconInfoCircle size={18} />
          </ActionIcon>
        </Tooltip>
      )}
      <Tooltip label="Delete">
        <ActionIcon variant="subtle" color="red" aria-label={`Delete ${job.name}`} onClick={() => handlers.onDelete(job)}>
          <IconTrash size={18} />
        </ActionIcon>
      </Tooltip>
    </Group>
  );
}
