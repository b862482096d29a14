import { Alert, Button, Checkbox, Group, SimpleGrid, Skeleton, Stack, Switch, Text } from '@mantine/core';
import { IconAlertTriangle } from '@tabler/icons-react';
import type { Modality } from '../../api';
import type { ModalityEstimate } from '../../exportsApi';
import { formatBytes, plural } from '../../format';
import { ErrorState } from '../StateViews';
import classes from './ModalityPicker.module.css';

interface ModalityPickerProps {
  modalities: Modality[] | undefined;
  loadError: unknown;
  onRetry: () => void;
  chosen: readonly string[];
  onChosenChange: (next: string[]) => void;
  /** Per-modality numbers for the current selection; null when nothing is picked yet. */
  perModality: ReadonlyMap<string, ModalityEstimate> | null;
  /** Numbers are from an older selection while new ones load. */
  stale: boolean;
  include: { raw: boolean; processed: boolean };
  onIncludeChange: (next: { raw: boolean; processed: boolean }) => void;
  modalitiesError: string | null;
  includeError: string | null;
}

/** A card per modality with what the selected patients hold of it, and the raw/processed switches. */
export function ModalityPicker({
  modalities,
  loadError,
  onRetry,
  chosen,
  onChosenChange,
  perModality,
  stale,
  include,
  onIncludeChange,
  modalitiesError,
  includeError,
}: ModalityPickerProps) {
  if (loadError && !modalities) {
    return <ErrorState title="Could not load the project’s modalities" error={loadError} onRetry={onRetry} />;
  }

  let cards;
  if (!modalities) {
    cards = (
      <SimpleGrid cols={{ base: 1, xs: 2, lg: 3 }} spacing="sm" aria-busy="true" aria-label="Loading modalities">
        {[0, 1, 2].map((i) => (
          <Skeleton key={i} height={64} radius="md" />
        ))}
      </SimpleGrid>
    );
  } else if (modalities.length === 0) {
    cards = (
      <Text size="sm" c="dimmed">
        This project has no imaging files yet, so there is nothing to export.
      </Text>
    );
  } else {
    const chosenSet = new Set(chosen);
    const all = modalities.map((m) => m.slug);
    cards = (
      <>
        <Group gap="xs" justify="space-between">
          <Text size="sm" c="dimmed">
            {chosenSet.size === all.length ? 'All modalities' : `${chosenSet.size} of ${all.length} modalities`} chosen
          </Text>
          <Group gap={4}>
            <Button variant="subtle" size="compact-sm" onClick={() => onChosenChange(all)} disabled={chosenSet.size === all.length}>
              Select all
            </Button>
            <Button variant="subtle" size="compact-sm" color="gray" onClick={() => onChosenChange([])} disabled={chosenSet.size === 0}>
              Clear
            </Button>
          </Group>
        </Group>
        <SimpleGrid cols={{ base: 1, xs: 2, lg: 3 }} spacing="sm" style={{ opacity: stale ? 0.65 : 1, transition: 'opacity 150ms ease' }}>
          {modalities.map((m) => {
            const checked = chosenSet.has(m.slug);
            const numbers = perModality?.get(m.slug);
            let stats: string;
            if (perModality === null) stats = `${plural(m.patientCount, 'patient')} in the project`;
            else if (!numbers || numbers.fileCount === 0) stats = 'None of the selected patients';
            else stats = `${plural(numbers.patientCount, 'patient')} · ${formatBytes(numbers.totalBytes)}`;
            return (
              <Checkbox.Card
                key={m.slug}
                checked={checked}
                onChange={(next) => onChosenChange(next ? [...chosenSet, m.slug] : [...chosenSet].filter((s) => s !== m.slug))}
                className={classes.card}
                radius="md"
              >
                {/* Phrasing content only: the card is a button. */}
                <span className={classes.cardBody}>
                  <Checkbox.Indicator size="sm" checked={checked} mt={2} component="span" />
                  <span style={{ minWidth: 0 }}>
                    <Text component="span" display="block" fw={600} size="sm">
                      {m.name}
                    </Text>
                    <Text component="span" display="block" size="xs" c="dimmed" className="tabular-nums">
                      {stats}
                    </Text>
                    {numbers && numbers.fileCount > 0 && (
                      <Text component="span" display="block" size="xs" c="dimmed" className="tabular-nums">
                        {plural(numbers.fileCount, 'file')}
                      </Text>
                    )}
                  </span>
                </span>
              </Checkbox.Card>
            );
          })}
        </SimpleGrid>
      </>
    );
  }

  return (
    <Stack gap="md">
      {cards}
      {modalitiesError && (
        <Text size="sm" c="red" role="alert">
          {modalitiesError}
        </Text>
      )}
      <div>
        <Text size="sm" fw={500} mb={6}>
          Files to include
        </Text>
        <Group gap="xl" align="flex-start">
          <Switch
            label="Raw files"
            description="As acquired or uploaded: volumes, scans, photos"
            checked={include.raw}
            onChange={(event) => onIncludeChange({ ...include, raw: event.currentTarget.checked })}
          />
          <Switch
            label="Processed files"
            description="Derived data: segmentations, aligned meshes"
            checked={include.processed}
            onChange={(event) => onIncludeChange({ ...include, processed: event.currentTarget.checked })}
          />
        </Group>
        {includeError && (
          <Alert mt="sm" color="orange" variant="light" icon={<IconAlertTriangle size={16} />} role="alert" py={8}>
            <Text size="sm">{includeError}</Text>
          </Alert>
        )}
      </div>
    </Stack>
  );
}
