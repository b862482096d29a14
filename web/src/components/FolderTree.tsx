import { VisuallyHidden } from '@mantine/core';
import { IconChevronRight, IconFolder, IconFolderOpen, IconLock } from '@tabler/icons-react';
import {
  useCallback,
  useEffect,
  useId,
  useMemo,
  useRef,
  useState,
  type CSSProperties,
  type KeyboardEvent,
} from 'react';
import { ancestorIds, visibleFolders, type FolderIndex, type FolderNode } from '../folders';
import { formatNumber } from '../format';
import classes from './FolderTree.module.css';

interface FolderTreeProps {
  index: FolderIndex;
  selectedId: string | null;
  onSelect: (id: string) => void;
  /** Ids of expanded folders (controlled). */
  expanded: ReadonlySet<string>;
  onExpandedChange: (next: Set<string>) => void;
  /** Accessible name of the tree. */
  label: string;
}

const INACCESSIBLE_HINT = 'Only some subfolders are shared with you';

/**
 * Folder tree following the WAI-ARIA tree pattern, rendered as a flat list of
 * the visible folders (aria-level / aria-setsize / aria-posinset convey the
 * hierarchy, so each tree item is exactly one row): one tab stop (roving
 * tabindex), ↑/↓ move, → expands / enters, ← collapses / goes to the parent,
 * Home/End, Enter or Space selects, typing a letter jumps to the next folder
 * starting with it, `*` expands all siblings.
 */
export function FolderTree({ index, selectedId, onSelect, expanded, onExpandedChange, label }: FolderTreeProps) {
  const idPrefix = useId();
  const itemRefs = useRef(new Map<string, HTMLLIElement>());
  const [focusedId, setFocusedId] = useState<string | null>(selectedId);

  const visible = useMemo(() => visibleFolders(index.roots, expanded), [index, expanded]);

  // The one item reachable with Tab: the last focused one if still shown, else the selection.
  const tabStopId = useMemo(() => {
    const shown = new Set(visible.map((n) => n.id));
    if (focusedId && shown.has(focusedId)) return focusedId;
    if (selectedId && shown.has(selectedId)) return selectedId;
    return visible[0]?.id ?? null;
  }, [visible, focusedId, selectedId]);

  // A selection made elsewhere (URL, back button) becomes the tab stop.
  useEffect(() => {
    setFocusedId(selectedId);
  }, [selectedId]);

  const focusItem = useCallback((id: string | undefined) => {
    if (!id) return;
    setFocusedId(id);
    itemRefs.current.get(id)?.focus();
  }, []);

  const setExpanded = useCallback(
    (id: string, open: boolean) => {
      if (expanded.has(id) === open) return;
      const next = new Set(expanded);
      if (open) next.add(id);
      else next.delete(id);
      onExpandedChange(next);
    },
    [expanded, onExpandedChange],
  );

  const toggle = useCallback(
    (node: FolderNode) => {
      const open = !expanded.has(node.id);
      setExpanded(node.id, open);
      // Keep keyboard focus alive when collapsing around the focused item.
      if (!open && document.activeElement instanceof HTMLElement) {
        const focusedItem = document.activeElement.closest<HTMLElement>('[role="treeitem"]');
        const focusedIdNow = focusedItem?.dataset.folderId;
        if (focusedIdNow && ancestorIds(index, focusedIdNow).includes(node.id)) focusItem(node.id);
      }
    },
    [expanded, setExpanded, index, focusItem],
  );

  const select = useCallback(
    (node: FolderNode) => {
      onSelect(node.id);
      setFocusedId(node.id);
    },
    [onSelect],
  );

  const onKeyDown = (event: KeyboardEvent<HTMLUListElement>) => {
    if (event.altKey || event.ctrlKey || event.metaKey) return;
    const currentId = (event.target as HTMLElement).closest<HTMLElement>('[role="treeitem"]')?.dataset.folderId;
    const current = currentId ? index.byId.get(currentId) : undefined;
    if (!current) return;
    const position = visible.findIndex((n) => n.id === current.id);
    const isOpen = expanded.has(current.id);
    const hasChildren = current.children.length > 0;

    let handled = true;
    switch (event.key) {
      case 'ArrowDown':
        focusItem(visible[position + 1]?.id);
        break;
      case 'ArrowUp':
        focusItem(visible[position - 1]?.id);
        break;
      case 'ArrowRight':
        if (hasChildren && !isOpen) setExpanded(current.id, true);
        else if (hasChildren) focusItem(current.children[0]?.id);
        break;
      case 'ArrowLeft':
        if (hasChildren && isOpen) setExpanded(current.id, false);
        else if (current.parentId && index.byId.has(current.parentId)) focusItem(current.parentId);
        break;
      case 'Home':
        focusItem(visible[0]?.id);
        break;
      case 'End':
        focusItem(visible[visible.length - 1]?.id);
        break;
      case 'Enter':
      case ' ':
        select(current);
        break;
      case '*': {
        const parent = current.parentId ? index.byId.get(current.parentId) : undefined;
        const siblings = parent ? parent.children : index.roots;
        const next = new Set(expanded);
        for (const s of siblings) if (s.children.length > 0) next.add(s.id);
        onExpandedChange(next);
        break;
      }
      default:
        if (event.key.length === 1 && /\S/.test(event.key)) {
          const char = event.key.toLocaleLowerCase();
          const ordered = [...visible.slice(position + 1), ...visible.slice(0, position + 1)];
          const match = ordered.find((n) => n.name.toLocaleLowerCase().startsWith(char));
          if (match) focusItem(match.id);
        } else {
          handled = false;
        }
    }
    if (handled) {
      event.preventDefault();
      event.stopPropagation();
    }
  };

  const renderNode = (node: FolderNode) => {
    const hasChildren = node.children.length > 0;
    const isOpen = hasChildren && expanded.has(node.id);
    const selected = node.id === selectedId;
    const labelId = `${idPrefix}-${node.id}-label`;
    const descId = `${idPrefix}-${node.id}-desc`;
    const FolderIcon = isOpen ? IconFolderOpen : IconFolder;
    const parent = node.parentId ? index.byId.get(node.parentId) : undefined;
    const siblings = parent ? parent.children : index.roots;

    return (
      <li
        key={node.id}
        ref={(el) => {
          if (el) itemRefs.current.set(node.id, el);
          else itemRefs.current.delete(node.id);
        }}
        role="treeitem"
        className={classes.item}
        aria-level={node.depth + 1}
        aria-setsize={siblings.length}
        aria-posinset={siblings.indexOf(node) + 1}
        aria-expanded={hasChildren ? isOpen : undefined}
        aria-selected={selected}
        aria-labelledby={labelId}
        aria-describedby={descId}
        tabIndex={node.id === tabStopId ? 0 : -1}
        data-folder-id={node.id}
        data-inaccessible={node.accessible ? undefined : true}
        style={{ '--tree-depth': node.depth } as CSSProperties}
        title={node.accessible ? node.path || node.name : INACCESSIBLE_HINT}
        onFocus={() => setFocusedId(node.id)}
        onClick={() => {
          select(node);
          if (hasChildren && !isOpen) setExpanded(node.id, true);
        }}
      >
        {hasChildren ? (
          <span
            className={classes.toggle}
            aria-hidden
            onClick={(event) => {
              event.stopPropagation();
              toggle(node);
            }}
          >
            <IconChevronRight size={14} className={classes.chevron} data-expanded={isOpen || undefined} />
          </span>
        ) : (
          <span className={classes.toggle} aria-hidden />
        )}
        {node.accessible ? (
          <FolderIcon size={16} className={classes.icon} aria-hidden />
        ) : (
          <IconLock size={16} className={classes.icon} aria-hidden />
        )}
        <span id={labelId} className={classes.name}>
          {node.name}
        </span>
        <span id={descId} className={classes.count}>
          {formatNumber(node.totalPatientCount)}
          <VisuallyHidden>
            {node.totalPatientCount === 1 ? ' patient' : ' patients'}
            {node.accessible ? '' : `. ${INACCESSIBLE_HINT}.`}
          </VisuallyHidden>
        </span>
      </li>
    );
  };

  return (
    <ul role="tree" aria-label={label} className={classes.tree} onKeyDown={onKeyDown}>
      {visible.map(renderNode)}
    </ul>
  );
}
