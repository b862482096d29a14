import { Group, Progress, Text } from '@mantine/core';
import type { ExportJob } from '../../exportsApi';
import { formatBytes, formatDuration, formatNumber, formatRate } from '../../format';
import { phaseLabel } from './exportStatus';

interface ExportProgressProps {
  job: ExportJob;
  /** Bytes per second from successive polls, when known. */
  rate: number | undefined;
  size?: 'sm' | 'md';
}

/** Progress bar with phase, percent, files, throughput and time left of a waiting or running export. */
export function ExportProgress({ job, rate, size = 'sm' }: ExportProgressProps) {
  const p = job.progress;
  const waiting = job.status === 'pending';
  const cancelling = job.cancelRequested;
  const percent = waiting ? 0 : p.percent;
  const label = cancelling ? 'Cancelling' : waiting ? 'Waiting for a worker' : phaseLabel(p.phase);

  const details: string[] = [];
  if (!waiting) {
    details.push(`${formatNumber(p.filesDone)} of ${formatNumber(p.filesTotal)} files`);
    if (p.bytesTotal > 0) details.push(`${formatBytes(p.bytesDone)} of ${formatBytes(p.bytesTotal)}`);
    if (rate !== undefined && rate > 0) details.push(formatRate(rate));
  }
  const eta = !waiting && !cancelling && p.etaSeconds !== null ? `${formatDuration(p.etaSeconds)} left` : null;
  const valueText = waiting
    ? 'Waiting to start'
    : [`${percent.toFixed(percent % 1 === 0 ? 0 : 1)}%`, label, ...details, ...(eta ? [eta] : [])].join(', ');

  return (
    <div data-testid="export-progress">
      <Group justify="space-between" gap="xs" mb={4} wrap="nowrap">
        <Text size="xs" fw={600} c={cancelling ? 'orange' : undefined} truncate="end">
          {label}
          {!waiting && <span className="tabular-nums"> · {percent.toFixed(percent % 1 === 0 ? 0 : 1)}%</span>}
        </Text>
        {eta && (
          <Text size="xs" c="dimmed" className="tabular-nums" style={{ whiteSpace: 'nowrap' }}>
            {eta}
          </Text>
        )}
      </Group>
      <Progress.Root
        size={size === 'md' ? 'lg' : 'md'}
        role="progressbar"
        aria-label={`Progress of ${job.name}`}
        aria-valuemin={0}
        aria-valuemax={100}
        aria-valuenow={percent}
        aria-valuetext={valueText}
      >
        <Progress.Section
          value={waiting ? 100 : Math.max(percent, 1)}
          withAria={false}
          color={cancelling ? 'orange' : waiting ? 'gray.3' : 'blue'}
          striped={waiting || cancelling}
          animated={!waiting || cancelling}
        />
      </Progress.Root>
      {details.length > 0 && (
        <Text size="xs" c="dimmed" mt={4} className="tabular-nums">
          {details.join(' · ')}
        </Text>
      )}
    </div>
  );
}
