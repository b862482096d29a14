import { Button, Center, Loader, Stack, Text, ThemeIcon, Title } from '@mantine/core';
import { IconAlertTriangle, IconRefresh } from '@tabler/icons-react';
import type { ReactNode } from 'react';
import { errorMessage } from '../api';

interface EmptyStateProps {
  icon: ReactNode;
  title: string;
  children?: ReactNode;
  action?: ReactNode;
  /** Heading level for the title (default 3). */
  order?: 1 | 2 | 3 | 4;
  py?: string | number;
}

/** A designed "nothing here" message: icon, short title, explanation, optional action. */
export function EmptyState({ icon, title, children, action, order = 3, py = 'xl' }: EmptyStateProps) {
  return (
    <Stack align="center" gap="xs" py={py} px="md" ta="center">
      <ThemeIcon size={56} radius="xl" variant="light" color="gray" aria-hidden>
        {icon}
      </ThemeIcon>
      <Title order={order} fz="h4" mt="xs">
        {title}
      </Title>
      {children && (
        <Text c="dimmed" size="sm" maw={440}>
          {children}
        </Text>
      )}
      {action && <div style={{ marginTop: 'var(--mantine-spacing-xs)' }}>{action}</div>}
    </Stack>
  );
}

interface ErrorStateProps {
  title?: string;
  error: unknown;
  onRetry?: () => void;
  retrying?: boolean;
  order?: 1 | 2 | 3 | 4;
}

/** A failed load: what failed, the server's message, and a retry button. */
export function ErrorState({ title = 'Something went wrong', error, onRetry, retrying, order = 3 }: ErrorStateProps) {
  return (
    <Stack align="center" gap="xs" py="xl" px="md" ta="center" role="alert">
      <ThemeIcon size={56} radius="xl" variant="light" color="red" aria-hidden>
        <IconAlertTriangle size={28} stroke={1.6} />
      </ThemeIcon>
      <Title order={order} fz="h4" mt="xs">
        {title}
      </Title>
      <Text c="dimmed" size="sm" maw={440}>
        {errorMessage(error)}
      </Text>
      {onRetry && (
        <Button
          mt="xs"
          variant="default"
          leftSection={<IconRefresh size={16} />}
          onClick={onRetry}
          loading={retrying}
        >
          Try again
        </Button>
      )}
    </Stack>
  );
}

/** Centered spinner for a whole page or panel. */
export function PageLoader({ label = 'Loading…', minHeight = 240 }: { label?: string; minHeight?: number | string }) {
  return (
    <Center mih={minHeight} role="status" aria-live="polite">
      <Stack align="center" gap="sm">
        <Loader size="md" />
        <Text size="sm" c="dimmed">
          {label}
        </Text>
      </Stack>
    </Center>
  );
}
