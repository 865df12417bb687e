import { labelsKey, type Labels } from '../core/index.js';
import { CHAR_BACKSLASH, CHAR_CLOSE_BRACE, CHAR_QUOTE } from './expositionTokens.js';

const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 0x01000193;

/** FNV-1a over `text[start, end)`, continuing from `seed`. */
export function hashRange(text: string, start: number, end: number, seed: number = FNV_OFFSET): number {
  let hash = seed;
  for (let i = start; i < end; i++) hash = Math.imul(hash ^ text.charCodeAt(i), FNV_PRIME);
  return hash;
}

/**
 * The hash of one `name="value"` pair from its raw text ranges. Escapes have one spelling each, so equal
 * values always have equal raw text; pairs are summed by the caller so label order does not matter.
 */
export function labelPairHash(
  text: string,
  nameStart: number,
  nameEnd: number,
  valueStart: number,
  valueEnd: number,
): number {
  const nameHash = hashRange(text, nameStart, nameEnd);
  return finalMix(hashRange(text, valueStart, valueEnd, Math.imul(nameHash ^ 0xff, FNV_PRIME)));
}

/** MurmurHash3's finaliser: without it, sums of FNV hashes of near-equal strings collide often. */
export function finalMix(hash: number): number {
  let h = hash ^ (hash >>> 16);
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return h ^ (h >>> 16);
}

function sameLabels(a: Labels, b: Labels): boolean {
  const names = Object.keys(a);
  if (names.length !== Object.keys(b).length) return false;
  for (const name of names) if (a[name] !== b[name]) return false;
  return true;
}

/**
 * The series of one body, to reject duplicates. Keyed by a hash computed while parsing, because
 * building and hashing a canonical string key per sample was most of the parser's time.
 */
export class SeriesSet {
  private readonly byHash = new Map<number, Labels>();
  // Distinct series whose hash collided with another's; rare, so the exact key is affordable here.
  private readonly collided = new Set<string>();

  /** Adds a series; false when the body already had it. */
  add(hash: number, labels: Labels): boolean {
    const first = this.byHash.get(hash);
    if (first === undefined) {
      this.byHash.set(hash, labels);
      return true;
    }
    if (sameLabels(first, labels)) return false;
    const key = labelsKey(labels);
    if (this.collided.has(key)) return false;
    this.collided.add(key);
    return true;
  }
}

/**
 * The index after the `}` closing a label block whose content starts at `from`, skipping quoted values
 * with their escapes as the full parser does; -1 when the line ends first.
 */
export function labelBlockEnd(text: string, from: number, end: number): number {
  let quoted = false;
  for (let i = from; i < end; i++) {
    const c = text.charCodeAt(i);
    if (quoted) {
      if (c === CHAR_BACKSLASH) i++;
      else if (c === CHAR_QUOTE) quoted = false;
    } else if (c === CHAR_QUOTE) quoted = true;
    else if (c === CHAR_CLOSE_BRACE) return i + 1;
  }
  return -1;
}
