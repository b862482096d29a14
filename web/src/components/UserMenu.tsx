import { Avatar, Box, Group, Menu, Text, UnstyledButton } from '@mantine/core';
import { IconChevronDown, IconLayoutGrid, IconLogout } from '@tabler/icons-react';
import { Link, useNavigate } from 'react-router';
import { useLogout, useSession } from '../api';
import { initials } from '../format';
import classes from './UserMenu.module.css';

export function UserMenu() {
  const session = useSession();
  const logout = useLogout();
  const navigate = useNavigate();
  const user = session.data?.user;
  if (!user) return null;

  const name = user.displayName || user.username;

  const signOut = () => {
    logout.mutate(undefined, { onSettled: () => navigate('/login', { replace: true }) });
  };

  return (
    <Menu position="bottom-end" width={260} shadow="md" withinPortal>
      <Menu.Target>
        <UnstyledButton
          px={6}
          py={4}
          style={{ borderRadius: 'var(--mantine-radius-md)', flexShrink: 0 }}
          disabled={logout.isPending}
        >
          <Group component="span" gap={8} wrap="nowrap">
            <Avatar size={30} radius="xl" color="indigo" variant="light" aria-hidden>
              {initials(name)}
            </Avatar>
            <Text span size="sm" fw={500} truncate="end" className={classes.name}>
              {name}
            </Text>
            <IconChevronDown size={14} aria-hidden />
          </Group>
        </UnstyledButton>
      </Menu.Target>
      <Menu.Dropdown>
        <Box px="sm" py={6}>
          <Text size="sm" fw={600} truncate="end">
            {name}
          </Text>
          <Text size="xs" c="dimmed" truncate="end">
            {user.email || user.username}
          </Text>
        </Box>
        <Menu.Divider />
        <Menu.Item component={Link} to="/" leftSection={<IconLayoutGrid size={16} aria-hidden />}>
          All projects
        </Menu.Item>
        <Menu.Item leftSection={<IconLogout size={16} aria-hidden />} onClick={signOut}>
          Sign out
        </Menu.Item>
      </Menu.Dropdown>
    </Menu>
  );
}
