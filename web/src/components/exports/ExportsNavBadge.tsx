import { Badge, Tooltip, VisuallyHidden } from '@mantine/core';
import { useRunningExportCount } from '../../exportsApi';
import { plural } from '../../format';

/** How many of the user's exports are waiting or running, next to "Exports" in the project navigation. */
export function ExportsNavBadge({ slug }: { slug: string }) {
  const running = useRunningExportCount(slug);
  const processing = running.data?.processing ?? 0;
  const pending = running.data?.pending ?? 0;
  const count = processing + pending;
  if (count === 0) return null;
  const parts = [];
  if (processing) parts.push(`${plural(processing, 'export')} running`);
  if (pending) parts.push(`${plural(pending, 'export')} waiting`);
  const label = parts.join(', ');
  return (
    <Tooltip label={label}>
      <Badge size="sm" circle={count < 10} variant="filled" color="blue" data-testid="running-exports" style={{ flexShrink: 0 }}>
        <span aria-hidden>{count}</span>
        <VisuallyHidden>({label})</VisuallyHidden>
      </Badge>
    </Tooltip>
  );
}
