import { useEffect, useRef, useState } from 'react';
import type { ExportJob } from '../../exportsApi';

interface Sample {
  bytes: number;
  at: number;
  rate: number | null;
}

/**
 * Bytes per second of each running export, from successive polls: the rate between the last two
 * samples whose byte counts differ, smoothed. Before two samples exist, the average since the
 * export started stands in.
 */
export function useThroughput(jobs: readonly ExportJob[] | undefined, updatedAt: number): ReadonlyMap<string, number> {
  const samples = useRef(new Map<string, Sample>());
  const lastUpdate = useRef(0);
  const [rates, setRates] = useState<ReadonlyMap<string, number>>(new Map());

  useEffect(() => {
    if (!jobs || updatedAt === 0 || updatedAt === lastUpdate.current) return;
    lastUpdate.current = updatedAt;
    const next = new Map<string, number>();
    const seen = new Set<string>();
    for (const job of jobs) {
      if (job.status !== 'processing') continue;
      seen.add(job.id);
      const bytes = job.progress.bytesDone;
      const prev = samples.current.get(job.id);
      let sample: Sample;
      if (!prev || bytes < prev.bytes) {
        sample = { bytes, at: updatedAt, rate: null };
      } else if (bytes > prev.bytes && updatedAt > prev.at) {
        const instant = ((bytes - prev.bytes) * 1000) / (updatedAt - prev.at);
        sample = { bytes, at: updatedAt, rate: prev.rate === null ? instant : prev.rate * 0.5 + instant * 0.5 };
      } else {
        sample = prev; // no news since the last change: keep measuring from there
      }
      samples.current.set(job.id, sample);
      let rate = sample.rate;
      if (rate === null && job.startedAt && bytes > 0) {
        const elapsed = (updatedAt - Date.parse(job.startedAt)) / 1000;
        if (elapsed > 0.5) rate = bytes / elapsed;
      }
      if (rate !== null && Number.isFinite(rate)) next.set(job.id, rate);
    }
    for (const id of samples.current.keys()) if (!seen.has(id)) samples.current.delete(id);
    setRates(next);
  }, [jobs, updatedAt]);

  return rates;
}
