const unitMs: Record<string, number> = {
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 604_800_000,
  y: 31_536_000_000,
};

const durationPattern = /^(?:(\d+)(ms|s|m|h|d|w|y))+$/;
const partPattern = /(\d+)(ms|s|m|h|d|w|y)/g;

/** Parses a Prometheus duration (`1s`, `5m`, `1h30m`, `250ms`) into milliseconds; null when malformed. */
export function parseDuration(text: string): number | null {
  if (!durationPattern.test(text)) return null;
  let total = 0;
  for (const match of text.matchAll(partPattern)) {
    total += Number(match[1]) * (unitMs[match[2] ?? ''] ?? 0);
  }
  return total;
}

/** Formats milliseconds as a Prometheus duration (`1h30m`, `250ms`, `0s`). */
export function formatDuration(ms: number): string {
  if (ms === 0) return '0s';
  let rest = ms;
  let out = '';
  for (const [unit, size] of [
    ['y', unitMs.y],
    ['w', unitMs.w],
    ['d', unitMs.d],
    ['h', unitMs.h],
    ['m', unitMs.m],
    ['s', unitMs.s],
    ['ms', 1],
  ] as const) {
    const size_ = size ?? 1;
    if (rest >= size_) {
      out += `${Math.floor(rest / size_)}${unit}`;
      rest %= size_;
    }
  }
  return out;
}
