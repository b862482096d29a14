import { Group, Text, ThemeIcon, UnstyledButton } from '@mantine/core';
import { IconStack2 } from '@tabler/icons-react';
import { Link } from 'react-router';

/** The app mark. */
export function BrandMark({ size = 30 }: { size?: number }) {
  return (
    <ThemeIcon size={size} radius="md" variant="filled" aria-hidden>
      <IconStack2 size={Math.round(size * 0.6)} stroke={1.8} />
    </ThemeIcon>
  );
}

/** "Cohort" with its mark, linking to the project picker. */
export function BrandLink() {
  return (
    <UnstyledButton component={Link} to="/" style={{ borderRadius: 'var(--mantine-radius-sm)', flexShrink: 0 }}>
      <Group gap={8} wrap="nowrap">
        <BrandMark />
        <Text span fw={700} fz="lg" style={{ letterSpacing: '-0.01em' }}>
          Cohort
        </Text>
      </Group>
    </UnstyledButton>
  );
}
