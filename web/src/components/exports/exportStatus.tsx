import { Badge, Loader } from '@mantine/core';
import { IconAlertCircle, IconBan, IconCheck, IconClock, IconHourglassEmpty } from '@tabler/icons-react';
import type { ExportJob, ExportStatus } from '../../exportsApi';

const STATUS: Record<ExportStatus, { label: string; color: string; description: string }> = {
  pending: { label: 'Waiting', color: 'gray', description: 'Queued; a worker will start it shortly' },
  processing: { label: 'Running', color: 'blue', description: 'Being built' },
  completed: { label: 'Completed', color: 'teal', description: 'Ready to download' },
  failed: { label: 'Failed', color: 'red', description: 'Stopped with an error; it can be retried' },
  cancelled: { label: 'Cancelled', color: 'orange', description: 'Stopped on request; it can be retried' },
  expired: { label: 'Expired', color: 'gray', description: 'Its ZIP was removed after the retention period' },
};

export function statusLabel(status: ExportStatus): string {
  return STATUS[status]?.label ?? status;
}

export const STATUS_FILTERS: Array<{ value: ExportStatus; label: string }> = (
  ['pending', 'processing', 'completed', 'failed', 'cancelled', 'expired'] as const
).map((value) => ({ value, label: STATUS[value].label }));

/** The export's status as a coloured badge (`Cancelling…` while a cancel is on its way). */
export function ExportStatusBadge({ job }: { job: Pick<ExportJob, 'status' | 'cancelRequested'> }) {
  const info = STATUS[job.status] ?? { label: job.status, color: 'gray', description: '' };
  const cancelling = job.cancelRequested && job.status === 'processing';
  let icon;
  if (cancelling || job.status === 'processing') icon = <Loader size={10} color="currentColor" type="oval" />;
  else if (job.status === 'pending') icon = <IconClock size={12} />;
  else if (job.status === 'completed') icon = <IconCheck size={12} />;
  else if (job.status === 'failed') icon = <IconAlertCircle size={12} />;
  else if (job.status === 'cancelled') icon = <IconBan size={12} />;
  else icon = <IconHourglassEmpty size={12} />;
  return (
    <Badge
      component="span"
      variant="light"
      tt="none"
      fw={600}
      color={cancelling ? 'orange' : info.color}
      leftSection={icon}
      title={cancelling ? 'Stopping; the partial ZIP is removed' : info.description}
      style={{ flexShrink: 0 }}
      // Never truncated: the label's full width is the column's minimum.
      styles={{ label: { overflow: 'visible' } }}
      data-status={job.status}
    >
      {cancelling ? 'Cancelling…' : info.label}
    </Badge>
  );
}

const PHASES: Record<string, string> = {
  queued: 'Waiting for a worker',
  'checking access': 'Checking access',
  writing: 'Writing the ZIP',
  finishing: 'Finishing',
  done: 'Done',
  failed: 'Failed',
  cancelled: 'Cancelled',
};

export function phaseLabel(phase: string): string {
  return PHASES[phase] ?? phase.charAt(0).toUpperCase() + phase.slice(1);
}
