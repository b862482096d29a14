import { VisuallyHidden } from '@mantine/core';
import { IconChevronRight, IconFolder, IconFolderOpen, IconLock } from '@tabler/icons-react';
import type { ComponentPropsWithoutRef, CSSProperties, ReactNode } from 'react';
import type { FolderNode } from '../../folders';
import classes from './tree.module.css';
import type { TreeKeyboard } from './useTreeKeyboard';

export const INACCESSIBLE_HINT = 'Only some subfolders are shared with you';

type DataAttributes = { [key: `data-${string}`]: string | boolean | undefined };

interface TreeItemProps {
  node: FolderNode;
  tree: TreeKeyboard;
  selected: boolean;
  /** `aria-checked` of a tree with checkboxes. */
  checked?: boolean | 'mixed';
  busy?: boolean;
  /** Expands or collapses on a click on the chevron (default: just that). */
  onToggleExpanded?: () => void;
  /** Shown between the chevron and the folder icon (e.g. a checkbox). */
  leading?: ReactNode;
  /** The visible patient count. */
  count: ReactNode;
  /** The count's words for assistive technology. */
  countLabel: string;
  countProps?: ComponentPropsWithoutRef<'span'> & DataAttributes;
}

/** One folder row of a tree (see `useTreeKeyboard`): aria-level / aria-setsize / aria-posinset convey the hierarchy. */
export function TreeItem({ node, tree, selected, checked, busy, onToggleExpanded, leading, count, countLabel, countProps }: TreeItemProps) {
  const { index, idPrefix } = tree;
  const hasChildren = node.children.length > 0;
  const isOpen = hasChildren && tree.expanded.has(node.id);
  const labelId = `${idPrefix}-${node.id}-label`;
  const descId = `${idPrefix}-${node.id}-desc`;
  const FolderIcon = isOpen ? IconFolderOpen : IconFolder;
  const parent = node.parentId ? index.byId.get(node.parentId) : undefined;
  const siblings = parent ? parent.children : index.roots;
  const { className: countClassName, ...countRest } = countProps ?? {};

  return (
    <li
      ref={tree.registerItem(node.id)}
      role="treeitem"
      className={classes.item}
      aria-level={node.depth + 1}
      aria-setsize={siblings.length}
      aria-posinset={siblings.indexOf(node) + 1}
      aria-expanded={hasChildren ? isOpen : undefined}
      aria-selected={selected}
      aria-checked={checked}
      aria-busy={busy || undefined}
      aria-labelledby={labelId}
      aria-describedby={descId}
      tabIndex={node.id === tree.tabStopId ? 0 : -1}
      data-folder-id={node.id}
      data-inaccessible={node.accessible ? undefined : true}
      style={{ '--tree-depth': node.depth } as CSSProperties}
      title={node.accessible ? node.path || node.name : INACCESSIBLE_HINT}
      onFocus={() => tree.setFocusedId(node.id)}
      onClick={() => {
        tree.activate(node);
        if (hasChildren && !isOpen) tree.setExpanded(node.id, true);
      }}
    >
      {hasChildren ? (
        <span
          className={classes.toggle}
          aria-hidden
          onClick={(event) => {
            event.stopPropagation();
            if (onToggleExpanded) onToggleExpanded();
            else tree.setExpanded(node.id, !isOpen);
          }}
        >
          <IconChevronRight size={14} className={classes.chevron} data-expanded={isOpen || undefined} />
        </span>
      ) : (
        <span className={classes.toggle} aria-hidden />
      )}
      {leading}
      {node.accessible ? (
        <FolderIcon size={16} className={classes.icon} aria-hidden />
      ) : (
        <IconLock size={16} className={classes.icon} aria-hidden />
      )}
      <span id={labelId} className={classes.name}>
        {node.name}
      </span>
      <span id={descId} className={countClassName ? `${classes.count} ${countClassName}` : classes.count} {...countRest}>
        {count}
        <VisuallyHidden>
          {countLabel}
          {node.accessible ? '' : `. ${INACCESSIBLE_HINT}.`}
        </VisuallyHidden>
      </span>
    </li>
  );
}

interface TreeProps {
  tree: TreeKeyboard;
  /** Accessible name of the tree. */
  label: string;
  /** The component's own styles (next to the shared ones). */
  className?: string;
  children: ReactNode;
}

/** The `role="tree"` list around the rows, with the keyboard handling of `useTreeKeyboard`. */
export function Tree({ tree, label, className, children }: TreeProps) {
  return (
    <ul role="tree" aria-label={label} className={className ? `${classes.tree} ${className}` : classes.tree} onKeyDown={tree.onKeyDown}>
      {children}
    </ul>
  );
}
