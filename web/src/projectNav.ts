import type { Icon } from '@tabler/icons-react';
import { IconFileZip, IconUsers } from '@tabler/icons-react';
import type { ComponentType } from 'react';
import { ExportsNavBadge } from './components/exports/ExportsNavBadge';

export interface ProjectNavItem {
  /** Link text. */
  label: string;
  /** Path relative to `/p/:slug` ('' is the project home). */
  to: string;
  icon: Icon;
  /** Only active on an exact match (use for the project home). */
  end?: boolean;
  /** Shown after the label, e.g. a count (renders nothing when there is nothing to say). */
  badge?: ComponentType<{ slug: string }>;
}

/**
 * Sections of a project, shown as navigation in the project header once there
 * is more than one. Each entry has its routes in `projectRoutes` (./routes.tsx).
 */
export const projectNav: ProjectNavItem[] = [
  { label: 'Patients', to: '', icon: IconUsers, end: true },
  { label: 'Exports', to: 'exports', icon: IconFileZip, badge: ExportsNavBadge },
];
