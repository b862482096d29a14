const BYTE_UNITS = ['KB', 'MB', 'GB', 'TB', 'PB'] as const;

/**
 * Human-readable size with binary multiples (1 KB = 1024 bytes), one decimal:
 * `0 B`, `512 B`, `1.5 KB`, `12.4 MB`.
 */
export function formatBytes(bytes: number): string {
  if (!Number.isFinite(bytes) || bytes < 0) return '—';
  if (bytes < 1024) return `${Math.round(bytes)} B`;
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < BYTE_UNITS.length - 1) {
    value /= 1024;
    unit += 1;
  }
  // 1023.96 KB would round to "1024.0 KB"; prefer "1.0 MB".
  if (Number(value.toFixed(1)) >= 1024 && unit < BYTE_UNITS.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${value.toFixed(1)} ${BYTE_UNITS[unit]}`;
}

const numberFormat = new Intl.NumberFormat('en-US');

/** Thousands-separated integer: `12,345`. */
export function formatNumber(value: number): string {
  return numberFormat.format(value);
}

/** `1 patient`, `2 patients`, `1,204 files`. */
export function plural(count: number, singular: string, pluralForm = `${singular}s`): string {
  return `${formatNumber(count)} ${count === 1 ? singular : pluralForm}`;
}

const dateFormat = new Intl.DateTimeFormat('en-GB', { day: 'numeric', month: 'short', year: 'numeric' });
const dateTimeFormat = new Intl.DateTimeFormat('en-GB', {
  day: 'numeric',
  month: 'short',
  year: 'numeric',
  hour: '2-digit',
  minute: '2-digit',
});

function toDate(value: string | number | Date): Date | null {
  const date = value instanceof Date ? value : new Date(value);
  return Number.isNaN(date.getTime()) ? null : date;
}

/** `3 Dec 2025` (empty string for an unparseable value). */
export function formatDate(value: string | number | Date): string {
  const date = toDate(value);
  return date ? dateFormat.format(date) : '';
}

/** `3 Dec 2025, 17:15` (empty string for an unparseable value). */
export function formatDateTime(value: string | number | Date): string {
  const date = toDate(value);
  return date ? dateTimeFormat.format(date) : '';
}

/** Up to two initials for an avatar: "Ada Lovelace" → "AL". */
export function initials(name: string): string {
  const parts = name.trim().split(/\s+/).filter(Boolean);
  const first = parts[0]?.[0] ?? '';
  const last = parts.length > 1 ? (parts[parts.length - 1]?.[0] ?? '') : '';
  return (first + last).toUpperCase() || '?';
}

/**
 * A duration in words, rounded to what matters: `8 s`, `4 min 10 s`, `1 h 20 min`, `3 d 4 h`.
 * Negative or non-finite values give `—`.
 */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '—';
  const s = Math.round(seconds);
  if (s < 60) return `${s} s`;
  if (s < 600) {
    const rest = s % 60;
    return rest ? `${Math.floor(s / 60)} min ${rest} s` : `${s / 60} min`;
  }
  if (s < 3600) return `${Math.round(s / 60)} min`;
  if (s < 86_400) {
    const minutes = Math.round((s % 3600) / 60);
    const hours = Math.floor(s / 3600) + (minutes === 60 ? 1 : 0);
    return minutes && minutes !== 60 ? `${hours} h ${minutes} min` : `${hours} h`;
  }
  const hours = Math.round((s % 86_400) / 3600);
  const days = Math.floor(s / 86_400) + (hours === 24 ? 1 : 0);
  return hours && hours !== 24 ? `${days} d ${hours} h` : `${days} d`;
}

/** Transfer rate: `3.4 MB/s`. */
export function formatRate(bytesPerSecond: number): string {
  if (!Number.isFinite(bytesPerSecond) || bytesPerSecond < 0) return '—';
  return `${formatBytes(bytesPerSecond)}/s`;
}

const shortDateTimeFormat = new Intl.DateTimeFormat('en-GB', { day: 'numeric', month: 'short', hour: '2-digit', minute: '2-digit' });

/** `3 Dec, 17:15` within the current year, else `3 Dec 2025, 17:15`. */
export function formatShortDateTime(value: string | number | Date, now: Date = new Date()): string {
  const date = toDate(value);
  if (!date) return '';
  return date.getFullYear() === now.getFullYear() ? shortDateTimeFormat.format(date) : dateTimeFormat.format(date);
}

const relativeFormat = new Intl.RelativeTimeFormat('en', { numeric: 'auto' });

/** `in 14 days`, `in 3 hours`, `5 minutes ago`: the largest unit that fits. */
export function formatRelative(value: string | number | Date, now: Date = new Date()): string {
  const date = toDate(value);
  if (!date) return '';
  const diff = (date.getTime() - now.getTime()) / 1000;
  const abs = Math.abs(diff);
  if (abs < 60) return relativeFormat.format(Math.round(diff), 'second');
  if (abs < 3600) return relativeFormat.format(Math.round(diff / 60), 'minute');
  if (abs < 86_400) return relativeFormat.format(Math.round(diff / 3600), 'hour');
  return relativeFormat.format(Math.round(diff / 86_400), 'day');
}
