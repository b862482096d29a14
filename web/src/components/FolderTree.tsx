import { formatNumber } from '../format';
import type { FolderIndex, FolderNode } from '../folders';
import classes from './FolderTree.module.css';
import { Tree, TreeItem } from './tree/TreeItem';
import { useTreeKeyboard } from './tree/useTreeKeyboard';

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

const SELECT_KEYS = ['Enter', ' '];

/**
 * Folder tree following the WAI-ARIA tree pattern (see `useTreeKeyboard`): one tab stop,
 * ↑/↓ move, → expands / enters, ← collapses / goes to the parent, Home/End, Enter or Space
 * selects, typing a letter jumps to the next folder starting with it, `*` expands all siblings.
 */
export function FolderTree({ index, selectedId, onSelect, expanded, onExpandedChange, label }: FolderTreeProps) {
  const expandSiblings = (key: string, node: FolderNode) => {
    if (key !== '*') return false;
    const parent = node.parentId ? index.byId.get(node.parentId) : undefined;
    const siblings = parent ? parent.children : index.roots;
    const next = new Set(expanded);
    for (const s of siblings) if (s.children.length > 0) next.add(s.id);
    onExpandedChange(next);
    return true;
  };
  const tree = useTreeKeyboard({
    index,
    expanded,
    onExpandedChange,
    activeId: selectedId,
    onActivate: onSelect,
    activateKeys: SELECT_KEYS,
    onKey: expandSiblings,
  });

  return (
    <Tree tree={tree} label={label} className={classes.tree}>
      {tree.visible.map((node) => (
        <TreeItem
          key={node.id}
          node={node}
          tree={tree}
          selected={node.id === selectedId}
          onToggleExpanded={() => tree.toggle(node)}
          count={formatNumber(node.totalPatientCount)}
          countLabel={node.totalPatientCount === 1 ? ' patient' : ' patients'}
        />
      ))}
    </Tree>
  );
}
