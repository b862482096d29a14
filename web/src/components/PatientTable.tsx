import { Group, Skeleton, Stack, Table, Text } from '@mantine/core';
import type { Patient } from '../api';
import { formatBytes, formatDate, formatNumber } from '../format';
import { ModalityBadge, TagBadge, VisibilityBadge } from './badges';
import { ColumnHeads, Dash, type ColumnHead } from './tableParts';

interface PatientTableProps {
  patients: Patient[];
  /** Caption for assistive technology, e.g. "Patients in Study A". */
  label: string;
  tagColors: ReadonlyMap<string, string | null>;
  modalityNames: ReadonlyMap<string, string>;
  /** Show each patient's folder (when subfolders are included). */
  showFolder: boolean;
  /** Dim while a new page is loading. */
  stale?: boolean;
}

const MIN_WIDTH = 820;

const COLUMNS: readonly ColumnHead[] = [
  { label: 'Name' },
  { label: 'Code' },
  { label: 'Tags' },
  { label: 'Modalities' },
  { label: 'Files', right: true },
  { label: 'Size', right: true },
];

export function PatientTable({ patients, label, tagColors, modalityNames, showFolder, stale }: PatientTableProps) {
  return (
    <Table.ScrollContainer minWidth={MIN_WIDTH} type="native">
      <Table
        verticalSpacing="sm"
        horizontalSpacing="md"
        highlightOnHover
        aria-label={label}
        aria-busy={stale || undefined}
        // position: relative keeps the visually hidden (absolutely positioned) "None" labels inside
        // the scroll container, so they cannot widen the page on narrow screens.
        style={{ position: 'relative', opacity: stale ? 0.6 : 1, transition: 'opacity 150ms ease' }}
      >
        <Table.Thead>
          <ColumnHeads columns={COLUMNS} />
        </Table.Thead>
        <Table.Tbody>
          {patients.map((patient) => (
            <Table.Tr key={patient.id}>
              <Table.Td style={{ minWidth: 180 }}>
                <Stack gap={2}>
                  <Group gap={6} wrap="wrap">
                    <Text size="sm" fw={500} style={{ overflowWrap: 'anywhere' }} title={`Added ${formatDate(patient.createdAt)}`}>
                      {patient.name}
                    </Text>
                    <VisibilityBadge visibility={patient.visibility} />
                  </Group>
                  {showFolder && patient.folderPath && (
                    <Text size="xs" c="dimmed" style={{ overflowWrap: 'anywhere' }}>
                      {patient.folderPath}
                    </Text>
                  )}
                </Stack>
              </Table.Td>
              <Table.Td>
                {patient.code ? (
                  <Text size="sm" ff="monospace" style={{ whiteSpace: 'nowrap' }}>
                    {patient.code}
                  </Text>
                ) : (
                  <Dash />
                )}
              </Table.Td>
              <Table.Td>
                {patient.tags.length ? (
                  <Group gap={4}>
                    {patient.tags.map((tag) => (
                      <TagBadge key={tag} name={tag} color={tagColors.get(tag)} />
                    ))}
                  </Group>
                ) : (
                  <Dash />
                )}
              </Table.Td>
              <Table.Td>
                {patient.modalities.length ? (
                  <Group gap={4}>
                    {patient.modalities.map((slug) => (
                      <ModalityBadge key={slug} name={modalityNames.get(slug) ?? slug} />
                    ))}
                  </Group>
                ) : (
                  <Dash />
                )}
              </Table.Td>
              <Table.Td ta="right" className="tabular-nums" style={{ whiteSpace: 'nowrap' }}>
                {formatNumber(patient.fileCount)}
              </Table.Td>
              <Table.Td ta="right" className="tabular-nums" style={{ whiteSpace: 'nowrap' }}>
                {formatBytes(patient.totalBytes)}
              </Table.Td>
            </Table.Tr>
          ))}
        </Table.Tbody>
      </Table>
    </Table.ScrollContainer>
  );
}

/** Placeholder rows shaped like the table while the first page loads. */
export function PatientTableSkeleton({ rows = 8 }: { rows?: number }) {
  return (
    <Table.ScrollContainer minWidth={MIN_WIDTH} type="native">
      <Table verticalSpacing="sm" horizontalSpacing="md" aria-busy="true" aria-label="Loading patients">
        <Table.Thead>
          <ColumnHeads columns={COLUMNS} />
        </Table.Thead>
        <Table.Tbody>
          {Array.from({ length: rows }, (_, i) => (
            <Table.Tr key={i}>
              <Table.Td>
                <Skeleton height={12} width={`${60 + ((i * 17) % 30)}%`} />
              </Table.Td>
              <Table.Td>
                <Skeleton height={12} width={64} />
              </Table.Td>
              <Table.Td>
                <Group gap={4}>
                  <Skeleton height={16} width={52} radius="sm" />
                  {i % 2 === 0 && <Skeleton height={16} width={40} radius="sm" />}
                </Group>
              </Table.Td>
              <Table.Td>
                <Group gap={4}>
                  <Skeleton height={14} width={40} radius="sm" />
                  <Skeleton height={14} width={34} radius="sm" />
                </Group>
              </Table.Td>
              <Table.Td>
                <Skeleton height={12} width={24} ml="auto" />
              </Table.Td>
              <Table.Td>
                <Skeleton height={12} width={56} ml="auto" />
              </Table.Td>
            </Table.Tr>
          ))}
        </Table.Tbody>
      </Table>
    </Table.ScrollContainer>
  );
}
