import { Avatar, Box, Group, Loader, Menu, Text, UnstyledButton } from '@mantine/core';
import { IconChevronDown, IconLayoutGrid, IconLogout, IconMail } from '@tabler/icons-react';
import { useQueryClient } from '@tanstack/react-query';
import { useCallback, useState } from 'react';
import { Link, useNavigate } from 'react-router';
import { errorMessage, useLogout, useSession } from '../api';
import { initials } from '../format';
import { fetchSettings, settingsKey, useSettings, useUpdateSettings } from '../settingsApi';
import classes from './UserMenu.module.css';

export function UserMenu() {
  const session = useSession();
  const logout = useLogout();
  const navigate = useNavigate();
  const queryClient = useQueryClient();
  // Settings load when the menu is about to open (hover or focus), not with every page.
  const [wanted, setWanted] = useState(false);
  const user = session.data?.user;
  if (!user) return null;

  const name = user.displayName || user.username;

  const signOut = () => {
    logout.mutate(undefined, { onSettled: () => navigate('/login', { replace: true }) });
  };
  const prefetch = () => {
    setWanted(true);
    void queryClient.prefetchQuery({ queryKey: settingsKey, queryFn: ({ signal }) => fetchSettings(signal), staleTime: 5 * 60_000 });
  };

  return (
    <Menu position="bottom-end" width={320} shadow="md" withinPortal onOpen={() => setWanted(true)}>
      <Menu.Target>
        <UnstyledButton
          px={6}
          py={4}
          style={{ borderRadius: 'var(--mantine-radius-md)', flexShrink: 0 }}
          disabled={logout.isPending}
          onMouseEnter={prefetch}
          onFocus={prefetch}
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
        <ExportEmailsItem enabled={wanted} email={user.email} />
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

const EMAILS_LABEL = 'Email me when my exports finish';

/**
 * "Email me when my exports finish": a checkable menu item (the menu stays open) whose switch
 * flips at once and flips back if saving fails.
 */
function ExportEmailsItem({ enabled, email }: { enabled: boolean; email: string }) {
  const settings = useSettings(enabled);
  const update = useUpdateSettings();
  // Mantine's items are always role="menuitem"; this one is a checkbox item. React never sets
  // the unchanged role again, so the attribute set here stays.
  const asCheckbox = useCallback((node: HTMLButtonElement | null) => node?.setAttribute('role', 'menuitemcheckbox'), []);

  if (settings.isError && !settings.data) {
    return (
      <Menu.Item
        closeMenuOnClick={false}
        leftSection={<IconMail size={16} aria-hidden />}
        onClick={() => void settings.refetch()}
        rightSection={settings.isFetching ? <Loader size={12} aria-hidden /> : undefined}
      >
        <Text size="sm">Email settings could not be loaded</Text>
        <Text size="xs" c="dimmed">
          Select to try again
        </Text>
      </Menu.Item>
    );
  }

  const checked = settings.data?.exportEmails ?? false;
  const loading = !settings.data;
  return (
    <>
      <Menu.Item
        ref={asCheckbox}
        closeMenuOnClick={false}
        aria-checked={checked}
        aria-busy={loading || undefined}
        disabled={loading}
        leftSection={<IconMail size={16} aria-hidden />}
        rightSection={loading ? <Loader size={12} aria-hidden /> : <span className={classes.toggle} data-checked={checked || undefined} aria-hidden />}
        onClick={() => {
          if (settings.data) update.mutate({ exportEmails: !settings.data.exportEmails });
        }}
        data-testid="export-emails"
        // The label shrinks and wraps, so the switch stays inside the menu.
        styles={{ itemLabel: { flex: 1, minWidth: 0 } }}
      >
        <Text size="sm" lh={1.3}>
          {EMAILS_LABEL}
        </Text>
        <Text size="xs" c="dimmed" lh={1.3} mt={2} style={{ overflowWrap: 'anywhere' }}>
          {email ? `When they complete or fail, to ${email}` : 'Your account has no email address'}
        </Text>
      </Menu.Item>
      {update.isError && (
        <Text size="xs" c="red" px="sm" pb={4} role="alert" maw={280}>
          Could not change the email setting: {errorMessage(update.error)}
        </Text>
      )}
    </>
  );
}
