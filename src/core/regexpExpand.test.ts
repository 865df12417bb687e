import { describe, expect, it } from 'vitest';
import { expandRegexpReplacement } from './regexpExpand.js';

describe('expandRegexpReplacement (Go Regexp.Expand rules)', () => {
  const match = /^(?<host>[a-z]+):(\d+)$/.exec('web:8080');
  if (match === null) throw new Error('test regex must match');

  it('expands numbered and named groups, braced or not', () => {
    expect(expandRegexpReplacement('$1 ${2} $host ${host}', match)).toBe('web 8080 web web');
  });

  it('reads the longest name, so $1_x names a group that does not exist', () => {
    expect(expandRegexpReplacement('$1_x', match)).toBe('');
    expect(expandRegexpReplacement('${1}_x', match)).toBe('web_x');
  });

  it('keeps $$ as $ and malformed references as text', () => {
    expect(expandRegexpReplacement('$$1 $ ${1 $-', match)).toBe('$1 $ ${1 $-');
  });

  it('treats leading zeros and missing groups as empty', () => {
    expect(expandRegexpReplacement('[$01][$9][$nope]', match)).toBe('[][][]');
  });
});

describe('expandRegexpReplacement as label_replace uses it', () => {
  const match = /^(?<host>[^:]+):(\d+)$/.exec('web-1:8080') as RegExpExecArray;
  it('expands groups like Go regexp.Expand', () => {
    expect(expandRegexpReplacement('$1/$2', match)).toBe('web-1/8080');
    expect(expandRegexpReplacement('${2}x $2x $$ $host ${host}', match)).toBe('8080x  $ web-1 web-1');
    expect(expandRegexpReplacement('$9 $ end', match)).toBe(' $ end');
  });
});
