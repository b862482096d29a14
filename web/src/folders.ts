import type { Folder } from './api';

export interface FolderNode extends Folder {
  children: FolderNode[];
  depth: number;
}

export interface FolderIndex {
  /** Top-level folders, sorted by name. */
  roots: FolderNode[];
  byId: Map<string, FolderNode>;
}

const collator = new Intl.Collator(undefined, { numeric: true, sensitivity: 'base' });

export function compareByName(a: { name: string }, b: { name: string }): number {
  return collator.compare(a.name, b.name);
}

/**
 * Build the folder tree from the API's flat list. Folders whose parent is not in
 * the list are treated as roots; siblings are sorted by name (natural order).
 */
export function buildFolderTree(folders: Folder[]): FolderIndex {
  const byId = new Map<string, FolderNode>();
  for (const folder of folders) byId.set(folder.id, { ...folder, children: [], depth: 0 });

  const roots: FolderNode[] = [];
  for (const node of byId.values()) {
    const parent = node.parentId ? byId.get(node.parentId) : undefined;
    if (parent && parent !== node) parent.children.push(node);
    else roots.push(node);
  }

  const visit = (nodes: FolderNode[], depth: number, seen: Set<string>) => {
    nodes.sort(compareByName);
    for (const node of nodes) {
      if (seen.has(node.id)) continue; // defensive: never loop on a malformed parent chain
      seen.add(node.id);
      node.depth = depth;
      visit(node.children, depth + 1, seen);
    }
  };
  visit(roots, 0, new Set());
  return { roots, byId };
}

/** Ids of the folder's ancestors, nearest first. */
export function ancestorIds(index: FolderIndex, id: string): string[] {
  const result: string[] = [];
  const seen = new Set<string>([id]);
  let current = index.byId.get(id);
  while (current?.parentId && !seen.has(current.parentId)) {
    seen.add(current.parentId);
    const parent = index.byId.get(current.parentId);
    if (!parent) break;
    result.push(parent.id);
    current = parent;
  }
  return result;
}

/** Folders in display order, descending only into expanded ones. */
export function visibleFolders(roots: FolderNode[], expanded: ReadonlySet<string>): FolderNode[] {
  const out: FolderNode[] = [];
  const walk = (nodes: FolderNode[]) => {
    for (const node of nodes) {
      out.push(node);
      if (node.children.length > 0 && expanded.has(node.id)) walk(node.children);
    }
  };
  walk(roots);
  return out;
}

/** Ids of all folders that have subfolders. */
export function expandableIds(index: FolderIndex): string[] {
  return [...index.byId.values()].filter((n) => n.children.length > 0).map((n) => n.id);
}
