/** Kahan–Neumaier compensated summation, as Prometheus's kahansum package does it. */
export class KahanSum {
  sum = 0;
  c = 0;

  constructor(initial = 0) {
    this.sum = initial;
  }

  add(inc: number): void {
    const t = this.sum + inc;
    if (!Number.isFinite(t) && !Number.isNaN(t)) {
      this.c = 0;
    } else if (Math.abs(this.sum) >= Math.abs(inc)) {
      this.c += this.sum - t + inc;
    } else {
      this.c += inc - t + this.sum;
    }
    this.sum = t;
  }

  /** The compensated total; an infinite sum is returned as is. */
  value(): number {
    return Number.isFinite(this.sum) ? this.sum + this.c : this.sum;
  }
}

/** One step of Kahan summation on plain numbers: returns [sum, compensation]. */
export function kahanInc(inc: number, sum: number, c: number): [number, number] {
  const t = sum + inc;
  if (!Number.isFinite(t) && !Number.isNaN(t)) return [t, 0];
  if (Math.abs(sum) >= Math.abs(inc)) return [t, c + (sum - t + inc)];
  return [t, c + (inc - t + sum)];
}

/** The φ-quantile of values by linear interpolation between closest ranks (Prometheus's quantile()). */
export function quantileOf(q: number, values: number[]): number {
  if (values.length === 0 || Number.isNaN(q)) return NaN;
  if (q < 0) return -Infinity;
  if (q > 1) return Infinity;
  // NaN sorts first, as in Prometheus's vectorByValueHeap.
  const sorted = [...values].sort((a, b) => (Number.isNaN(a) ? -1 : Number.isNaN(b) ? 1 : a - b));
  const n = sorted.length;
  const rank = q * (n - 1);
  const lower = Math.max(0, Math.floor(rank));
  const upper = Math.min(n - 1, lower + 1);
  const weight = rank - Math.floor(rank);
  return (sorted[lower] ?? NaN) * (1 - weight) + (sorted[upper] ?? NaN) * weight;
}

/**
 * Least-squares regression over samples [from, to) with x measured in seconds from interceptTime;
 * returns [slope, intercept].
 */
export function linearRegression(
  t: ArrayLike<number>,
  v: ArrayLike<number>,
  from: number,
  to: number,
  interceptTime: number,
): [number, number] {
  let n = 0;
  const sumX = new KahanSum();
  const sumY = new KahanSum();
  const sumXY = new KahanSum();
  const sumX2 = new KahanSum();
  const initY = v[from] ?? NaN;
  let constY = true;
  for (let i = from; i < to; i++) {
    const y = v[i] ?? NaN;
    if (constY && i > from && y !== initY) constY = false;
    n++;
    const x = ((t[i] ?? 0) - interceptTime) / 1000;
    sumX.add(x);
    sumY.add(y);
    sumXY.add(x * y);
    sumX2.add(x * x);
  }
  if (constY) {
    if (!Number.isFinite(initY) && !Number.isNaN(initY)) return [NaN, NaN];
    return [0, initY];
  }
  const sx = sumX.sum + sumX.c;
  const sy = sumY.sum + sumY.c;
  const sxy = sumXY.sum + sumXY.c;
  const sx2 = sumX2.sum + sumX2.c;
  const covXY = sxy - (sx * sy) / n;
  const varX = sx2 - (sx * sx) / n;
  const slope = covXY / varX;
  return [slope, sy / n - (slope * sx) / n];
}

/** Formats a float as Go's strconv.FormatFloat(f, 'f', -1, 64): shortest round-trip digits, never exponent notation. */
export function formatFloatPlain(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  const s = String(v);
  const match = /^(-?)(\d)(?:\.(\d+))?e([+-]\d+)$/.exec(s);
  if (match === null) return s;
  const [, sign = '', lead = '', frac = '', expText = '0'] = match;
  const exp = Number(expText);
  const digits = lead + frac;
  if (exp >= 0) {
    const intLen = 1 + exp;
    return digits.length <= intLen
      ? sign + digits + '0'.repeat(intLen - digits.length)
      : `${sign}${digits.slice(0, intLen)}.${digits.slice(intLen)}`;
  }
  return `${sign}0.${'0'.repeat(-exp - 1)}${digits}`;
}
