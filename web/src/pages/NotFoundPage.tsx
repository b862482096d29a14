import { Button, Container, Group } from '@mantine/core';
import { useDocumentTitle } from '@mantine/hooks';
import { IconArrowLeft, IconMapOff } from '@tabler/icons-react';
import { Link } from 'react-router';
import { EmptyState } from '../components/StateViews';

export function NotFoundPage() {
  useDocumentTitle('Page not found · Cohort');
  return (
    <Container size="sm" py={64}>
      <EmptyState
        order={2}
        icon={<IconMapOff size={28} stroke={1.6} />}
        title="Page not found"
        action={
          <Group justify="center">
            <Button component={Link} to="/" leftSection={<IconArrowLeft size={16} />}>
              Back to projects
            </Button>
          </Group>
        }
      >
        The address may be mistyped, or the page may have moved. Check the URL, or start again from your
        projects.
      </EmptyState>
    </Container>
  );
}
