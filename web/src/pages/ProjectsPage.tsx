import { Card, Container, Group, SimpleGrid, Skeleton, Stack, Text, Title } from '@mantine/core';
import { useDocumentTitle } from '@mantine/hooks';
import { IconArrowRight, IconFolders } from '@tabler/icons-react';
import { Link } from 'react-router';
import { useProjects, type Project } from '../api';
import { RoleBadge } from '../components/badges';
import { EmptyState, ErrorState } from '../components/StateViews';
import classes from './ProjectsPage.module.css';

function ProjectCard({ project }: { project: Project }) {
  return (
    <Card
      component={Link}
      to={`/p/${encodeURIComponent(project.slug)}`}
      withBorder
      radius="md"
      padding="lg"
      className={classes.card}
    >
      <Group justify="space-between" align="flex-start" wrap="nowrap" gap="sm">
        <Title order={2} fz="h4" style={{ overflowWrap: 'anywhere' }}>
          {project.name}
        </Title>
        <RoleBadge role={project.role} />
      </Group>
      <Text size="sm" c="dimmed" mt="xs" lineClamp={3} className={classes.description}>
        {project.description?.trim() || 'No description.'}
      </Text>
      <Group gap={4} mt="md" className={classes.open} aria-hidden>
        <Text span size="sm" fw={500} inherit>
          Open project
        </Text>
        <IconArrowRight size={14} />
      </Group>
    </Card>
  );
}

function ProjectGridSkeleton() {
  return (
    <SimpleGrid cols={{ base: 1, sm: 2, lg: 3 }} spacing="md" aria-busy="true" aria-label="Loading projects">
      {[0, 1, 2].map((i) => (
        <Card key={i} withBorder radius="md" padding="lg">
          <Group justify="space-between">
            <Skeleton height={18} width="55%" />
            <Skeleton height={18} width={56} />
          </Group>
          <Skeleton height={10} mt="md" />
          <Skeleton height={10} mt={8} width="80%" />
          <Skeleton height={12} mt="lg" width={100} />
        </Card>
      ))}
    </SimpleGrid>
  );
}

export function ProjectsPage() {
  useDocumentTitle('Projects · Cohort');
  const projects = useProjects();

  let content;
  if (projects.isPending) {
    content = <ProjectGridSkeleton />;
  } else if (projects.isError) {
    content = (
      <Card withBorder radius="md">
        <ErrorState
          title="Could not load your projects"
          error={projects.error}
          onRetry={() => void projects.refetch()}
          retrying={projects.isFetching}
        />
      </Card>
    );
  } else if (projects.data.length === 0) {
    content = (
      <Card withBorder radius="md" py="xl">
        <EmptyState icon={<IconFolders size={28} stroke={1.6} />} title="You don’t have any projects yet">
          Ask an administrator to add you to a project.
        </EmptyState>
      </Card>
    );
  } else {
    const sorted = [...projects.data].sort((a, b) =>
      a.name.localeCompare(b.name, undefined, { numeric: true, sensitivity: 'base' }),
    );
    content = (
      <SimpleGrid component="ul" cols={{ base: 1, sm: 2, lg: 3 }} spacing="md" style={{ listStyle: 'none', padding: 0, margin: 0 }}>
        {sorted.map((project) => (
          <li key={project.id}>
            <ProjectCard project={project} />
          </li>
        ))}
      </SimpleGrid>
    );
  }

  return (
    <Container size="lg" py="xl">
      <Stack gap={4} mb="lg">
        <Title order={1}>Projects</Title>
        <Text c="dimmed" size="sm">
          Choose a project to browse its patients and imaging data.
        </Text>
      </Stack>
      {content}
    </Container>
  );
}
