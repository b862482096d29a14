/**
 * Hands export ids to workers. The export row is the source of truth (status, attempt, cancel
 * flag, progress), so a queue only has to deliver ids at least once; claiming an export is a
 * conditional update that exactly one worker wins.
 */
export interface JobQueue {
  /** Asks for the export to be built; safe to call more than once for the same id. */
  enqueue(exportId: string): Promise<void>;
  /** Delivers ids to `handler`, at most `concurrency` at a time, until `stop`. */
  start(handler: (exportId: string) => Promise<void>, options: { concurrency: number }): Promise<void>;
  stop(): Promise<void>;
}
