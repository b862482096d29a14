/**
 * What an export request selects, as rules independent of storage. SQL does the set work with
 * these normalised inputs; the rules (what a folder pick means, how exclusions and tags combine,
 * what is refused) live here.
 */
import { validationError } from './errors.js';

export interface SelectionRequest {
  folderIds?: string[];
  patientIds?: string[];
  excludePatientIds?: string[];
  tags?: string[];
  tagMode?: 'any' | 'all';
}

export interface NormalisedSelection {
  /** Folders picked whole: the folder and every subfolder. */
  folderIds: string[];
  /** Patients picked one by one (in addition to the folders). */
  patientIds: string[];
  /** Patients taken out again, whichever way they were picked. */
  excludePatientIds: string[];
  /** When given, only patients carrying any (or all) of these tags remain. */
  tags: string[];
  tagMode: 'any' | 'all';
}

const unique = (values: readonly string[] | undefined) => [...new Set(values ?? [])];

export function normaliseSelection(request: SelectionRequest): NormalisedSelection {
  const selection: NormalisedSelection = {
    folderIds: unique(request.folderIds),
    patientIds: unique(request.patientIds),
    excludePatientIds: unique(request.excludePatientIds),
    tags: unique(request.tags?.map((t) => t.trim()).filter(Boolean)),
    tagMode: request.tagMode ?? 'any',
  };
  if (selection.folderIds.length === 0 && selection.patientIds.length === 0) {
    throw validationError('selection', 'Select at least one folder or patient.', 'empty_selection');
  }
  return selection;
}

export interface IncludeRequest {
  raw: boolean;
  processed: boolean;
}

export function kindsOf(include: IncludeRequest): Array<'raw' | 'processed'> {
  const kinds: Array<'raw' | 'processed'> = [];
  if (include.raw) kinds.push('raw');
  if (include.processed) kinds.push('processed');
  if (kinds.length === 0) throw validationError('include', 'Include raw files, processed files, or both.', 'nothing_included');
  return kinds;
}
