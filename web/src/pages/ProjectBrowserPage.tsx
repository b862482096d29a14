import { ActionIcon, Box, Button, Group, Paper, Switch, Text, Title, Tooltip } from '@mantine/core';
import { IconArrowsMaximize, IconArrowsMinimize, IconFileZip, IconFolderOff, IconFolder, IconLock } from '@tabler/icons-react';
import { Link } from 'react-router';
import { useCallback, useEffect, useId, useMemo, useState } from 'react';
import { FolderTree } from '../components/FolderTree';
import { PatientList } from '../components/PatientList';
import { EmptyState } from '../components/StateViews';
import { ancestorIds, expandableIds, type FolderIndex } from '../folders';
import { plural } from '../format';
import { useProject } from '../projectContext';
import classes from './ProjectBrowserPage.module.css';
import { useBrowserState } from './useBrowserState';

/** Top-level folders open, plus the selected folder and everything above it. */
function initialExpanded(index: FolderIndex, selectedId: string | null): Set<string> {
  const open = new Set(index.roots.filter((r) => r.children.length > 0).map((r) => r.id));
  if (selectedId) {
    for (const id of ancestorIds(index, selectedId)) open.add(id);
    if (index.byId.get(selectedId)?.children.length) open.add(selectedId);
  }
  return open;
}

/** `/p/:slug`: folder tree on the left, the selected folder's patients on the right. */
export function ProjectBrowserPage() {
  const { project, folderIndex } = useProject();
  const [state, update] = useBrowserState();
  const foldersHeadingId = useId();
  const patientsHeadingId = useId();

  // The folder from the URL if it exists, else the first root folder.
  const selected =
    (state.folderId ? folderIndex.byId.get(state.folderId) : undefined) ?? folderIndex.roots[0] ?? null;
  const selectedId = selected?.id ?? null;

  const [expanded, setExpanded] = useState<Set<string>>(() => initialExpanded(folderIndex, selectedId));

  // Reveal the selected folder whenever it changes (links, Back button).
  useEffect(() => {
    if (!selectedId) return;
    const hidden = ancestorIds(folderIndex, selectedId).filter((id) => !expanded.has(id));
    if (hidden.length) setExpanded((prev) => new Set([...prev, ...hidden]));
    // Only on selection / tree changes, not on every expand/collapse.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [selectedId, folderIndex]);

  const allExpandable = useMemo(() => expandableIds(folderIndex), [folderIndex]);
  const selectFolder = useCallback(
    (id: string) => {
      if (id !== selectedId) update({ folderId: id }, { push: true });
    },
    [selectedId, update],
  );

  if (!selected) {
    return (
      <Paper withBorder radius="md">
        <EmptyState icon={<IconFolderOff size={28} stroke={1.6} />} title="No folders yet">
          {project.role === 'admin'
            ? 'This project has no folders yet. Create folders and import patients to get started.'
            : 'This project has no folders you can see yet. Ask a project administrator for access.'}
        </EmptyState>
      </Paper>
    );
  }

  return (
    <div className={classes.layout}>
      <Paper component="section" withBorder radius="md" className={classes.sidebar} aria-labelledby={foldersHeadingId}>
        <Group justify="space-between" wrap="nowrap" className={classes.panelHeader}>
          <Title order={2} fz="sm" fw={600} id={foldersHeadingId}>
            Folders
          </Title>
          {allExpandable.length > 0 && (
            <Group gap={2} wrap="nowrap">
              <Tooltip label="Expand all">
                <ActionIcon
                  variant="subtle"
                  color="gray"
                  size="sm"
                  aria-label="Expand all folders"
                  onClick={() => setExpanded(new Set(allExpandable))}
                >
                  <IconArrowsMaximize size={14} />
                </ActionIcon>
              </Tooltip>
              <Tooltip label="Collapse all">
                <ActionIcon
                  variant="subtle"
                  color="gray"
                  size="sm"
                  aria-label="Collapse all folders"
                  onClick={() => setExpanded(new Set(selectedId ? ancestorIds(folderIndex, selectedId) : []))}
                >
                  <IconArrowsMinimize size={14} />
                </ActionIcon>
              </Tooltip>
            </Group>
          )}
        </Group>
        <Box px="md" py="sm" style={{ borderBottom: '1px solid var(--mantine-color-default-border)' }}>
          <Switch
            label="Include subfolders"
            description="List patients of all folders below the selected one"
            checked={state.recursive}
            onChange={(event) => update({ recursive: event.currentTarget.checked })}
            size="sm"
          />
        </Box>
        <div className={classes.treeScroll}>
          <FolderTree
            label="Folders"
            index={folderIndex}
            selectedId={selectedId}
            onSelect={selectFolder}
            expanded={expanded}
            onExpandedChange={setExpanded}
          />
        </div>
      </Paper>

      <Paper component="section" withBorder radius="md" p={{ base: 'sm', sm: 'md' }} className={classes.content} aria-labelledby={patientsHeadingId}>
        <Box mb="md">
          <Group justify="space-between" align="flex-start" gap="sm">
            <Group gap="xs" wrap="nowrap" align="center" miw={0} maw="100%">
              {selected.accessible ? (
                <IconFolder size={20} aria-hidden style={{ flexShrink: 0 }} />
              ) : (
                <IconLock size={20} aria-hidden style={{ flexShrink: 0 }} />
              )}
              {/* break-word, not anywhere: a name that fits its own line moves the button down instead of splitting. */}
              <Title order={2} fz="h3" id={patientsHeadingId} style={{ overflowWrap: 'break-word', minWidth: 0 }}>
                {selected.name}
              </Title>
            </Group>
            {project.role !== 'viewer' && selected.totalPatientCount > 0 && (
              <Button
                component={Link}
                to={`/p/${encodeURIComponent(project.slug)}/exports/new?folder=${encodeURIComponent(selected.id)}`}
                variant="light"
                size="xs"
                leftSection={<IconFileZip size={14} aria-hidden />}
                style={{ flexShrink: 0 }}
              >
                Export this folder
              </Button>
            )}
          </Group>
          <Text size="xs" c="dimmed" mt={2} className={classes.folderPath}>
            {selected.path && selected.path !== selected.name ? `${selected.path} · ` : ''}
            {plural(selected.totalPatientCount, 'patient')} in total
            {selected.children.length > 0 ? `, ${plural(selected.children.length, 'subfolder')}` : ''}
          </Text>
        </Box>
        <PatientList key={`${project.slug}:${selected.id}`} slug={project.slug} folder={selected} state={state} update={update} />
      </Paper>
    </div>
  );
}
