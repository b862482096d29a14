/**
 * The life of an export job and how its progress is shown. Pure: the export service stores the
 * status and asks here whether a change is allowed; the API shapes progress with `progressView`.
 *
 * - pending → processing when a worker takes the job; it may also be cancelled, or fail before
 *   it starts (the creator lost access to the project meanwhile).
 * - processing → completed, failed or cancelled; back to pending when its worker died, so another
 *   worker retries it.
 * - A failed or cancelled export can be retried (back to pending); a completed one only expires
 *   when its ZIP is removed.
 */

export const EXPORT_STATUSES = ['pending', 'processing', 'completed', 'failed', 'cancelled', 'expired'] as const;
export type ExportStatus = (typeof EXPORT_STATUSES)[number];

const TRANSITIONS: Record<ExportStatus, readonly ExportStatus[]> = {
  pending: ['processing', 'cancelled', 'failed'],
  processing: ['completed', 'failed', 'cancelled', 'pending'],
  completed: ['expired'],
  failed: ['pending'],
  cancelled: ['pending'],
  expired: [],
};

export function canTransition(from: ExportStatus, to: ExportStatus): boolean {
  return TRANSITIONS[from].includes(to);
}

export function allowedTransitions(from: ExportStatus): readonly ExportStatus[] {
  return TRANSITIONS[from];
}

/** Waiting for or held by a worker: counts against limits, can be cancelled. */
export function isActive(status: ExportStatus): boolean {
  return status === 'pending' || status === 'processing';
}

/** No worker will change it any more (a failed or cancelled one may still be retried by a user). */
export function isTerminal(status: ExportStatus): boolean {
  return !isActive(status);
}

export interface ProgressInput<Phase extends string = string> {
  phase: Phase;
  filesDone: number;
  filesTotal: number;
  bytesDone: number;
  bytesTotal: number;
  /** ISO 8601; null while the job has not started. */
  startedAt: string | null;
  now: Date;
}

export interface ProgressView<Phase extends string = string> {
  phase: Phase;
  /** 0–100 with one decimal, rounded down so 100 means done. */
  percent: number;
  filesDone: number;
  filesTotal: number;
  bytesDone: number;
  bytesTotal: number;
  /** Seconds left at the average rate so far; null while too early to tell. */
  etaSeconds: number | null;
}

/** An ETA after less than this would mostly measure start-up, not throughput. */
export const ETA_MIN_ELAPSED_MS = 2000;

function percentOf(done: number, total: number): number {
  if (!(total > 0)) return 0;
  // Integer arithmetic first: 57 of 100 must be 57.0, not 56.9 from 0.57 * 100.
  const tenths = Math.floor((Math.max(0, done) * 1000) / total) / 10;
  return Math.min(100, tenths);
}

export function progressView<Phase extends string>(p: ProgressInput<Phase>): ProgressView<Phase> {
  const percent = p.bytesTotal > 0 ? percentOf(p.bytesDone, p.bytesTotal) : percentOf(p.filesDone, p.filesTotal);
  let etaSeconds: number | null = null;
  const started = p.startedAt === null ? Number.NaN : Date.parse(p.startedAt);
  const elapsedMs = p.now.getTime() - started;
  if (elapsedMs >= ETA_MIN_ELAPSED_MS && p.bytesDone > 0) {
    const remaining = Math.max(0, p.bytesTotal - p.bytesDone);
    etaSeconds = Math.ceil((remaining * elapsedMs) / (p.bytesDone * 1000));
  }
  return {
    phase: p.phase,
    percent,
    filesDone: p.filesDone,
    filesTotal: p.filesTotal,
    bytesDone: p.bytesDone,
    bytesTotal: p.bytesTotal,
    etaSeconds,
  };
}
