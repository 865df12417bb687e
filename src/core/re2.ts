/** The outcome of translating an RE2 pattern into JavaScript syntax. */
export type Re2Translation = { ok: true; source: string } | { ok: false; error: string };

const posixClasses: Record<string, string> = {
  alnum: '0-9A-Za-z',
  alpha: 'A-Za-z',
  ascii: '\\x00-\\x7F',
  blank: '\\t ',
  cntrl: '\\x00-\\x1F\\x7F',
  digit: '0-9',
  graph: '!-~',
  lower: 'a-z',
  print: ' -~',
  punct: '!-\\/:-@\\[-`{-~',
  space: '\\t\\n\\v\\f\\r ',
  upper: 'A-Z',
  word: '0-9A-Za-z_',
  xdigit: '0-9A-Fa-f',
};

function isLetter(c: string): boolean {
  return c.toLowerCase() !== c.toUpperCase();
}

function otherCase(c: string): string {
  const lower = c.toLowerCase();
  return lower === c ? c.toUpperCase() : lower;
}

function escapeForClass(c: string): string {
  return /[\\\]^-]/.test(c) ? `\\${c}` : c;
}

/**
 * Rewrites an RE2 (Go regexp) pattern into JavaScript regex source. JavaScript in Node 20 lacks inline flag
 * groups, so case-insensitive parts (`(?i)…`, `(?i:…)`) are expanded into explicit character classes;
 * `(?P<name>` becomes `(?<name>`, `\A`/`\z` become `^`/`$`, POSIX classes are spelled out.
 */
export function translateRe2(pattern: string): Re2Translation {
  let out = '';
  const frames: boolean[] = [];
  let ci = false;
  let i = 0;
  while (i < pattern.length) {
    const c = pattern[i] ?? '';
    if (c === '\\') {
      const next = pattern[i + 1];
      if (next === undefined) return { ok: false, error: 'trailing backslash at end of expression' };
      if (next === 'A') out += '^';
      else if (next === 'z') out += '$';
      else if (next === 'Q') {
        const end = pattern.indexOf('\\E', i + 2);
        const literal = pattern.slice(i + 2, end < 0 ? pattern.length : end);
        out += literal.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
        i = end < 0 ? pattern.length : end + 2;
        continue;
      } else out += `\\${next}`;
      i += 2;
      continue;
    }
    if (c === '[') {
      const cls = translateClass(pattern, i, ci);
      if (!cls.ok) return cls;
      out += cls.source;
      i = cls.end;
      continue;
    }
    if (c === '(') {
      const group = translateGroupOpen(pattern, i, ci);
      if (!group.ok) return group;
      i = group.end;
      if (group.flagsOnly) {
        ci = group.ci;
        continue;
      }
      frames.push(ci);
      ci = group.ci;
      out += group.source;
      continue;
    }
    if (c === ')') {
      if (frames.length === 0) return { ok: false, error: 'unexpected ): unbalanced parentheses' };
      ci = frames.pop() ?? false;
      out += ')';
      i++;
      continue;
    }
    out += ci && isLetter(c) ? `[${c}${otherCase(c)}]` : c;
    i++;
  }
  return { ok: true, source: out };
}

type GroupOpen =
  { ok: true; source: string; end: number; ci: boolean; flagsOnly: boolean } | { ok: false; error: string };

function translateGroupOpen(pattern: string, i: number, ci: boolean): GroupOpen {
  if (pattern[i + 1] !== '?') return { ok: true, source: '(', end: i + 1, ci, flagsOnly: false };
  const rest = pattern.slice(i + 2);
  const named = /^P?<(\w+)>/.exec(rest);
  if (named !== null)
    return { ok: true, source: `(?<${named[1]}>`, end: i + 2 + named[0].length, ci, flagsOnly: false };
  if (rest.startsWith(':')) return { ok: true, source: '(?:', end: i + 3, ci, flagsOnly: false };
  const flags = /^([imsU]*)(?:-([imsU]*))?([:)])/.exec(rest);
  if (flags === null)
    return { ok: false, error: `invalid or unsupported Perl syntax: (?${rest.slice(0, 2)}` };
  const [whole, on = '', off = '', close] = flags;
  if (on.includes('U') || off.includes('U') || on.includes('m') || off.includes('m')) {
    return { ok: false, error: 'the m and U flags are not supported yet' };
  }
  let next = ci;
  if (on.includes('i')) next = true;
  if (off.includes('i')) next = false;
  const end = i + 2 + whole.length;
  return close === ')'
    ? { ok: true, source: '', end, ci: next, flagsOnly: true }
    : { ok: true, source: '(?:', end, ci: next, flagsOnly: false };
}

type ClassResult = { ok: true; source: string; end: number } | { ok: false; error: string };

/** Copies a character class, spelling out POSIX classes and, when case-insensitive, both cases of letters. */
function translateClass(pattern: string, start: number, ci: boolean): ClassResult {
  let i = start + 1;
  let out = '[';
  if (pattern[i] === '^') {
    out += '^';
    i++;
  }
  let first = true;
  const extra: string[] = [];
  while (i < pattern.length) {
    const c = pattern[i] ?? '';
    if (c === ']' && !first) return { ok: true, source: `${out}${extra.join('')}]`, end: i + 1 };
    first = false;
    const posix = /^\[:(\^?)([a-z]+):\]/.exec(pattern.slice(i));
    if (posix !== null) {
      const cls = posixClasses[posix[2] ?? ''];
      if (cls === undefined || posix[1] === '^')
        return { ok: false, error: `invalid character class range: ${posix[0]}` };
      out += cls;
      i += posix[0].length;
      continue;
    }
    if (c === '\\') {
      out += pattern.slice(i, i + 2);
      i += 2;
      continue;
    }
    const isRange = pattern[i + 1] === '-' && pattern[i + 2] !== undefined && pattern[i + 2] !== ']';
    if (isRange) {
      const to = pattern[i + 2] ?? '';
      out += `${escapeForClass(c)}-${escapeForClass(to)}`;
      if (ci && isLetter(c) && isLetter(to))
        extra.push(`${escapeForClass(otherCase(c))}-${escapeForClass(otherCase(to))}`);
      i += 3;
      continue;
    }
    out += c === '[' ? '\\[' : c;
    if (ci && isLetter(c)) extra.push(otherCase(c));
    i++;
  }
  return { ok: false, error: `missing closing ]: ${pattern.slice(start)}` };
}

/** An RE2 pattern compiled as a fully anchored JavaScript RegExp, or why it does not compile. */
export type AnchoredRe2 = { ok: true; regex: RegExp } | { ok: false; error: string };

/**
 * Compiles an RE2 pattern anchored at both ends (`^(?:…)$`, dot matches newline), the way Prometheus applies
 * label-matcher and relabel regexes. Errors are worded as Prometheus words them (`error parsing regexp: …`).
 * No cache: callers that compile the same pattern often (the TSDB's matchers) keep their own.
 */
export function compileAnchoredRe2(pattern: string): AnchoredRe2 {
  const translated = translateRe2(pattern);
  if (!translated.ok) return { ok: false, error: `error parsing regexp: ${translated.error}` };
  try {
    return { ok: true, regex: new RegExp(`^(?:${translated.source})$`, 's') };
  } catch (error) {
    // V8 words it as "Invalid regular expression: /<source>/<flags>: <reason>"; keep only the reason.
    const message = error instanceof Error ? error.message : String(error);
    const reason = message.slice(message.lastIndexOf(': ') + 2);
    return { ok: false, error: `error parsing regexp: ${reason.toLowerCase()}: \`${pattern}\`` };
  }
}
