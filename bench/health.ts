export interface LatencyStats {
  count: number;
  errors: number;
  p50: number;
  p99: number;
  max: number;
}

export interface Probe {
  /** Stops sending; waits for requests in flight and returns their latencies in ms. */
  stop(): Promise<LatencyStats>;
}

const REQUEST_TIMEOUT_MS = 10_000;

/**
 * Fires `GET url` every `intervalMs` without waiting for earlier answers, as independent clients
 * would: a stalled server then shows up as growing latencies rather than as fewer requests. It runs
 * in the benchmark process, not in the server's, so a blocked server event loop cannot also delay
 * the clock that measures it.
 */
export function startProbe(url: string, intervalMs: number): Probe {
  const latencies: number[] = [];
  const inFlight = new Set<Promise<void>>();
  let errors = 0;
  const fire = () => {
    const started = performance.now();
    const request = fetch(url, { signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) })
      .then(async (response) => {
        await response.arrayBuffer();
        if (!response.ok) throw new Error(`status ${response.status}`);
        latencies.push(performance.now() - started);
      })
      .catch(() => {
        errors++;
      })
      .finally(() => inFlight.delete(request));
    inFlight.add(request);
  };
  fire();
  const timer = setInterval(fire, intervalMs);
  return {
    async stop() {
      clearInterval(timer);
      await Promise.all([...inFlight]);
      return summarise(latencies, errors);
    },
  };
}

export function summarise(values: number[], errors = 0): LatencyStats {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (q: number) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]! : NaN);
  return { count: sorted.length, errors, p50: at(0.5), p99: at(0.99), max: sorted.length ? sorted[sorted.length - 1]! : NaN };
}
