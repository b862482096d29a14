import { ActionIcon, Alert, Box, Button, Checkbox, Group, Stack, Text, Title, Tooltip } from '@mantine/core';
import { IconArrowsMaximize, IconArrowsMinimize, IconChevronRight, IconFilter, IconFolder, IconLock } from '@tabler/icons-react';
import { useMemo } from 'react';
import type { Patient, Tag } from '../../api';
import type { FolderPickInfo } from '../../exportSelection';
import { expandableIds, type FolderIndex, type FolderNode } from '../../folders';
import { formatNumber, plural } from '../../format';
import { PatientFilters } from '../PatientFilters';
import { PatientPicker, type PatientFilter } from './PatientPicker';
import classes from './PatientSelectionPanel.module.css';
import { SelectableFolderTree } from './SelectableFolderTree';

interface PatientSelectionPanelProps {
  slug: string;
  index: FolderIndex;
  pickInfo: ReadonlyMap<string, FolderPickInfo>;
  isPatientSelected: (patient: Patient) => boolean;
  onToggleFolder: (id: string) => void;
  onTogglePatient: (patient: Patient, selected: boolean) => void;
  busy: ReadonlySet<string>;
  openId: string | null;
  onOpen: (id: string) => void;
  expanded: ReadonlySet<string>;
  onExpandedChange: (next: Set<string>) => void;
  filter: PatientFilter;
  onFilterChange: (patch: Partial<PatientFilter>) => void;
  tags: Tag[] | undefined;
  tagsError: boolean;
  modalityNames: ReadonlyMap<string, string>;
}

function checkProps(info: FolderPickInfo | undefined) {
  return { checked: info?.state === 'checked', indeterminate: info?.state === 'mixed' };
}

function pickedText(info: FolderPickInfo | undefined, fallbackTotal: number): string {
  const total = info?.total ?? fallbackTotal;
  if (!info || info.selected === 0) return plural(total, 'patient');
  if (info.selected >= total) return `All ${plural(total, 'patient')} picked`;
  return `${formatNumber(info.selected)} of ${plural(total, 'patient')} picked`;
}

/** Folder tree with checkboxes, search and tag filter, and the open folder's subfolders and patients. */
export function PatientSelectionPanel({
  slug,
  index,
  pickInfo,
  isPatientSelected,
  onToggleFolder,
  onTogglePatient,
  busy,
  openId,
  onOpen,
  expanded,
  onExpandedChange,
  filter,
  onFilterChange,
  tags,
  tagsError,
  modalityNames,
}: PatientSelectionPanelProps) {
  const allExpandable = useMemo(() => expandableIds(index), [index]);
  const open = openId ? index.byId.get(openId) : undefined;

  return (
    <Stack
      gap="md"
      // The panel sits in the export form: Enter in the search or tag field must not submit it.
      onKeyDown={(event) => {
        if (event.key === 'Enter' && event.target instanceof HTMLInputElement) event.preventDefault();
      }}
    >
      <PatientFilters
        q={filter.q}
        tags={filter.tags}
        tagMode={filter.tagMode}
        availableTags={tags}
        tagsError={tagsError}
        onSearchChange={(q) => onFilterChange({ q })}
        onTagsChange={(next) => onFilterChange({ tags: next })}
        onTagModeChange={(tagMode) => onFilterChange({ tagMode })}
        resetCount={0}
      />
      {filter.tags.length > 0 && (
        <Alert variant="light" color="indigo" icon={<IconFilter size={16} />} py={8}>
          <Text size="sm">
            Only patients with {filter.tags.length === 1 ? 'the tag' : filter.tagMode === 'all' ? 'all of the tags' : 'any of the tags'}{' '}
            <b>{filter.tags.join(', ')}</b> are exported, from picked folders too. The search only narrows the list.
          </Text>
        </Alert>
      )}

      <div className={classes.split}>
        <Box className={classes.treePane}>
          <Group justify="space-between" wrap="nowrap" className={classes.paneHeader}>
            <Text size="sm" fw={600}>
              Folders
            </Text>
            {allExpandable.length > 0 && (
              <Group gap={2} wrap="nowrap">
                <Tooltip label="Expand all">
                  <ActionIcon variant="subtle" color="gray" size="sm" aria-label="Expand all folders" onClick={() => onExpandedChange(new Set(allExpandable))}>
                    <IconArrowsMaximize size={14} />
                  </ActionIcon>
                </Tooltip>
                <Tooltip label="Collapse all">
                  <ActionIcon variant="subtle" color="gray" size="sm" aria-label="Collapse all folders" onClick={() => onExpandedChange(new Set())}>
                    <IconArrowsMinimize size={14} />
                  </ActionIcon>
                </Tooltip>
              </Group>
            )}
          </Group>
          <div className={classes.treeScroll}>
            <SelectableFolderTree
              index={index}
              label="Folders to export"
              openId={openId}
              onOpen={onOpen}
              expanded={expanded}
              onExpandedChange={onExpandedChange}
              pickInfo={pickInfo}
              onToggle={onToggleFolder}
              busy={busy}
            />
          </div>
          <Text size="xs" c="dimmed" className={classes.treeHint}>
            Tick a folder to export it whole (subfolders included). Open it to pick single patients.
          </Text>
        </Box>

        <Box className={classes.folderPane}>
          {open ? (
            <FolderPane
              key={open.id}
              slug={slug}
              folder={open}
              pickInfo={pickInfo}
              busy={busy}
              filter={filter}
              onToggleFolder={onToggleFolder}
              onOpen={onOpen}
              isPatientSelected={isPatientSelected}
              onTogglePatient={onTogglePatient}
              modalityNames={modalityNames}
            />
          ) : (
            <Text c="dimmed" size="sm" p="md">
              Open a folder to pick single patients.
            </Text>
          )}
        </Box>
      </div>
    </Stack>
  );
}

interface FolderPaneProps {
  slug: string;
  folder: FolderNode;
  pickInfo: ReadonlyMap<string, FolderPickInfo>;
  busy: ReadonlySet<string>;
  filter: PatientFilter;
  onToggleFolder: (id: string) => void;
  onOpen: (id: string) => void;
  isPatientSelected: (patient: Patient) => boolean;
  onTogglePatient: (patient: Patient, selected: boolean) => void;
  modalityNames: ReadonlyMap<string, string>;
}

function FolderPane({
  slug,
  folder,
  pickInfo,
  busy,
  filter,
  onToggleFolder,
  onOpen,
  isPatientSelected,
  onTogglePatient,
  modalityNames,
}: FolderPaneProps) {
  const info = pickInfo.get(folder.id);
  const FolderIcon = folder.accessible ? IconFolder : IconLock;
  return (
    <Stack gap="sm">
      <div>
        <Group gap="xs" wrap="nowrap">
          <FolderIcon size={18} aria-hidden style={{ flexShrink: 0 }} />
          <Title order={3} fz="md" style={{ overflowWrap: 'anywhere' }}>
            {folder.name}
          </Title>
        </Group>
        {folder.path !== folder.name && (
          <Text size="xs" c="dimmed" style={{ overflowWrap: 'anywhere' }}>
            {folder.path}
          </Text>
        )}
      </div>

      <Checkbox
        {...checkProps(info)}
        disabled={busy.has(folder.id) || folder.totalPatientCount === 0}
        onChange={() => onToggleFolder(folder.id)}
        label={folder.children.length > 0 ? 'Export this folder with its subfolders' : 'Export this whole folder'}
        description={pickedText(info, folder.totalPatientCount)}
        className={classes.wholeFolder}
      />

      {folder.children.length > 0 && (
        <div>
          <Text size="xs" fw={600} c="dimmed" tt="uppercase" mb={4} style={{ letterSpacing: '0.03em' }}>
            Subfolders
          </Text>
          <ul className={classes.subfolders}>
            {folder.children.map((child) => {
              const childInfo = pickInfo.get(child.id);
              return (
                <li key={child.id} className={classes.subfolder}>
                  <Checkbox
                    {...checkProps(childInfo)}
                    disabled={busy.has(child.id) || child.totalPatientCount === 0}
                    onChange={() => onToggleFolder(child.id)}
                    label={child.name}
                    description={pickedText(childInfo, child.totalPatientCount)}
                    style={{ flex: 1, minWidth: 0 }}
                  />
                  <Button
                    variant="subtle"
                    size="compact-sm"
                    rightSection={<IconChevronRight size={14} aria-hidden />}
                    onClick={() => onOpen(child.id)}
                    aria-label={`Open ${child.name}`}
                  >
                    Open
                  </Button>
                </li>
              );
            })}
          </ul>
        </div>
      )}

      <div>
        <Text size="xs" fw={600} c="dimmed" tt="uppercase" mb={6} style={{ letterSpacing: '0.03em' }}>
          Patients directly in this folder
        </Text>
        <PatientPicker
          slug={slug}
          folder={folder}
          filter={filter}
          isSelected={isPatientSelected}
          onToggle={onTogglePatient}
          modalityNames={modalityNames}
          label={`Patients in ${folder.name}`}
        />
      </div>
    </Stack>
  );
}
