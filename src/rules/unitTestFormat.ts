import type { Labels } from '../core/index.js';

/** Labels as Prometheus prints them: `{__name__="up", job="api"}`, names in byte order. */
export function promLabelsString(labels: Labels): string {
  const names = Object.keys(labels).sort(byteCompare);
  return `{${names.map((n) => `${n}=${JSON.stringify(labels[n] ?? '')}`).join(', ')}}`;
}

/** Orders strings as Go compares them (UTF-16 code units agree with bytes for the ASCII of label names). */
export function byteCompare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Orders label sets as Prometheus's labels.Compare: name by name, then value, then length. */
export function compareLabels(a: Labels, b: Labels): number {
  const an = Object.keys(a).sort(byteCompare);
  const bn = Object.keys(b).sort(byteCompare);
  for (let i = 0; i < Math.min(an.length, bn.length); i++) {
    const [x, y] = [an[i] ?? '', bn[i] ?? ''];
    if (x !== y) return byteCompare(x, y);
    const v = byteCompare(a[x] ?? '', b[y] ?? '');
    if (v !== 0) return v;
  }
  return an.length - bn.length;
}

/** A float as Go's strconv.FormatFloat(v, 'E', -1, 64) prints it, as promtool shows sample values. */
export function goFloatE(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Infinity) return '+Inf';
  if (value === -Infinity) return '-Inf';
  const [mantissa = '0', exponent = '0'] = value.toExponential().split('e');
  const sign = exponent.startsWith('-') ? '-' : '+';
  const digits = exponent.replace(/^[+-]/, '').padStart(2, '0');
  return `${mantissa}E${sign}${digits}`;
}

/** Prefixes every line but the first with indent, as promtool's indentLines. */
export function indentLines(text: string, indent: string): string {
  return text.split('\n').join(`\n${indent}`);
}

/** A list of alerts in promtool's failure layout (`0:` / `Labels:{…}` / `Annotations:{…}`). */
export function alertListString(alerts: readonly { labels: Labels; annotations: Labels }[]): string {
  if (alerts.length === 0) return '[]';
  const items = alerts.map(
    (a, i) =>
      `${i}:${indentLines(`\nLabels:${promLabelsString(a.labels)}\nAnnotations:${promLabelsString(a.annotations)}`, '  ')}`,
  );
  return `[\n${items.join(',\n')}\n]`;
}

/** Whether two floats are within one ulp of each other (promtool's `fuzzy_compare`). */
export function withinOneUlp(x: number, y: number): boolean {
  if (x === y) return true;
  if (!Number.isFinite(x) || !Number.isFinite(y)) return false;
  return nextAfter(x, Infinity) === y || nextAfter(x, -Infinity) === y;
}

function nextAfter(x: number, toward: number): number {
  if (x === 0) return toward > 0 ? Number.MIN_VALUE : -Number.MIN_VALUE;
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, x);
  const bits = view.getBigUint64(0);
  const away = toward > x === x > 0;
  view.setBigUint64(0, away ? bits + 1n : bits - 1n);
  return view.getFloat64(0);
}
