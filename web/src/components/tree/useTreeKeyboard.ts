import { useCallback, useEffect, useId, useMemo, useRef, useState, type KeyboardEvent } from 'react';
import { ancestorIds, visibleFolders, type FolderIndex, type FolderNode } from '../../folders';

export interface TreeKeyboardOptions {
  index: FolderIndex;
  /** Ids of expanded folders (controlled). */
  expanded: ReadonlySet<string>;
  onExpandedChange: (next: Set<string>) => void;
  /** The selected (or open) folder: the tab stop when no other item was focused. */
  activeId: string | null;
  /** Selects (or opens) a folder: by click and by the `activateKeys`. */
  onActivate: (id: string) => void;
  /** Keys that activate the focused folder. */
  activateKeys: readonly string[];
  /** Further keys of the component; returns whether it handled the key. */
  onKey?: (key: string, node: FolderNode) => boolean;
}

export type TreeKeyboard = ReturnType<typeof useTreeKeyboard>;

/**
 * State and keyboard handling of a folder tree following the WAI-ARIA tree pattern, rendered as a
 * flat list of the visible folders: one tab stop (roving tabindex), ↑/↓ move, → expands / enters,
 * ← collapses / goes to the parent, Home/End, the `activateKeys` select, typing a letter jumps to
 * the next folder starting with it.
 */
export function useTreeKeyboard({ index, expanded, onExpandedChange, activeId, onActivate, activateKeys, onKey }: TreeKeyboardOptions) {
  const idPrefix = useId();
  const itemRefs = useRef(new Map<string, HTMLLIElement>());
  const [focusedId, setFocusedId] = useState<string | null>(activeId);

  const visible = useMemo(() => visibleFolders(index.roots, expanded), [index, expanded]);

  // The one item reachable with Tab: the last focused one if still shown, else the active one.
  const tabStopId = useMemo(() => {
    const shown = new Set(visible.map((n) => n.id));
    if (focusedId && shown.has(focusedId)) return focusedId;
    if (activeId && shown.has(activeId)) return activeId;
    return visible[0]?.id ?? null;
  }, [visible, focusedId, activeId]);

  // A selection made elsewhere (URL, back button) becomes the tab stop.
  useEffect(() => {
    setFocusedId(activeId);
  }, [activeId]);

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

  /** Expands or collapses a folder, keeping keyboard focus alive when collapsing around the focused item. */
  const toggle = useCallback(
    (node: FolderNode) => {
      const open = !expanded.has(node.id);
      setExpanded(node.id, open);
      if (!open && document.activeElement instanceof HTMLElement) {
        const focusedItem = document.activeElement.closest<HTMLElement>('[role="treeitem"]');
        const focusedIdNow = focusedItem?.dataset.folderId;
        if (focusedIdNow && ancestorIds(index, focusedIdNow).includes(node.id)) focusItem(node.id);
      }
    },
    [expanded, setExpanded, index, focusItem],
  );

  const activate = useCallback(
    (node: FolderNode) => {
      onActivate(node.id);
      setFocusedId(node.id);
    },
    [onActivate],
  );

  const registerItem = (id: string) => (el: HTMLLIElement | null) => {
    if (el) itemRefs.current.set(id, el);
    else itemRefs.current.delete(id);
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
      default:
        if (activateKeys.includes(event.key)) {
          activate(current);
        } else if (onKey?.(event.key, current)) {
          // Handled by the component.
        } else if (event.key.length === 1 && /\S/.test(event.key)) {
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

  return { index, expanded, visible, idPrefix, tabStopId, setFocusedId, registerItem, setExpanded, toggle, activate, onKeyDown };
}
