/** Rules for names people type: usernames, project slugs, folder names. Pure, no I/O. */

export const USERNAME_PATTERN = /^[a-zA-Z0-9._-]{2,64}$/;
export const SLUG_PATTERN = /^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$/;

export function usernameProblem(username: string): string | null {
  return USERNAME_PATTERN.test(username) ? null : 'must be 2-64 characters: letters, digits, ".", "_" or "-"';
}

export function slugProblem(slug: string): string | null {
  if (['api', 'auth', 'docs', 'projects', 'login', 'p', 'assets', 'share', 'exports'].includes(slug)) return 'is reserved';
  return SLUG_PATTERN.test(slug) ? null : 'must be 1-64 lower-case letters, digits or "-", not starting or ending with "-"';
}

/** A folder or patient name as stored: unicode welcome, but nothing that breaks paths or displays. */
export function folderNameProblem(name: string): string | null {
  if (name.length === 0 || name.trim() !== name) return 'must not be empty or start/end with spaces';
  if (name === '.' || name === '..') return 'must not be "." or ".."';
  if (name.includes('/') || name.includes('\\')) return 'must not contain "/" or "\\"';
  if (/[\u0000-\u001f\u007f]/.test(name)) return 'must not contain control characters';
  if ([...name].length > 200) return 'must be at most 200 characters';
  return null;
}

/** Splits "A/B/C" into validated folder names; throws with the offending part named. */
export function parseFolderPath(path: string): string[] {
  const parts = path.split('/').filter((p) => p.length > 0);
  if (parts.length === 0) throw new Error('A folder path needs at least one folder name');
  for (const part of parts) {
    const problem = folderNameProblem(part);
    if (problem) throw new Error(`Folder name ${JSON.stringify(part)} ${problem}`);
  }
  return parts;
}
