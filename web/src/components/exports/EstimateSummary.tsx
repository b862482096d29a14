import { Alert, Box, Divider, Group, Loader, Stack, Text, Title, VisuallyHidden } from '@mantine/core';
import { IconAlertTriangle } from '@tabler/icons-react';
import type { ReactNode } from 'react';
import { errorMessage } from '../../api';
import type { ExportEstimate } from '../../exportsApi';
import { formatBytes, formatNumber, plural } from '../../format';
import classes from './EstimateSummary.module.css';

export interface EstimateView {
  /** Patients the selection holds (after the tag filter); null before the first estimate. */
  selectedCount: number | null;
  /** Patients picked, before the tag filter. */
  pickedCount: number;
  hasTagFilter: boolean;
  /** Numbers for the chosen modalities and kinds; undefined when they cannot be worked out. */
  estimate: ExportEstimate | undefined;
  /** Why there are no file numbers (no modality, no kind, nothing picked). */
  noFilesReason: string | null;
  loading: boolean;
  error: unknown;
}

function Stat({ label, value, loading }: { label: string; value: ReactNode; loading?: boolean }) {
  return (
    <Group justify="space-between" gap="xs" wrap="nowrap">
      <Text size="sm" c="dimmed">
        {label}
      </Text>
      <Text size="sm" fw={600} className="tabular-nums" style={{ opacity: loading ? 0.6 : 1 }}>
        {value}
      </Text>
    </Group>
  );
}

/** The live summary beside the form: patients, size and files, limits and the submit button. */
export function EstimateSummary({ view, children, headingId }: { view: EstimateView; children: ReactNode; headingId: string }) {
  const { selectedCount, pickedCount, hasTagFilter, estimate, noFilesReason, loading, error } = view;
  const count = selectedCount ?? pickedCount;
  const withoutFiles = estimate && selectedCount !== null ? selectedCount - estimate.patientCount : 0;

  return (
    <Stack gap="sm">
      <Group justify="space-between" align="center">
        <Title order={2} fz="sm" fw={600} id={headingId}>
          Summary
        </Title>
        {loading && (
          <Group gap={6} role="status" aria-label="Updating the estimate">
            <Loader size={12} />
            <Text size="xs" c="dimmed">
              Updating…
            </Text>
          </Group>
        )}
      </Group>

      <Box aria-live="polite" aria-atomic="true" data-testid="selected-count">
        <Text className={`${classes.bigNumber} tabular-nums`} style={{ opacity: loading ? 0.7 : 1 }}>
          {formatNumber(count)}
        </Text>
        <Text size="sm" c="dimmed">
          {count === 1 ? 'patient selected' : 'patients selected'}
          {hasTagFilter && selectedCount !== null && pickedCount !== selectedCount
            ? ` (${formatNumber(pickedCount)} picked, the tag filter keeps ${formatNumber(selectedCount)})`
            : ''}
        </Text>
      </Box>

      <Divider />

      <Stack gap={6} data-testid="estimate">
        {noFilesReason ? (
          <Text size="sm" c="dimmed">
            {noFilesReason}
          </Text>
        ) : (
          <>
            <Stat label="Estimated size" value={estimate ? formatBytes(estimate.totalBytes) : '—'} loading={loading} />
            <Stat label="Files" value={estimate ? formatNumber(estimate.fileCount) : '—'} loading={loading} />
            <Stat label="Patients with files" value={estimate ? formatNumber(estimate.patientCount) : '—'} loading={loading} />
            {withoutFiles > 0 && (
              <Text size="xs" c="dimmed">
                {plural(withoutFiles, 'selected patient')} {withoutFiles === 1 ? 'has' : 'have'} no files of the chosen modalities and{' '}
                {withoutFiles === 1 ? 'is' : 'are'} left out.
              </Text>
            )}
            {estimate && (
              <Text size="xs" c="dimmed">
                Your exports use {formatBytes(estimate.limits.quotaUsedBytes)} of your {formatBytes(estimate.limits.quotaBytes)} quota.
              </Text>
            )}
          </>
        )}
      </Stack>

      {estimate && estimate.warnings.length > 0 && (
        <Alert color="orange" variant="light" icon={<IconAlertTriangle size={16} />} title="Over a limit: the server will refuse this export" p="sm">
          <Stack gap={4}>
            {estimate.warnings.map((w) => (
              <Text key={w.code} size="sm">
                {w.message}
              </Text>
            ))}
          </Stack>
        </Alert>
      )}

      {Boolean(error) && (
        <Alert color="red" variant="light" icon={<IconAlertTriangle size={16} />} p="sm">
          <Text size="sm">
            <VisuallyHidden>Estimate failed: </VisuallyHidden>
            {errorMessage(error)}
          </Text>
        </Alert>
      )}

      {children}
    </Stack>
  );
}

/** One line for the sticky bar on narrow screens. */
export function estimateLine(view: EstimateView): string {
  const count = view.selectedCount ?? view.pickedCount;
  const parts = [plural(count, 'patient')];
  if (!view.noFilesReason && view.estimate) parts.push(formatBytes(view.estimate.totalBytes));
  return parts.join(' · ');
}
