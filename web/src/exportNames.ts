/**
 * Export names as the server checks them (src/domain/zip-layout.ts `exportNameProblem` and the
 * request schema), so a name is judged while it is typed instead of after submitting.
 */

export const MAX_EXPORT_NAME_LENGTH = 100;

const pad = (n: number, width = 2) => String(n).padStart(width, '0');

/** `export_2025-12-03_171502` in UTC, like the server's default name. */
export function defaultExportName(at: Date = new Date()): string {
  const date = `${pad(at.getUTCFullYear(), 4)}-${pad(at.getUTCMonth() + 1)}-${pad(at.getUTCDate())}`;
  const time = `${pad(at.getUTCHours())}${pad(at.getUTCMinutes())}${pad(at.getUTCSeconds())}`;
  return `export_${date}_${time}`;
}

const FORBIDDEN_CHARS = ['/', '\\', ':', '*', '?', '"', '<', '>', '|'] as const;
// eslint-disable-next-line no-control-regex
const CONTROL_CHARS = /[\u0000-\u001f\u007f-\u009f]/;
const BIDI_CHARS = /[\u202a-\u202e\u2066-\u2069]/;
const LONE_SURROGATES = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;
const WINDOWS_DEVICE = /^(?:con|prn|aux|nul|com[0-9¹²³]|lpt[0-9¹²³]|conin\$|conout\$)$/i;

function deviceStem(name: string): string {
  const dot = name.indexOf('.');
  return (dot < 0 ? name : name.slice(0, dot)).trimEnd();
}

/** Why the name cannot be used, as a sentence to show under the field, or null when it is fine. */
export function exportNameProblem(raw: string): string | null {
  if (raw.length > MAX_EXPORT_NAME_LENGTH) return `Use at most ${MAX_EXPORT_NAME_LENGTH} characters (now ${raw.length}).`;
  const name = raw.trim();
  if (name.length === 0) return 'Enter a name for the export.';
  if ([...name].length > MAX_EXPORT_NAME_LENGTH) return `Use at most ${MAX_EXPORT_NAME_LENGTH} characters.`;
  if (name === '.' || name === '..') return 'The name cannot be “.” or “..”.';
  if (name.startsWith('.')) return 'The name cannot start with a dot.';
  const bad = FORBIDDEN_CHARS.filter((c) => name.includes(c));
  if (bad.length) {
    return `The name cannot contain ${bad.map((c) => `“${c}”`).join(' ')}; these characters are not allowed in folder names on every system.`;
  }
  if (CONTROL_CHARS.test(name)) return 'The name cannot contain control characters.';
  if (BIDI_CHARS.test(name)) return 'The name cannot contain text-direction control characters.';
  if (LONE_SURROGATES.test(name)) return 'The name contains invalid characters.';
  if (name.endsWith('.')) return 'The name cannot end with a dot.';
  if (WINDOWS_DEVICE.test(deviceStem(name))) return 'This is a reserved name on Windows; choose another.';
  return null;
}
