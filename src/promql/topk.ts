import type { Sample, SeriesHead, Vector } from './values.js';

type Less = (a: number, b: number) => boolean;

// Same orderings as Prometheus's vectorByValueHeap / vectorByReverseValueHeap: NaN counts as "less".
const ascending: Less = (a, b) => Number.isNaN(a) || a < b;
const descending: Less = (a, b) => Number.isNaN(a) || a > b;

/** A binary heap with Go's container/heap algorithm, so ties resolve as they do in Prometheus. */
class GoHeap {
  readonly items: Sample[] = [];
  constructor(private readonly less: Less) {}

  private lessAt(i: number, j: number): boolean {
    return this.less(this.items[i]?.v ?? NaN, this.items[j]?.v ?? NaN);
  }

  private swap(i: number, j: number): void {
    const a = this.items[i];
    const b = this.items[j];
    if (a === undefined || b === undefined) return;
    this.items[i] = b;
    this.items[j] = a;
  }

  push(s: Sample): void {
    this.items.push(s);
    this.up(this.items.length - 1);
  }

  /** Replaces the root and restores the heap order. */
  replaceRoot(s: Sample): void {
    this.items[0] = s;
    this.down(0, this.items.length);
  }

  private up(j: number): void {
    while (j > 0) {
      const i = Math.floor((j - 1) / 2);
      if (i === j || !this.lessAt(j, i)) break;
      this.swap(i, j);
      j = i;
    }
  }

  private down(i0: number, n: number): void {
    let i = i0;
    for (;;) {
      const j1 = 2 * i + 1;
      if (j1 >= n || j1 < 0) break;
      let j = j1;
      const j2 = j1 + 1;
      if (j2 < n && this.lessAt(j2, j1)) j = j2;
      if (!this.lessAt(j, i)) break;
      this.swap(i, j);
      i = j;
    }
  }
}

/**
 * topk/bottomk over one step: the k largest (or smallest) samples of each group, groups in order of first
 * appearance, each group's samples from the top down. Samples keep their own labels.
 */
export function selectK(vec: Vector, k: number, top: boolean, groupOf: (head: SeriesHead) => number): Vector {
  const heaps = new Map<number, GoHeap>();
  // topk keeps the smallest kept element at the root, bottomk the largest.
  const less = top ? ascending : descending;
  for (const s of vec) {
    const g = groupOf(s.head);
    let heap = heaps.get(g);
    if (heap === undefined) {
      heap = new GoHeap(less);
      heaps.set(g, heap);
      heap.push(s);
      continue;
    }
    if (heap.items.length < k) {
      heap.push(s);
      continue;
    }
    const root = heap.items[0]?.v ?? NaN;
    const better = top ? root < s.v : root > s.v;
    if (better || (Number.isNaN(root) && !Number.isNaN(s.v))) heap.replaceRoot(s);
  }
  const out: Vector = [];
  for (const heap of heaps.values()) {
    // Reverse heap order: best first, NaN last.
    const sorted = [...heap.items].sort((a, b) => (less(b.v, a.v) ? -1 : less(a.v, b.v) ? 1 : 0));
    out.push(...sorted);
  }
  return out;
}
