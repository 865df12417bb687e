/** How a matcher compares a label: as Alertmanager's matchers (regexes fully anchored, RE2 syntax). */
export type MatchType = '=' | '!=' | '=~' | '!~';

/** One label condition; a silence or inhibition rule applies to an alert when all its matchers hold. */
export interface AlertMatcher {
  readonly name: string;
  readonly type: MatchType;
  readonly value: string;
}

/** The outcome of parsing a matcher list. */
export type MatchersParse = { ok: true; matchers: AlertMatcher[] } | { ok: false; error: string };

const labelName = /^[a-zA-Z_][a-zA-Z0-9_]*/;
const escapes: Record<string, string> = { n: '\n', t: '\t', r: '\r', '\\': '\\', '"': '"' };
const quoted: Record<string, string> = { '\\': '\\\\', '"': '\\"', '\n': '\\n', '\t': '\\t', '\r': '\\r' };

/**
 * Parses matchers as Alertmanager writes them: `alertname="HostDown", instance=~"web-.*"`, optionally inside
 * `{…}`. Values are double-quoted with Go escapes (`\"`, `\\`, `\n`, `\t`); an unquoted value runs to the
 * next comma. Errors name the character position (1-based) and what was expected.
 */
export function parseMatchers(text: string): MatchersParse {
  let s = text.trim();
  let offset = text.length - text.trimStart().length;
  if (s.startsWith('{')) {
    if (!s.endsWith('}')) return fail(offset + s.length, 'missing "}" at the end of the matcher list');
    s = s.slice(1, -1);
    offset += 1;
  }
  const matchers: AlertMatcher[] = [];
  let i = 0;
  const skipSpace = (): void => {
    while (i < s.length && /\s/.test(s[i] ?? '')) i += 1;
  };
  skipSpace();
  while (i < s.length) {
    const name = labelName.exec(s.slice(i))?.[0];
    if (name === undefined) return fail(offset + i, `expected a label name, found "${s.slice(i, i + 10)}"`);
    i += name.length;
    skipSpace();
    const type = (['=~', '!~', '!=', '='] as const).find((op) => s.startsWith(op, i));
    if (type === undefined)
      return fail(offset + i, `expected one of =, !=, =~, !~ after "${name}", found "${s.slice(i, i + 5)}"`);
    i += type.length;
    skipSpace();
    let value = '';
    if (s[i] === '"') {
      i += 1;
      let closed = false;
      while (i < s.length) {
        const c = s[i] ?? '';
        if (c === '"') {
          closed = true;
          i += 1;
          break;
        }
        if (c === '\\') {
          const e = escapes[s[i + 1] ?? ''];
          if (e === undefined)
            return fail(offset + i, `unknown escape "\\${s[i + 1] ?? ''}" in the value of "${name}"`);
          value += e;
          i += 2;
          continue;
        }
        value += c;
        i += 1;
      }
      if (!closed) return fail(offset + i, `the value of "${name}" has no closing quote`);
    } else {
      const end = s.indexOf(',', i);
      value = s.slice(i, end < 0 ? s.length : end).trim();
      // `a=="x"` or `a=x"y"` is a typo, not the value `="x"`: only plain words go unquoted.
      if (value.includes('"') || /^[=~!]/.test(value)) {
        return fail(
          offset + i,
          `the value ${JSON.stringify(value)} of "${name}" needs quotes; write ${name}${type}"…" with one operator`,
        );
      }
      i = end < 0 ? s.length : end;
    }
    matchers.push({ name, type, value });
    skipSpace();
    if (i < s.length) {
      if (s[i] !== ',') return fail(offset + i, `expected "," between matchers, found "${s[i] ?? ''}"`);
      i += 1;
      skipSpace();
    }
  }
  if (matchers.length === 0)
    return { ok: false, error: 'no matchers given; write e.g. alertname="HostDown"' };
  return { ok: true, matchers };
}

/** Writes matchers back in the syntax {@link parseMatchers} reads. */
export function formatMatchers(matchers: readonly AlertMatcher[]): string {
  return matchers.map((m) => `${m.name}${m.type}${quoteValue(m.value)}`).join(', ');
}

// Not JSON.stringify: it writes \b, \f and \u00XX, which parseMatchers does not read back.
function quoteValue(value: string): string {
  return `"${value.replace(/[\\"\n\t\r]/g, (c) => quoted[c] ?? c)}"`;
}

function fail(position: number, message: string): MatchersParse {
  return { ok: false, error: `at character ${position + 1}: ${message}` };
}
