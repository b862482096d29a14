import { useOutletContext } from 'react-router';
import type { Folder, Project } from './api';
import type { FolderIndex } from './folders';

/** What {@link ProjectLayout} hands to the pages under `/p/:slug`. */
export interface ProjectContextValue {
  project: Project;
  folders: Folder[];
  folderIndex: FolderIndex;
}

/** The current project, for pages rendered under `/p/:slug`. */
export function useProject(): ProjectContextValue {
  return useOutletContext<ProjectContextValue>();
}
