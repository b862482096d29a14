const UNITS: Record<string, number> = {
  b: 1,
  kb: 1e3,
  mb: 1e6,
  gb: 1e9,
  tb: 1e12,
  kib: 2 ** 10,
  mib: 2 ** 20,
  gib: 2 ** 30,
  tib: 2 ** 40,
};

/** "500GB", "2 TiB", "1048576" → bytes; null when not understood. */
export function parseByteSize(text: string): number | null {
  const match = /^\s*(\d+(?:\.\d+)?)\s*([kmgt]i?b|b)?\s*$/i.exec(text);
  if (!match) return null;
  const value = Number(match[1]) * UNITS[(match[2] ?? 'b').toLowerCase()]!;
  return Number.isSafeInteger(Math.round(value)) ? Math.round(value) : null;
}

/** Bytes for people: 1 decimal, binary steps labelled KB/MB/GB as most file browsers show them. */
export function formatBytes(bytes: number): string {
  const steps = ['bytes', 'KB', 'MB', 'GB', 'TB', 'PB'];
  let value = bytes;
  let i = 0;
  while (value >= 1024 && i < steps.length - 1) {
    value /= 1024;
    i++;
  }
  return i === 0 ? `${bytes} bytes` : `${value.toFixed(1)} ${steps[i]}`;
}
