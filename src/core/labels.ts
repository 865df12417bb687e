/** A labelled series' identity, as in Prometheus: label name → value. */
export type Labels = Readonly<Record<string, string>>;

/** The reserved label that holds a series' metric name. */
export const METRIC_NAME_LABEL = '__name__';

/** Returns the label names of a set in byte order, which is Prometheus's canonical order. */
export function sortedLabelNames(labels: Labels): string[] {
  return Object.keys(labels).sort(compareStrings);
}

/** A stable key for a label set: equal label sets give equal keys, whatever their insertion order. */
export function labelsKey(labels: Labels): string {
  const parts: string[] = [];
  for (const name of sortedLabelNames(labels)) parts.push(name, '\xff', String(labels[name]), '\xfe');
  // join() gives one flat string; `+=` builds a tree of partial strings that a kept key (a cache's map
  // key, one per series) holds on to: several hundred bytes per series.
  return parts.join('');
}

/** Formats labels as Prometheus does: `metric{a="1", b="2"}`, without the braces when empty. */
export function formatSeries(labels: Labels): string {
  const name = labels[METRIC_NAME_LABEL] ?? '';
  const parts = sortedLabelNames(labels)
    .filter((n) => n !== METRIC_NAME_LABEL)
    .map((n) => `${n}=${JSON.stringify(labels[n])}`);
  if (parts.length === 0) return name === '' ? '{}' : name;
  return `${name}{${parts.join(', ')}}`;
}

/** Returns a copy of `labels` without the named labels. */
export function withoutLabels(labels: Labels, names: readonly string[]): Labels {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(labels)) if (!names.includes(k)) out[k] = v;
  return out;
}

/** Returns a copy of `labels` keeping only the named labels. */
export function onlyLabels(labels: Labels, names: readonly string[]): Labels {
  const out: Record<string, string> = {};
  for (const n of names) {
    const v = labels[n];
    if (v !== undefined) out[n] = v;
  }
  return out;
}

/** Byte-order string comparison, which is how Prometheus sorts label names and values. */
export function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Sets a label in place, also when its name is `__proto__`, which plain assignment would swallow. */
export function assignLabel(labels: Record<string, string>, name: string, value: string): void {
  if (name === '__proto__') {
    Object.defineProperty(labels, name, { value, enumerable: true, writable: true, configurable: true });
  } else {
    labels[name] = value;
  }
}

/**
 * A 31-bit hash of a label set (FNV-1a over names in sorted order and their values), equal for equal sets
 * whatever their insertion order. Different sets can collide: compare candidates with labelsEqual.
 */
export function labelsHash(labels: Labels): number {
  let h = 0x811c9dc5;
  for (const name of sortedLabelNames(labels)) {
    h = Math.imul(fnv(h, name) ^ 0xff, 0x01000193);
    h = Math.imul(fnv(h, labels[name] ?? '') ^ 0xfe, 0x01000193);
  }
  // Non-negative and below 2^31, so V8 keeps it as a small integer (no heap number per key).
  return h >>> 1;
}

function fnv(hash: number, text: string): number {
  let h = hash;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  return h;
}

/** True when both sets hold the same names with the same values. */
export function labelsEqual(a: Labels, b: Labels): boolean {
  if (a === b) return true;
  let count = 0;
  for (const name of Object.keys(a)) {
    if (!Object.hasOwn(b, name) || b[name] !== a[name]) return false;
    count++;
  }
  return count === Object.keys(b).length;
}

/**
 * Items keyed by a label set without keeping a key string per item (a string of every label is about as
 * large as the labels themselves): a map from labelsHash to the item, or to the items whose sets collide.
 * `labelsOf` gives an item's labels; items must not be arrays.
 */
export class LabelsMap<T extends object> {
  private readonly buckets = new Map<number, T | T[]>();
  private count = 0;

  constructor(private readonly labelsOf: (item: T) => Labels) {}

  /** The item held for `labels` (pass `hash` when already computed), if any. */
  get(labels: Labels, hash: number = labelsHash(labels)): T | undefined {
    const found = this.buckets.get(hash);
    if (found === undefined) return undefined;
    if (!Array.isArray(found)) return labelsEqual(this.labelsOf(found), labels) ? found : undefined;
    return found.find((item) => labelsEqual(this.labelsOf(item), labels));
  }

  /** Adds `item`, whose label set no held item has (the caller checked with get()). */
  add(item: T, hash: number = labelsHash(this.labelsOf(item))): void {
    const found = this.buckets.get(hash);
    if (found === undefined) this.buckets.set(hash, item);
    else if (Array.isArray(found)) found.push(item);
    else this.buckets.set(hash, [found, item]);
    this.count++;
  }

  /** Removes `item` itself (not another item with equal labels); false when it was not held. */
  delete(item: T, hash: number = labelsHash(this.labelsOf(item))): boolean {
    const found = this.buckets.get(hash);
    if (found === item) this.buckets.delete(hash);
    else if (Array.isArray(found) && found.includes(item)) {
      const rest = found.filter((other) => other !== item);
      this.buckets.set(hash, rest.length === 1 ? (rest[0] as T) : rest);
    } else return false;
    this.count--;
    return true;
  }

  /** Every item held, in no particular order. */
  *values(): IterableIterator<T> {
    for (const found of this.buckets.values()) {
      if (Array.isArray(found)) yield* found;
      else yield found;
    }
  }

  get size(): number {
    return this.count;
  }

  clear(): void {
    this.buckets.clear();
    this.count = 0;
  }
}
