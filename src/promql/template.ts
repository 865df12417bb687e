/**
 * Expands `$1`, `${1}`, `$name`, `${name}` and `$$` in a replacement as Go's regexp.Expand does: a name is
 * the longest run of letters, digits and underscores (so `$1x` means group "1x"), and unknown groups expand
 * to nothing.
 */
export function expandTemplate(template: string, match: RegExpExecArray): string {
  let out = '';
  let i = 0;
  while (i < template.length) {
    const dollar = template.indexOf('$', i);
    if (dollar < 0) {
      out += template.slice(i);
      break;
    }
    out += template.slice(i, dollar);
    const rest = template.slice(dollar + 1);
    if (rest.startsWith('$')) {
      out += '$';
      i = dollar + 2;
      continue;
    }
    const braced = /^\{(\w+)\}/.exec(rest);
    const bare = braced === null ? /^\w+/.exec(rest) : null;
    const name = braced?.[1] ?? bare?.[0];
    if (name === undefined) {
      out += '$';
      i = dollar + 1;
      continue;
    }
    out += groupValue(match, name);
    i = dollar + 1 + (braced?.[0].length ?? bare?.[0].length ?? 0);
  }
  return out;
}

function groupValue(match: RegExpExecArray, name: string): string {
  if (/^\d+$/.test(name)) {
    const index = Number(name);
    return index < match.length ? (match[index] ?? '') : '';
  }
  return match.groups?.[name] ?? '';
}
