/** One step of a JSON path: an object key or an array index. */
export type JsonPathSegment = { readonly key: string } | { readonly index: number };

/** A parsed JSON path, or why the text is not one. */
export type JsonPathParse =
  | { readonly ok: true; readonly segments: readonly JsonPathSegment[] }
  | { readonly ok: false; readonly error: string };

/** What a JSON path found in a document. */
export type JsonPathLookup = { readonly found: true; readonly value: unknown } | { readonly found: false };

const HOW_TO_WRITE = "write it like $.status, $.items[0].name or $['key with spaces']";
const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$-]*/;

/**
 * Parses the small JSONPath subset probes accept: `$`, `.key`, `[n]`, `['key']` and `["key"]`.
 * No wildcards, filters or slices: a probe assertion names exactly one value.
 */
export function parseJsonPath(text: string): JsonPathParse {
  if (!text.startsWith('$'))
    return { ok: false, error: `JSON path "${text}" must start with $; ${HOW_TO_WRITE}` };
  const segments: JsonPathSegment[] = [];
  let rest = text.slice(1);
  while (rest !== '') {
    const step = parseSegment(rest);
    if (step === null) {
      const at = text.length - rest.length;
      return {
        ok: false,
        error: `JSON path "${text}" is not understood at position ${at} ("${rest}"); ${HOW_TO_WRITE}`,
      };
    }
    segments.push(step.segment);
    rest = rest.slice(step.length);
  }
  return { ok: true, segments };
}

function parseSegment(rest: string): { segment: JsonPathSegment; length: number } | null {
  if (rest.startsWith('.')) {
    const name = IDENTIFIER.exec(rest.slice(1))?.[0];
    return name === undefined ? null : { segment: { key: name }, length: name.length + 1 };
  }
  const index = /^\[(\d+)\]/.exec(rest);
  if (index) return { segment: { index: Number(index[1]) }, length: index[0].length };
  const quoted = /^\[(['"])((?:\\.|(?!\1).)*)\1\]/.exec(rest);
  if (quoted) {
    const key = (quoted[2] ?? '').replace(/\\(.)/g, '$1');
    return { segment: { key }, length: quoted[0].length };
  }
  return null;
}

/** Looks a parsed path up in a JSON value. */
export function lookupJsonPath(document: unknown, segments: readonly JsonPathSegment[]): JsonPathLookup {
  let current: unknown = document;
  for (const segment of segments) {
    if ('index' in segment) {
      if (!Array.isArray(current) || segment.index >= current.length) return { found: false };
      current = current[segment.index] as unknown;
    } else {
      if (current === null || typeof current !== 'object' || Array.isArray(current)) return { found: false };
      if (!Object.hasOwn(current, segment.key)) return { found: false };
      current = (current as Record<string, unknown>)[segment.key];
    }
  }
  return { found: true, value: current };
}
