import { Group, UnstyledButton } from '@mantine/core';
import { NavLink } from 'react-router';
import { projectNav } from '../projectNav';
import classes from './ProjectNav.module.css';

/**
 * Links between the sections of a project (see `projectNav`). Hidden while the
 * project has a single section: one lone link would only add noise.
 */
export function ProjectNav({ slug }: { slug: string }) {
  if (projectNav.length < 2) return null;
  const base = `/p/${encodeURIComponent(slug)}`;
  return (
    <Group component="nav" aria-label="Project sections" gap={4} className={classes.nav}>
      {projectNav.map(({ label, to, icon: Icon, end, badge: NavBadge }) => (
        <UnstyledButton
          key={to || 'home'}
          component={NavLink}
          to={to ? `${base}/${to}` : base}
          end={end}
          className={classes.link}
        >
          <Icon size={16} aria-hidden />
          <span>{label}</span>
          {NavBadge && <NavBadge slug={slug} />}
        </UnstyledButton>
      ))}
    </Group>
  );
}
