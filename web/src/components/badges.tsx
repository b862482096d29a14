import { Badge, Tooltip } from '@mantine/core';
import { IconBug, IconLock } from '@tabler/icons-react';
import type { PatientVisibility, ProjectRole } from '../api';

const ROLES: Record<ProjectRole, { label: string; color: string; description: string }> = {
  admin: { label: 'Admin', color: 'violet', description: 'Manages the project, its folders and members' },
  member: { label: 'Member', color: 'blue', description: 'Works with the project data' },
  viewer: { label: 'Viewer', color: 'gray', description: 'Read-only access' },
};

export function RoleBadge({ role, size = 'sm' }: { role: ProjectRole; size?: 'xs' | 'sm' | 'md' }) {
  const info = ROLES[role] ?? { label: role, color: 'gray', description: '' };
  return (
    <Tooltip label={info.description} disabled={!info.description}>
      <Badge variant="light" color={info.color} size={size} style={{ flexShrink: 0 }}>
        {info.label}
      </Badge>
    </Tooltip>
  );
}

/** Badge for non-public patients; renders nothing for public ones. */
export function VisibilityBadge({ visibility }: { visibility: PatientVisibility }) {
  if (visibility === 'private') {
    return (
      <Badge size="xs" variant="light" color="orange" leftSection={<IconLock size={10} aria-hidden />}>
        Private
      </Badge>
    );
  }
  if (visibility === 'debug') {
    return (
      <Badge size="xs" variant="light" color="grape" leftSection={<IconBug size={10} aria-hidden />}>
        Debug
      </Badge>
    );
  }
  return null;
}

/** A patient tag; uses the tag's color (as a dot, so the text stays readable) when it has one. */
export function TagBadge({ name, color }: { name: string; color: string | null | undefined }) {
  if (color) {
    return (
      <Badge size="sm" variant="dot" color={color} tt="none" fw={500}>
        {name}
      </Badge>
    );
  }
  return (
    <Badge size="sm" variant="default" tt="none" fw={500}>
      {name}
    </Badge>
  );
}

export function ModalityBadge({ name, title }: { name: string; title?: string }) {
  return (
    <Badge size="xs" variant="light" color="teal" tt="none" title={title}>
      {name}
    </Badge>
  );
}
