import type { Icon } from '@tabler/icons-react';
import { IconUsers } from '@tabler/icons-react';

export interface ProjectNavItem {
  /** Link text. */
  label: string;
  /** Path relative to `/p/:slug` ('' is the project home). */
  to: string;
  icon: Icon;
  /** Only active on an exact match (use for the project home). */
  end?: boolean;
}

/**
 * Sections of a project, shown as navigation in the project header once there
 * is more than one. Add the export pages here together with their routes in
 * `projectRoutes` (./routes.tsx), e.g. `{ label: 'Exports', to: 'exports', icon: IconFileZip }`.
 */
export const projectNav: ProjectNavItem[] = [{ label: 'Patients', to: '', icon: IconUsers, end: true }];
