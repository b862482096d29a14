/**
 * Which patients an export picks, as the configuration page keeps it, and how that becomes the
 * request's `selection`:
 *
 * - `folders`: folders picked whole, subfolders included (`folderIds`). Never nested: picking a
 *   folder drops the picks below it.
 * - `patients`: patients picked one by one outside picked folders (`patientIds`).
 * - `excluded`: patients un-picked inside picked folders (`excludePatientIds`).
 *
 * Patient entries remember their folder, so the tree can show how much of each folder is picked
 * without loading its patients. All functions are pure and return a new selection.
 */
import type { TagMode } from './api';
import type { ExportSelection } from './exportsApi';
import type { FolderIndex, FolderNode } from './folders';

export interface PatientSelection {
  folders: ReadonlySet<string>;
  /** patient id → folder id */
  patients: ReadonlyMap<string, string>;
  /** patient id → folder id */
  excluded: ReadonlyMap<string, string>;
}

export type CheckState = 'checked' | 'unchecked' | 'mixed';

export const emptySelection: PatientSelection = { folders: new Set(), patients: new Map(), excluded: new Map() };

export function isEmptySelection(sel: PatientSelection): boolean {
  return sel.folders.size === 0 && sel.patients.size === 0;
}

/** Is `folderId` the folder `ancestorId` or inside it? */
export function isWithin(index: FolderIndex, folderId: string, ancestorId: string): boolean {
  if (folderId === ancestorId) return true;
  const folder = index.byId.get(folderId);
  const ancestor = index.byId.get(ancestorId);
  if (!folder || !ancestor) return false;
  return folder.path.startsWith(`${ancestor.path}/`);
}

/** The picked folder that covers `folderId` (itself or an ancestor), if any. */
export function coveringFolder(index: FolderIndex, sel: PatientSelection, folderId: string): string | null {
  let current: FolderNode | undefined = index.byId.get(folderId);
  const seen = new Set<string>();
  while (current && !seen.has(current.id)) {
    if (sel.folders.has(current.id)) return current.id;
    seen.add(current.id);
    current = current.parentId ? index.byId.get(current.parentId) : undefined;
  }
  return null;
}

export function isPatientSelected(index: FolderIndex, sel: PatientSelection, patientId: string, folderId: string): boolean {
  if (sel.patients.has(patientId)) return true;
  return coveringFolder(index, sel, folderId) !== null && !sel.excluded.has(patientId);
}

function withoutWithin(map: ReadonlyMap<string, string>, index: FolderIndex, folderId: string): Map<string, string> {
  const next = new Map<string, string>();
  for (const [patient, folder] of map) if (!isWithin(index, folder, folderId)) next.set(patient, folder);
  return next;
}

/** Pick the folder and everything in it. */
export function checkFolder(index: FolderIndex, sel: PatientSelection, folderId: string): PatientSelection {
  const node = index.byId.get(folderId);
  if (!node) return sel;
  if (coveringFolder(index, sel, folderId)) {
    // Already picked through itself or an ancestor: take back any exclusions inside.
    return { ...sel, excluded: withoutWithin(sel.excluded, index, folderId) };
  }
  if (!node.accessible) {
    // Only its subfolders are shared: pick each of them (its own patients are not available).
    return node.children.reduce((acc, child) => checkFolder(index, acc, child.id), sel);
  }
  const folders = new Set([...sel.folders].filter((id) => !isWithin(index, id, folderId)));
  folders.add(folderId);
  return {
    folders,
    patients: withoutWithin(sel.patients, index, folderId),
    excluded: withoutWithin(sel.excluded, index, folderId),
  };
}

export type UncheckResult =
  | { kind: 'done'; selection: PatientSelection }
  /** The folder sits inside a picked folder with patients of its own: its patients must be excluded one by one. */
  | { kind: 'exclude-patients'; folderId: string };

/** Un-pick the folder and everything in it. */
export function uncheckFolder(index: FolderIndex, sel: PatientSelection, folderId: string): UncheckResult {
  const cover = coveringFolder(index, sel, folderId);
  if (cover === null || cover === folderId) {
    return {
      kind: 'done',
      selection: {
        folders: new Set([...sel.folders].filter((id) => !isWithin(index, id, folderId))),
        patients: withoutWithin(sel.patients, index, folderId),
        excluded: withoutWithin(sel.excluded, index, folderId),
      },
    };
  }
  // Inside a picked ancestor. When no folder on the way down holds patients of its own, the
  // ancestor can be replaced by its other subfolders; otherwise its patients are excluded.
  const path: FolderNode[] = [];
  let current = index.byId.get(folderId);
  while (current && current.id !== cover) {
    const parent: FolderNode | undefined = current.parentId ? index.byId.get(current.parentId) : undefined;
    if (!parent) break;
    path.push(parent);
    current = parent;
  }
  if (path.some((f) => f.accessible && f.patientCount > 0)) return { kind: 'exclude-patients', folderId };
  const folders = new Set(sel.folders);
  folders.delete(cover);
  for (const folder of path) {
    for (const child of folder.children) {
      if (isWithin(index, folderId, child.id)) continue; // on the way down to (or the folder itself)
      folders.add(child.id);
    }
  }
  return {
    kind: 'done',
    selection: { folders, patients: new Map(sel.patients), excluded: withoutWithin(sel.excluded, index, folderId) },
  };
}

/** Exclude these patients (of a folder inside a picked one). */
export function excludePatients(sel: PatientSelection, patients: ReadonlyArray<{ id: string; folderId: string }>): PatientSelection {
  const excluded = new Map(sel.excluded);
  for (const p of patients) excluded.set(p.id, p.folderId);
  return { ...sel, excluded };
}

export function setPatientSelected(
  index: FolderIndex,
  sel: PatientSelection,
  patient: { id: string; folderId: string },
  selected: boolean,
): PatientSelection {
  const covered = coveringFolder(index, sel, patient.folderId) !== null;
  if (covered) {
    const excluded = new Map(sel.excluded);
    if (selected) excluded.delete(patient.id);
    else excluded.set(patient.id, patient.folderId);
    return { ...sel, excluded };
  }
  const patients = new Map(sel.patients);
  if (selected) patients.set(patient.id, patient.folderId);
  else patients.delete(patient.id);
  return { ...sel, patients };
}

export interface FolderPickInfo {
  state: CheckState;
  /** Patients picked in the folder and its subfolders (before any tag filter). */
  selected: number;
  total: number;
}

/**
 * How much of every folder is picked. Counts come from the tree's `totalPatientCount` and the
 * selection's entries, so nothing has to be loaded.
 */
export function folderPickInfo(index: FolderIndex, sel: PatientSelection): Map<string, FolderPickInfo> {
  const excludedIn = new Map<string, number>();
  const pickedIn = new Map<string, number>();
  const bump = (map: Map<string, number>, folderId: string, by: number) => {
    let current = index.byId.get(folderId);
    const seen = new Set<string>();
    while (current && !seen.has(current.id)) {
      seen.add(current.id);
      map.set(current.id, (map.get(current.id) ?? 0) + by);
      current = current.parentId ? index.byId.get(current.parentId) : undefined;
    }
  };
  for (const folder of sel.excluded.values()) bump(excludedIn, folder, 1);
  for (const folder of sel.patients.values()) bump(pickedIn, folder, 1);
  for (const id of sel.folders) {
    const node = index.byId.get(id);
    if (node) bump(pickedIn, id, Math.max(0, node.totalPatientCount - (excludedIn.get(id) ?? 0)));
  }

  const info = new Map<string, FolderPickInfo>();
  for (const node of index.byId.values()) {
    const total = node.totalPatientCount;
    const covered = coveringFolder(index, sel, node.id) !== null;
    const selected = covered
      ? Math.max(0, total - (excludedIn.get(node.id) ?? 0))
      : Math.min(total, pickedIn.get(node.id) ?? 0);
    let state: CheckState;
    if (total === 0) state = covered ? 'checked' : 'unchecked';
    else if (selected === 0) state = 'unchecked';
    else if (selected >= total) state = 'checked';
    else state = 'mixed';
    info.set(node.id, { state, selected, total });
  }
  return info;
}

/** Patients picked in total, before tag filters (the server narrows by tags). */
export function pickedPatientCount(index: FolderIndex, sel: PatientSelection): number {
  let n = sel.patients.size;
  for (const id of sel.folders) {
    const node = index.byId.get(id);
    if (!node) continue;
    let excluded = 0;
    for (const folder of sel.excluded.values()) if (isWithin(index, folder, id)) excluded += 1;
    n += Math.max(0, node.totalPatientCount - excluded);
  }
  return n;
}

/** The request's `selection`, in a stable order (it is also a query key). */
export function toRequestSelection(sel: PatientSelection, tags: string[], tagMode: TagMode): ExportSelection {
  const out: ExportSelection = {};
  if (sel.folders.size) out.folderIds = [...sel.folders].sort();
  if (sel.patients.size) out.patientIds = [...sel.patients.keys()].sort();
  if (sel.excluded.size) out.excludePatientIds = [...sel.excluded.keys()].sort();
  if (tags.length) {
    out.tags = [...tags].sort();
    out.tagMode = tagMode;
  }
  return out;
}
