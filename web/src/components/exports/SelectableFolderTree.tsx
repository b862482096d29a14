import { Checkbox, Loader } from '@mantine/core';
import type { FolderPickInfo } from '../../exportSelection';
import type { FolderIndex, FolderNode } from '../../folders';
import { formatNumber, plural } from '../../format';
import { Tree, TreeItem } from '../tree/TreeItem';
import { useTreeKeyboard } from '../tree/useTreeKeyboard';
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

const OPEN_KEYS = ['Enter'];

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
  const pickOnSpace = (key: string, node: FolderNode) => {
    if (key !== ' ') return false;
    if (!busy.has(node.id)) onToggle(node.id);
    return true;
  };
  const tree = useTreeKeyboard({
    index,
    expanded,
    onExpandedChange,
    activeId: openId,
    onActivate: onOpen,
    activateKeys: OPEN_KEYS,
    onKey: pickOnSpace,
  });

  const renderNode = (node: FolderNode) => {
    const info = pickInfo.get(node.id) ?? { state: 'unchecked', selected: 0, total: node.totalPatientCount };
    const isBusy = busy.has(node.id);
    const partial = info.state === 'mixed';

    return (
      <TreeItem
        key={node.id}
        node={node}
        tree={tree}
        selected={node.id === openId}
        checked={partial ? 'mixed' : info.state === 'checked'}
        busy={isBusy}
        leading={
          <span
            className={classes.check}
            aria-hidden
            data-testid="folder-check"
            onClick={(event) => {
              event.stopPropagation();
              tree.setFocusedId(node.id);
              if (!isBusy) onToggle(node.id);
            }}
          >
            {isBusy ? (
              <Loader size={14} />
            ) : (
              <Checkbox.Indicator size="xs" checked={info.state === 'checked'} indeterminate={partial} disabled={info.total === 0} />
            )}
          </span>
        }
        count={
          <span aria-hidden>
            {partial ? `${formatNumber(info.selected)}/${formatNumber(info.total)}` : formatNumber(info.total)}
          </span>
        }
        countLabel={
          partial ? `${formatNumber(info.selected)} of ${plural(info.total, 'patient')} picked` : plural(info.total, 'patient')
        }
        countProps={{ className: classes.count, 'data-picked': info.selected > 0 || undefined }}
      />
    );
  };

  return (
    <Tree tree={tree} label={label} className={classes.tree}>
      {tree.visible.map(renderNode)}
    </Tree>
  );
}
