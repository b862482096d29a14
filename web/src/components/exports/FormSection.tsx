import { Alert, Group, Paper, Text, ThemeIcon, Title } from '@mantine/core';
import { IconAlertTriangle } from '@tabler/icons-react';
import { forwardRef, useId, type ReactNode } from 'react';

interface FormSectionProps {
  step: number;
  title: string;
  description?: ReactNode;
  /** A problem with this part of the form (shown under the heading). */
  error?: string | null;
  children: ReactNode;
}

/** A numbered part of a long form, with its heading and any error next to it. */
export const FormSection = forwardRef<HTMLHeadingElement, FormSectionProps>(function FormSection(
  { step, title, description, error, children },
  headingRef,
) {
  const headingId = useId();
  return (
    <Paper component="section" withBorder radius="md" p={{ base: 'sm', sm: 'lg' }} aria-labelledby={headingId}>
      <Group gap="sm" wrap="nowrap" align="flex-start" mb="md">
        <ThemeIcon size={26} radius="xl" variant="light" aria-hidden>
          <Text size="sm" fw={700}>
            {step}
          </Text>
        </ThemeIcon>
        <div style={{ minWidth: 0 }}>
          <Title order={2} fz="h4" id={headingId} ref={headingRef} tabIndex={-1} style={{ outline: 'none' }}>
            {title}
          </Title>
          {description && (
            <Text size="sm" c="dimmed" mt={2}>
              {description}
            </Text>
          )}
        </div>
      </Group>
      {error && (
        <Alert color="red" variant="light" icon={<IconAlertTriangle size={16} />} mb="md" role="alert" py={8}>
          <Text size="sm">{error}</Text>
        </Alert>
      )}
      {children}
    </Paper>
  );
});
