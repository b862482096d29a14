import type { CompressionMode } from './options.js';

/**
 * Messages between the benchmark (parent) and an export child process. Each export runs in a fresh
 * child so that its peak RSS and `resourceUsage().maxRSS` belong to that export alone, not to the
 * dataset generation or earlier runs of the parent.
 */

/** Where the export worker runs: in the child's main thread, or in a worker thread as `serve` does. */
export type WorkerPlacement = 'in-process' | 'thread';

export interface ChildJob {
  compression: CompressionMode;
  placement: WorkerPlacement;
  /** Start the HTTP app on 127.0.0.1:0 so the parent can probe `/api/health`. */
  http: boolean;
  projectSlug: string;
  userId: string;
  folderId: string;
  /**
   * zlib level for compressed entries (in-process only). The app always uses the pipeline's default
   * (6): createExportWorker does not pass PipelineOptions.compressionLevel. Set for experiments.
   */
  level?: number;
}

export interface ReadyMessage {
  type: 'ready';
  /** Listening port of the HTTP app, when started. */
  port?: number;
  /** RSS once the runtime, HTTP app and worker are up and idle: what the export adds is above it. */
  baseRss: number;
}

/** Parent → child: create the export now (the idle probe is done). */
export interface StartMessage {
  type: 'start';
}

/** Parent → child: the result is in and probing has stopped, so the HTTP app may close. */
export interface ShutdownMessage {
  type: 'shutdown';
}

export type ParentMessage = StartMessage | ShutdownMessage;

export interface ResultMessage {
  type: 'result';
  exportId: string;
  status: string;
  error?: string;
  /** From just before ExportService.create to the export's completed_at. */
  seconds: number;
  /** User + system CPU of the whole child (all threads, libuv pool included) over the same span. */
  cpuSeconds: number;
  zipPath?: string;
  zipSize?: number;
  inputBytes: number;
  files: number;
  /** Highest process.memoryUsage().rss seen, sampled every 100 ms during the export. */
  peakRss: number;
  /** process.resourceUsage().maxRSS of the child, in bytes: its peak over its whole life. */
  maxRss: number;
  baseRss: number;
  /** Largest gap between RSS samples: how long the child's main event loop was held up at most. */
  maxSampleGapMs: number;
  /** When that gap ended, in seconds after the export was requested (to tell start-up from streaming). */
  maxSampleGapAt: number;
}

export type ChildMessage = ReadyMessage | ResultMessage;
