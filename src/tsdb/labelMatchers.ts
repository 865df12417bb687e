import { compareStrings, compileAnchoredRe2, InputError, sortedLabelNames } from '../core/index.js';
import type { AnchoredRe2, Labels } from '../core/index.js';
import type { LabelMatcher } from './SeriesReader.js';

/** A matcher ready to test label values; regular expressions are compiled once. */
export interface CompiledMatcher {
  readonly name: string;
  readonly matcher: LabelMatcher;
  /** Tests a label value; a missing label is tested as "". */
  matches(value: string): boolean;
}

/** The outcome of compiling a regular expression written in Prometheus (RE2) syntax. */
export type RegexResult = AnchoredRe2;

const regexCache = new Map<string, RegexResult>();
const regexCacheLimit = 2000;

/** {@link compileAnchoredRe2} with a cache, for matchers and label_replace evaluated again and again. */
export function compileAnchoredRegex(pattern: string): RegexResult {
  const cached = regexCache.get(pattern);
  if (cached) return cached;
  const result = compileAnchoredRe2(pattern);
  if (regexCache.size >= regexCacheLimit) regexCache.clear();
  regexCache.set(pattern, result);
  return result;
}

/** Compiles one matcher; an invalid regular expression is an InputError naming the matcher. */
export function compileMatcher(matcher: LabelMatcher): CompiledMatcher {
  const { name, type, value } = matcher;
  switch (type) {
    case '=':
      return { name, matcher, matches: (v) => v === value };
    case '!=':
      return { name, matcher, matches: (v) => v !== value };
    case '=~':
    case '!~': {
      const compiled = compileAnchoredRegex(value);
      if (!compiled.ok) {
        throw new InputError(
          'SWAS-TSDB-001',
          `invalid regular expression in matcher ${name}${type}${JSON.stringify(value)}: ${compiled.error}; fix the pattern (RE2 syntax)`,
        );
      }
      const regex = compiled.regex;
      return type === '=~'
        ? { name, matcher, matches: (v) => regex.test(v) }
        : { name, matcher, matches: (v) => !regex.test(v) };
    }
  }
}

/** True when every matcher accepts the label set (a missing label counts as the empty value). */
export function matchesAll(matchers: readonly CompiledMatcher[], labels: Labels): boolean {
  for (const m of matchers) if (!m.matches(labels[m.name] ?? '')) return false;
  return true;
}

/** Orders label sets as Prometheus does: pairwise by sorted label name, then value; a prefix sorts first. */
export function compareLabelSets(a: Labels, b: Labels): number {
  const an = sortedLabelNames(a);
  const bn = sortedLabelNames(b);
  const n = Math.min(an.length, bn.length);
  for (let i = 0; i < n; i++) {
    const na = an[i] ?? '';
    const nb = bn[i] ?? '';
    if (na !== nb) return compareStrings(na, nb);
    const c = compareStrings(a[na] ?? '', b[nb] ?? '');
    if (c !== 0) return c;
  }
  return an.length - bn.length;
}
