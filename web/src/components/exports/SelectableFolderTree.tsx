import { Checkbox, Loader, VisuallyHidden } from '@mantine/core';
import { IconChevronRight, IconFolder, IconFolderOpen, IconLock } from '@tabler/icons-react';
import { useCallback, useEffect, useId, useMemo, useRef, useState, type CSSProperties, type KeyboardEvent } from 'react';
import type { FolderPickInfo } from '../../exportSelection';
import { visibleFolders, type FolderIndex, type FolderNode } from '../../folders';
import { formatNumber, plural } from '../../format';
import classes from './SelectableFolderTree.module.css';

interface SelectableFolderTreeProps {
  index: FolderIndex;
  /** Accessible name of the tree. */
  label: string;
  /** The folder shown next to the tree (its patients can be picked one by one). */
  openId: string | null;
  onOpen: (id: string) => void;
  expanded: ReadonlySet<string>;
  onExpandedChange: (next: Set<string>) => void;
  pickInfo: ReadonlyMap<string, FolderPickInfo>;
  onToggle: (id: string) => void;
  /** Folders whose pick is being worked out (patients loading). */
  busy: ReadonlySet<string>;
}

const INACCESSIBLE_HINT = 'Only some subfolders are shared with you';

/**
 * The project's folders with a tri-state checkbox each (WAI-ARIA tree with `aria-checked`):
 * one tab stop, ↑/↓/Home/End move, →/← expand and collapse, Space picks or un-picks the folder
 * (with its subfolders), Enter opens it to pick single patients.
 */
export function SelectableFolderTree({
  index,
  label,
  openId,
  onOpen,
  expanded,
  onExpandedChange,
  pickInfo,
  onToggle,
  busy,
}: SelectableFolderTreeProps) {
  const idPrefix = useId();
  const itemRefs = useRef(new Map<string, HTMLLIElement>());
  const [focusedId, setFocusedId] = useState<string | null>(openId);
  const visible = useMemo(() => visibleFolders(index.roots, expanded), [index, expanded]);

  const tabStopId = useMemo(() => {
    const shown = new Set(visible.map((n) => n.id));
    if (focusedId && shown.has(focusedId)) return focusedId;
    if (openId && shown.has(openId)) return openId;
    return visible[0]?.id ?? null;
  }, [visible, focusedId, openId]);

  useEffect(() => {
    setFocusedId(openId);
  }, [openId]);

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

  const open = (node: FolderNode) => {
    onOpen(node.id);
    setFocusedId(node.id);
  };

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
      case ' ':
        if (!busy.has(current.id)) onToggle(current.id);
        break;
      case 'Enter':
        open(current);
        break;
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
    const info = pickInfo.get(node.id) ?? { state: 'unchecked', selected: 0, total: node.totalPatientCount };
    const labelId = `${idPrefix}-${node.id}-label`;
    const descId = `${idPrefix}-${node.id}-desc`;
    const FolderIcon = isOpen ? IconFolderOpen : IconFolder;
    const parent = node.parentId ? index.byId.get(node.parentId) : undefined;
    const siblings = parent ? parent.children : index.roots;
    const isBusy = busy.has(node.id);
    const partial = info.state === 'mixed';

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
        aria-selected={node.id === openId}
        aria-checked={info.state === 'mixed' ? 'mixed' : info.state === 'checked'}
        aria-busy={isBusy || undefined}
        aria-labelledby={labelId}
        aria-describedby={descId}
        tabIndex={node.id === tabStopId ? 0 : -1}
        data-folder-id={node.id}
        data-inaccessible={node.accessible ? undefined : true}
        style={{ '--tree-depth': node.depth } as CSSProperties}
        title={node.accessible ? node.path || node.name : INACCESSIBLE_HINT}
        onFocus={() => setFocusedId(node.id)}
        onClick={() => {
          open(node);
          if (hasChildren && !isOpen) setExpanded(node.id, true);
        }}
      >
        {hasChildren ? (
          <span
            className={classes.toggle}
            aria-hidden
            onClick={(event) => {
              event.stopPropagation();
              setExpanded(node.id, !isOpen);
            }}
          >
            <IconChevronRight size={14} className={classes.chevron} data-expanded={isOpen || undefined} />
          </span>
        ) : (
          <span className={classes.toggle} aria-hidden />
        )}
        <span
          className={classes.check}
          aria-hidden
          data-testid="folder-check"
          onClick={(event) => {
            event.stopPropagation();
            setFocusedId(node.id);
            if (!isBusy) onToggle(node.id);
          }}
        >
          {isBusy ? (
            <Loader size={14} />
          ) : (
            <Checkbox.Indicator size="xs" checked={info.state === 'checked'} indeterminate={partial} disabled={info.total === 0} />
          )}
        </span>
        {node.accessible ? (
          <FolderIcon size={16} className={classes.icon} aria-hidden />
        ) : (
          <IconLock size={16} className={classes.icon} aria-hidden />
        )}
        <span id={labelId} className={classes.name}>
          {node.name}
        </span>
        <span id={descId} className={classes.count} data-picked={info.selected > 0 || undefined}>
          <span aria-hidden>
            {partial ? `${formatNumber(info.selected)}/${formatNumber(info.total)}` : formatNumber(info.total)}
          </span>
          <VisuallyHidden>
            {partial
              ? `${formatNumber(info.selected)} of ${plural(info.total, 'patient')} picked`
              : plural(info.total, 'patient')}
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
