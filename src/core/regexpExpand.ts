const nameChar = /[\p{L}\p{Nd}_]/u;

/**
 * Expands `$1`, `${1}`, `$name`, `${name}` and `$$` in a template as Go's `Regexp.Expand` does (which
 * Prometheus uses): `$name` takes the longest run of letters, digits and `_`, so `$1x` means the group
 * named "1x" (empty); a malformed reference is kept as text.
 */
export function expandRegexpReplacement(template: string, match: RegExpExecArray): string {
  let out = '';
  let i = 0;
  while (i < template.length) {
    const dollar = template.indexOf('$', i);
    if (dollar < 0) return out + template.slice(i);
    out += template.slice(i, dollar);
    if (template[dollar + 1] === '$') {
      out += '$';
      i = dollar + 2;
      continue;
    }
    const ref = readReference(template, dollar + 1);
    if (ref === null) {
      out += '$';
      i = dollar + 1;
      continue;
    }
    out += groupValue(match, ref.name);
    i = ref.end;
  }
  return out;
}

function readReference(template: string, from: number): { name: string; end: number } | null {
  const braced = template[from] === '{';
  let i = braced ? from + 1 : from;
  const start = i;
  for (const c of template.slice(start)) {
    if (!nameChar.test(c)) break;
    i += c.length;
  }
  if (i === start) return null;
  const name = template.slice(start, i);
  if (!braced) return { name, end: i };
  return template[i] === '}' ? { name, end: i + 1 } : null;
}

function groupValue(match: RegExpExecArray, name: string): string {
  // Go reads a number only without leading zeros; "01" names a group that cannot exist.
  if (/^(0|[1-9]\d{0,8})$/.test(name)) return match[Number(name)] ?? '';
  return match.groups?.[name] ?? '';
}
