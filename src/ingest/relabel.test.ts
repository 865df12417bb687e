import { describe, expect, it } from 'vitest';
import type { Labels } from '../core/index.js';
import { compileRelabelRules, hashMod, relabel } from './relabel.js';
import { RELABEL_DEFAULTS, relabelConfigProblem, type RelabelConfig } from '../config/index.js';

function cfg(partial: Partial<RelabelConfig>): RelabelConfig {
  return { ...RELABEL_DEFAULTS, source_labels: [], ...partial };
}

function run(input: Labels, configs: Partial<RelabelConfig>[]): Labels | null {
  const compiled = compileRelabelRules(configs.map(cfg));
  if (!compiled.ok) throw new Error(compiled.error);
  return relabel(input, compiled.rules);
}

// The cases come from Prometheus's model/relabel/relabel_test.go, so swas relabels as Prometheus does.
describe('relabel (Prometheus test cases)', () => {
  it('replace with ${1} references', () => {
    expect(
      run({ a: 'foo', b: 'bar', c: 'baz' }, [
        { source_labels: ['a'], regex: 'f(.*)', target_label: 'd', replacement: 'ch${1}-ch${1}' },
      ]),
    ).toEqual({ a: 'foo', b: 'bar', c: 'baz', d: 'choo-choo' });
  });

  it('chains replaces, each seeing the result of the one before, with joined source labels', () => {
    expect(
      run({ a: 'foo', b: 'bar', c: 'baz' }, [
        { source_labels: ['a', 'b'], regex: 'f(.*);(.*)r', target_label: 'a', replacement: 'b${1}${2}m' },
        { source_labels: ['c', 'a'], regex: '(b).*b(.*)ba(.*)', target_label: 'd', replacement: '$1$2$2$3' },
      ]),
    ).toEqual({ a: 'boobam', b: 'bar', c: 'baz', d: 'boooom' });
  });

  it('replace picks a capture group out of the middle of a value', () => {
    expect(
      run({ a: 'abc' }, [{ source_labels: ['a'], regex: '.*(b).*', target_label: 'd', replacement: '$1' }]),
    ).toEqual({ a: 'abc', d: 'b' });
  });

  it('drop: drops on a match of the whole value only (regex is anchored)', () => {
    expect(run({ a: 'foo' }, [{ source_labels: ['a'], regex: '.*o.*', action: 'drop' }])).toBeNull();
    expect(run({ a: 'foo' }, [{ source_labels: ['a'], regex: 'no-match', action: 'drop' }])).toEqual({
      a: 'foo',
    });
    expect(run({ a: 'foo' }, [{ source_labels: ['a'], regex: 'f|o', action: 'drop' }])).toEqual({ a: 'foo' });
  });

  it('keep: keeps only on a match', () => {
    expect(run({ a: 'foo' }, [{ source_labels: ['a'], regex: 'no-match', action: 'keep' }])).toBeNull();
    expect(run({ a: 'foo' }, [{ source_labels: ['a'], regex: 'f.*', action: 'keep' }])).toEqual({ a: 'foo' });
  });

  it('keep on a missing label matches against the empty string', () => {
    expect(run({ a: 'foo' }, [{ source_labels: ['b'], regex: '', action: 'keep' }])).toEqual({ a: 'foo' });
    expect(run({ a: 'foo' }, [{ source_labels: ['b'], regex: '.+', action: 'keep' }])).toBeNull();
  });

  it('replace does nothing when the regex does not match', () => {
    expect(
      run({ a: 'boo' }, [{ source_labels: ['a'], regex: 'f', target_label: 'b', replacement: 'bar' }]),
    ).toEqual({ a: 'boo' });
  });

  it('replace with an empty result deletes the target label', () => {
    expect(
      run({ a: 'foo', f: 'baz' }, [
        { source_labels: ['a'], regex: '(f).*', target_label: '$1', replacement: '$2' },
      ]),
    ).toEqual({ a: 'foo' });
  });

  it('hashmod takes the MD5 of the value modulo the modulus', () => {
    expect(
      run({ a: 'foo', b: 'bar', c: 'baz' }, [
        { source_labels: ['c'], target_label: 'd', action: 'hashmod', modulus: 1000 },
      ]),
    ).toEqual({ a: 'foo', b: 'bar', c: 'baz', d: '976' });
    expect(
      run({ a: 'foo\nbar' }, [{ source_labels: ['a'], target_label: 'b', action: 'hashmod', modulus: 1000 }]),
    ).toEqual({ a: 'foo\nbar', b: '734' });
    expect(hashMod('anything', 1)).toBe(0);
  });

  it('labelmap copies matching labels under new names', () => {
    expect(
      run({ a: 'foo', b1: 'bar', b2: 'baz' }, [
        { regex: '(b.*)', replacement: 'bar_${1}', action: 'labelmap' },
      ]),
    ).toEqual({
      a: 'foo',
      b1: 'bar',
      b2: 'baz',
      bar_b1: 'bar',
      bar_b2: 'baz',
    });
    expect(
      run({ a: 'foo', __meta_my_bar: 'aaa', __meta_my_baz: 'bbb', __meta_other: 'ccc' }, [
        { regex: '__meta_(my.*)', replacement: '${1}', action: 'labelmap' },
      ]),
    ).toEqual({
      a: 'foo',
      __meta_my_bar: 'aaa',
      __meta_my_baz: 'bbb',
      __meta_other: 'ccc',
      my_bar: 'aaa',
      my_baz: 'bbb',
    });
  });

  it('target_label with references writes the label a group names', () => {
    const regex = 'some-([^-]+)-([^,]+)';
    expect(
      run({ a: 'some-name-value' }, [
        { source_labels: ['a'], regex, replacement: '${2}', target_label: '${1}' },
      ]),
    ).toEqual({ a: 'some-name-value', name: 'value' });
    expect(
      run({ a: 'some-name-value' }, [
        { source_labels: ['a'], regex, replacement: '${3}', target_label: '${1}' },
      ]),
    ).toEqual({ a: 'some-name-value' });
    // An expanded target that is not a label name is skipped, not an error.
    expect(
      run({ a: 'some-name-0' }, [
        { source_labels: ['a'], regex, replacement: '${1}', target_label: '${3}' },
        { source_labels: ['a'], regex, replacement: '${1}', target_label: '${2}' },
      ]),
    ).toEqual({ a: 'some-name-0' });
  });

  it('a real-life chain: path, job and a label out of one SD tag list', () => {
    const tags = 'path:/secret,job:some-job,label:foo=bar';
    expect(
      run({ __meta_sd_tags: tags }, [
        {
          source_labels: ['__meta_sd_tags'],
          regex: '(?:.+,|^)path:(/[^,]+).*',
          replacement: '${1}',
          target_label: '__metrics_path__',
        },
        {
          source_labels: ['__meta_sd_tags'],
          regex: '(?:.+,|^)job:([^,]+).*',
          replacement: '${1}',
          target_label: 'job',
        },
        {
          source_labels: ['__meta_sd_tags'],
          regex: '(?:.+,|^)label:([^=]+)=([^,]+).*',
          replacement: '${2}',
          target_label: '${1}',
        },
      ]),
    ).toEqual({ __meta_sd_tags: tags, __metrics_path__: '/secret', job: 'some-job', foo: 'bar' });
  });

  it('labelkeep and labeldrop match label names', () => {
    const input = { a: 'foo', b1: 'bar', b2: 'baz' };
    expect(run(input, [{ regex: '(b.*)', action: 'labelkeep' }])).toEqual({ b1: 'bar', b2: 'baz' });
    expect(run(input, [{ regex: '(b.*)', action: 'labeldrop' }])).toEqual({ a: 'foo' });
  });

  it('lowercase and uppercase', () => {
    expect(
      run({ foo: 'bAr123Foo' }, [
        { source_labels: ['foo'], action: 'uppercase', target_label: 'foo_uppercase' },
        { source_labels: ['foo'], action: 'lowercase', target_label: 'foo_lowercase' },
      ]),
    ).toEqual({ foo: 'bAr123Foo', foo_lowercase: 'bar123foo', foo_uppercase: 'BAR123FOO' });
  });

  it('keepequal and dropequal compare the source value with the target label', () => {
    const input = { __tmp_port: '1234', __port1: '1234', __port2: '5678' };
    const on = (action: 'keepequal' | 'dropequal', target: string) =>
      run(input, [{ source_labels: ['__tmp_port'], action, target_label: target }]);
    expect(on('keepequal', '__port1')).toEqual(input);
    expect(on('dropequal', '__port1')).toBeNull();
    expect(on('dropequal', '__port2')).toEqual(input);
    expect(on('keepequal', '__port2')).toBeNull();
  });

  it('regex matches across newlines and supports RE2 spellings', () => {
    expect(run({ a: 'x\ny' }, [{ source_labels: ['a'], regex: 'x.y', action: 'keep' }])).toEqual({
      a: 'x\ny',
    });
    expect(
      run({ a: 'web-1' }, [
        {
          source_labels: ['a'],
          regex: '(?P<role>[a-z]+)-\\d+',
          target_label: 'role',
          replacement: '${role}',
        },
      ]),
    ).toEqual({ a: 'web-1', role: 'web' });
  });

  it('no rules returns the input unchanged', () => {
    const input = { a: '1' };
    expect(relabel(input, [])).toBe(input);
  });
});

describe('relabelConfigProblem (load-time checks)', () => {
  const problem = (partial: Partial<RelabelConfig>) => relabelConfigProblem(cfg(partial));

  it('accepts Prometheus defaults', () => {
    expect(problem({ target_label: 'x' })).toBeNull();
    expect(problem({ action: 'labeldrop', regex: 'tmp_.*' })).toBeNull();
  });

  it('refuses a regex that does not compile, naming the field', () => {
    expect(problem({ target_label: 'x', regex: '(unclosed' })).toMatchObject({
      field: 'regex',
      message: expect.stringContaining('error parsing regexp') as unknown,
    });
  });

  it('needs target_label for replace, hashmod, lowercase, uppercase, keepequal and dropequal', () => {
    for (const action of ['replace', 'lowercase', 'uppercase', 'keepequal', 'dropequal'] as const) {
      expect(problem({ action })).toEqual({
        field: 'target_label',
        message: `action ${action} needs a target_label`,
      });
    }
    expect(problem({ action: 'hashmod', modulus: 4 })?.field).toBe('target_label');
  });

  it('needs a modulus for hashmod', () => {
    expect(problem({ action: 'hashmod', target_label: 'shard' })).toEqual({
      field: 'modulus',
      message: 'action hashmod needs a modulus above 0',
    });
  });

  it('refuses target labels that cannot be label names', () => {
    expect(problem({ target_label: 'bad-name' })?.field).toBe('target_label');
    expect(problem({ target_label: '${1}_ok' })).toBeNull();
    expect(problem({ target_label: '${1}-${2}' })?.field).toBe('target_label');
    expect(problem({ action: 'lowercase', target_label: '${1}' })?.field).toBe('target_label');
    expect(problem({ action: 'labelmap', replacement: 'a-b' })?.field).toBe('replacement');
  });

  it('refuses fields an action does not use', () => {
    expect(problem({ action: 'labeldrop', source_labels: ['a'] })?.field).toBe('source_labels');
    expect(problem({ action: 'labelkeep', target_label: 'a' })?.field).toBe('target_label');
    expect(problem({ action: 'keepequal', target_label: 'a', regex: 'x' })?.field).toBe('regex');
    expect(problem({ action: 'uppercase', target_label: 'a', replacement: 'x' })?.field).toBe('replacement');
  });

  it('compileRelabelRules reports the first bad config with its position', () => {
    const result = compileRelabelRules([
      cfg({ target_label: 'a' }),
      cfg({ action: 'hashmod', target_label: 'b' }),
    ]);
    expect(result).toEqual({
      ok: false,
      error: 'relabel config 2, field modulus: action hashmod needs a modulus above 0',
    });
  });
});
