import { Box, Button, Container, Group, Skeleton, Stack, Text, Title } from '@mantine/core';
import { useDocumentTitle } from '@mantine/hooks';
import { IconArrowLeft, IconFolderQuestion } from '@tabler/icons-react';
import { useMemo } from 'react';
import { Link, Outlet, useParams } from 'react-router';
import { isApiError, useProjectTree } from '../api';
import { RoleBadge } from '../components/badges';
import { ProjectNav } from '../components/ProjectNav';
import { EmptyState, ErrorState, PageLoader } from '../components/StateViews';
import { buildFolderTree } from '../folders';
import type { ProjectContextValue } from '../projectContext';

/** `/p/:slug`: loads the project and its folder tree, renders the project header and the section below. */
export function ProjectLayout() {
  const { slug = '' } = useParams();
  const tree = useProjectTree(slug);
  useDocumentTitle(tree.data ? `${tree.data.project.name} · Cohort` : 'Cohort');

  const context = useMemo<ProjectContextValue | null>(() => {
    if (!tree.data) return null;
    return {
      project: tree.data.project,
      folders: tree.data.folders,
      folderIndex: buildFolderTree(tree.data.folders),
    };
  }, [tree.data]);

  if (tree.isPending) {
    return (
      <Container fluid maw={1680} px={{ base: 'sm', sm: 'lg' }} py="lg">
        <Skeleton height={28} width={260} mb={8} />
        <Skeleton height={14} width={380} mb="lg" />
        <PageLoader label="Loading project…" />
      </Container>
    );
  }

  if (!context) {
    const notFound = isApiError(tree.error, 404) || isApiError(tree.error, 403);
    return (
      <Container size="sm" py={64}>
        {notFound ? (
          <EmptyState
            order={1}
            icon={<IconFolderQuestion size={28} stroke={1.6} />}
            title="Project not found"
            action={
              <Button component={Link} to="/" leftSection={<IconArrowLeft size={16} />}>
                Back to projects
              </Button>
            }
          >
            There is no project at this address, or you don’t have access to it.
          </EmptyState>
        ) : (
          <ErrorState
            order={1}
            title="Could not load this project"
            error={tree.error}
            onRetry={() => void tree.refetch()}
            retrying={tree.isFetching}
          />
        )}
      </Container>
    );
  }

  const { project } = context;
  return (
    <Container fluid maw={1680} px={{ base: 'sm', sm: 'lg' }} py="lg">
      <Box component="header" mb="md">
        <Group gap="sm" align="center" wrap="wrap">
          <Title order={1} fz="h2" style={{ overflowWrap: 'anywhere' }}>
            {project.name}
          </Title>
          <RoleBadge role={project.role} />
        </Group>
        <Stack gap="sm">
          {project.description?.trim() && (
            <Text c="dimmed" size="sm" mt={4} maw={880}>
              {project.description}
            </Text>
          )}
          <ProjectNav slug={project.slug} />
        </Stack>
      </Box>
      <Outlet context={context} />
    </Container>
  );
}
