import { Anchor, AppShell, Group } from '@mantine/core';
import { IconChevronRight } from '@tabler/icons-react';
import { Link, Outlet, useMatch } from 'react-router';
import { useProjectTree } from '../api';
import classes from './AppLayout.module.css';
import { BrandLink } from './BrandLink';
import { UserMenu } from './UserMenu';

/** Signed-in chrome: header with app name, current project and user menu. */
export function AppLayout() {
  const match = useMatch('/p/:slug/*');
  const slug = match?.params.slug;
  // Same query as the project page, so this costs no extra request.
  const tree = useProjectTree(slug);
  const project = slug ? tree.data?.project : undefined;

  return (
    <AppShell header={{ height: 56 }} padding={0}>
      <a href="#main" className={classes.skipLink}>
        Skip to main content
      </a>
      <AppShell.Header>
        <Group h="100%" px="md" justify="space-between" wrap="nowrap" gap="md">
          <Group component="nav" aria-label="Location" gap="xs" wrap="nowrap" miw={0}>
            <BrandLink />
            {project && (
              <>
                <IconChevronRight size={16} className={classes.crumbSeparator} aria-hidden />
                <Anchor
                  component={Link}
                  to={`/p/${encodeURIComponent(project.slug)}`}
                  className={classes.projectCrumb}
                  truncate="end"
                  underline="hover"
                >
                  {project.name}
                </Anchor>
              </>
            )}
          </Group>
          <UserMenu />
        </Group>
      </AppShell.Header>
      <AppShell.Main id="main" tabIndex={-1} className={classes.main}>
        <Outlet />
      </AppShell.Main>
    </AppShell>
  );
}
