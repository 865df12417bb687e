import { describe, expect, it } from 'vitest';
import {
  compileAlertTemplates,
  expandAlertText,
  parseAlertTemplate,
  renderAlertTemplate,
  type AlertTemplateData,
  type AlertTemplateRenderOptions,
} from './alertTemplate.js';

const baseData: AlertTemplateData = {
  labels: { instance: 'web-1:9100', job: 'node' },
  value: 0,
  externalLabels: { cluster: 'eu1' },
  externalURL: 'http://testhost:9090/path/prefix',
};

async function render(
  text: string,
  data: Partial<AlertTemplateData> = {},
  options: Partial<AlertTemplateRenderOptions> = {},
): Promise<{ ok: true; value: string } | { ok: false; error: string }> {
  const parsed = parseAlertTemplate(text, 'test');
  if (!parsed.ok) return parsed;
  return renderAlertTemplate(parsed.template, { ...baseData, ...data }, { at: 0, ...options });
}

async function out(text: string, data: Partial<AlertTemplateData> = {}): Promise<string> {
  const result = await render(text, data);
  if (!result.ok) throw new Error(`expected ${text} to render, got: ${result.error}`);
  return result.value;
}

async function fails(text: string, data: Partial<AlertTemplateData> = {}): Promise<string> {
  const result = await render(text, data);
  if (result.ok) throw new Error(`expected ${text} to fail, got: ${result.value}`);
  return result.error;
}

describe('alert template syntax', () => {
  it('renders text, labels, value and the alert data as Prometheus does', async () => {
    expect(await out('plain text')).toBe('plain text');
    expect(await out('{{ 1 }}')).toBe('1');
    expect(await out('{{ $labels.instance }} of {{ .Labels.job }}')).toBe('web-1:9100 of node');
    expect(await out('{{ $value }} {{ .Value }}', { value: 1234567 })).toBe('1.234567e+06 1.234567e+06');
    expect(await out('{{ $value }}', { value: 0.5 })).toBe('0.5');
    expect(await out('{{ $value }}', { value: NaN })).toBe('NaN');
    expect(await out('{{ $externalLabels.cluster }} {{ $externalURL }} {{ .ExternalURL }}')).toBe(
      'eu1 http://testhost:9090/path/prefix http://testhost:9090/path/prefix',
    );
    expect(await out('[{{ $labels.missing }}]')).toBe('[]');
    expect(await out('{{ index $labels "job" }}')).toBe('node');
    expect(await out('{{ $.Labels.job }}')).toBe('node');
  });

  it('trims whitespace around {{- and -}} and drops comments', async () => {
    expect(await out('a  \n {{- "b" -}} \n  c')).toBe('abc');
    expect(await out('a {{/* a comment */}}b')).toBe('a b');
    expect(await out('a {{- /* trimmed */ -}} b')).toBe('ab');
    expect(await out('{{-3}}')).toBe('-3');
  });

  it('supports if / else if / else, with, range and variables', async () => {
    const tiers = '{{ if gt $value 10.0 }}high{{ else if gt $value 5.0 }}mid{{ else }}low{{ end }}';
    expect(await out(tiers, { value: 11 })).toBe('high');
    expect(await out(tiers, { value: 6 })).toBe('mid');
    expect(await out(tiers, { value: 1 })).toBe('low');
    expect(await out('{{ with $labels.job }}job={{ . }}{{ end }}')).toBe('job=node');
    expect(await out('{{ with $labels.nope }}x{{ else }}none{{ end }}')).toBe('none');
    expect(await out('{{ with $labels.nope }}x{{ else with $labels.job }}{{ . }}{{ end }}')).toBe('node');
    expect(await out('{{ "tab\\there \\u00e9 \\x41" }} {{ `raw \\n` }}')).toBe('tab\there é A raw \\n');
    expect(await out('{{ range $k, $v := $labels }}{{ $k }}={{ $v }};{{ end }}')).toBe(
      'instance=web-1:9100;job=node;',
    );
    expect(await out('{{ range $labels }}{{ . }},{{ end }}')).toBe('web-1:9100,node,');
    expect(await out('{{ $x := "a" }}{{ if true }}{{ $x = "b" }}{{ end }}{{ $x }}')).toBe('b');
    expect(
      await out('{{ range $i, $v := $labels }}{{ if eq $i "job" }}{{ break }}{{ end }}{{ $v }}{{ end }}'),
    ).toBe('web-1:9100');
    expect(await out('{{ range $labels }}x{{ else }}empty{{ end }}', { labels: {} })).toBe('empty');
    expect(await out('{{ range $i := 3 }}{{ if eq $i 1 }}{{ continue }}{{ end }}{{ $i }}{{ end }}')).toBe(
      '02',
    );
  });

  it('has Go comparison, logic and builtin functions', async () => {
    expect(
      await out('{{ eq $labels.job "node" "other" }} {{ ne 1 2 }} {{ lt "a" "b" }} {{ ge 2.5 2.5 }}'),
    ).toBe('true true true true');
    expect(
      await out('{{ and 1 0 }} {{ or 0 "" "x" }} {{ not true }} {{ len $labels }} {{ len "héllo" }}'),
    ).toBe('0 x false 2 6');
    expect(await out('{{ print 1 2 "a" "b" 3 }}|{{ println "x" 1 }}')).toBe('1 2ab3|x 1\n');
    expect(await out('{{ html "<a href=\'x\'>&</a>" }} {{ js "it\'s <b>" }} {{ urlquery "a b&c/d" }}')).toBe(
      "&lt;a href=&#39;x&#39;&gt;&amp;&lt;/a&gt; it\\'s \\u003Cb\\u003E a+b%26c%2Fd",
    );
    expect(await out('{{ "abc" | printf "%s-%s" "x" }}')).toBe('x-abc');
    expect(await out('{{ and false (index $labels "job" | eq "nope") }}')).toBe('false');
  });

  it('formats printf verbs like Go', async () => {
    expect(await out('{{ printf "%s %d %v %.2f %5.1f|%-4d|%04d" "a" 42 1.5 3.14159 2.25 7 -3 }}')).toBe(
      'a 42 1.5 3.14   2.2|7   |-003',
    );
    expect(
      await out('{{ printf "%g %g %e %q %x %X %t %%" 1e21 0.0001 1234.5678 "a\\"b" "hi" 255 true }}'),
    ).toBe('1e+21 0.0001 1.234568e+03 "a\\"b" 6869 FF true %');
    expect(await out('{{ printf "%d %s" "x" }}')).toBe('%!d(string=x) %!s(MISSING)');
    expect(await out('{{ printf "%d" 1 2 }}')).toBe('1%!(EXTRA int=2)');
    expect(await out('{{ printf "%T %T %T %T" $value 1 "s" $labels }}')).toBe(
      'float64 int string map[string]string',
    );
    expect(await out('{{ printf "%d|%s" $value $value }}', { value: 5 })).toBe(
      '%!d(float64=5)|%!s(float64=5)',
    );
    expect(await out('{{ printf "%.1f %.0f %.0f" 0.25 2.5 3.5 }}')).toBe('0.2 2 4');
  });
});

describe('Prometheus template functions', () => {
  const cases: [string, string][] = [
    ['{{ humanize 0.0 }}:{{ humanize 1.0 }}:{{ humanize 1234567.0 }}:{{ humanize .12 }}', '0:1:1.235M:120m'],
    ['{{ humanize "0.0" }}:{{ humanize "1234567.0" }}:{{ humanize ".12" }}', '0:1.235M:120m'],
    [
      '{{ humanize 0 }}:{{ humanize -1 }}:{{ humanize 1234567 }}:{{ humanize 9223372036854775807 }}',
      '0:-1:1.235M:9.223E',
    ],
    ['{{ humanize 0.000001234 }}:{{ humanize 1e30 }}', '1.234u:1e+06Y'],
    [
      '{{ humanize1024 0.0 }}:{{ humanize1024 1.0 }}:{{ humanize1024 1048576.0 }}:{{ humanize1024 .12 }}',
      '0:1:1Mi:0.12',
    ],
    [
      '{{ humanize1024 -1 }}:{{ humanize1024 1234567 }}:{{ humanize1024 9223372036854775807 }}',
      '-1:1.177Mi:8Ei',
    ],
    [
      '{{ humanizeDuration 0 }}:{{ humanizeDuration 1 }}:{{ humanizeDuration 60 }}:{{ humanizeDuration 3600 }}:{{ humanizeDuration 86400 }}:{{ humanizeDuration 90000 }}:{{ humanizeDuration -183845 }}:{{ humanizeDuration 899.99 }}',
      '0s:1s:1m 0s:1h 0m 0s:1d 0h 0m 0s:1d 1h 0m 0s:-2d 3h 4m 5s:14m 59s',
    ],
    [
      '{{ humanizeDuration .1 }}:{{ humanizeDuration .0001 }}:{{ humanizeDuration .12345 }}:{{ humanizeDuration 60.1 }}:{{ humanizeDuration 60.5 }}:{{ humanizeDuration 1.2345 }}:{{ humanizeDuration 12.345 }}',
      '100ms:100us:123.5ms:1m 0s:1m 0s:1.234s:12.35s',
    ],
    ['{{ humanizeDuration "3600" }}:{{ humanizeDuration 1234567 }}', '1h 0m 0s:14d 6h 56m 7s'],
    [
      '{{ -0.22222 | humanizePercentage }}:{{ 0.0 | humanizePercentage }}:{{ 0.1234567 | humanizePercentage }}:{{ 1.23456 | humanizePercentage }}',
      '-22.22%:0%:12.35%:123.5%',
    ],
    ['{{ humanizePercentage 1234567 }}:{{ humanizePercentage "0.5" }}', '1.235e+08%:50%'],
    [
      '{{ humanizeTimestamp 0 }}:{{ humanizeTimestamp -1 }}:{{ humanizeTimestamp 1234567 }}:{{ humanizeTimestamp 9223372036 }}',
      '1970-01-01 00:00:00 +0000 UTC:1969-12-31 23:59:59 +0000 UTC:1970-01-15 06:56:07 +0000 UTC:2262-04-11 23:47:16 +0000 UTC',
    ],
    [
      '{{ 1435065584.128 | humanizeTimestamp }}|{{ "1435065584.128" | humanizeTimestamp }}',
      '2015-06-23 13:19:44.128 +0000 UTC|2015-06-23 13:19:44.128 +0000 UTC',
    ],
    [
      '{{ (1435065584.128 | toTime).Format "2006" }} {{ (toTime "1435065584").Format "2006-01-02T15:04:05Z07:00" }}',
      '2015 2015-06-23T13:19:44Z',
    ],
    [
      '{{ "aa bb CC" | title }}:{{ "aa bb CC" | toUpper }}:{{ "aA bB CC" | toLower }}',
      'Aa Bb CC:AA BB CC:aa bb cc',
    ],
    ['{{ match "a+" "aa" }} {{ match "a+" "b" }} {{ match "(?i)^WEB" "web-1" }}', 'true false true'],
    [
      '{{ reReplaceAll "(a)b" "x$1" "ab" }} {{ reReplaceAll ":.*" "" $labels.instance }} {{ reReplaceAll "a*" "-" "baaac" }}',
      'xa web-1 -b-c-',
    ],
    ['{{ reReplaceAll "(?P<host>[^:]+):(?P<port>.*)" "${port}@$host" "h:1" }}', '1@h'],
    ['{{ "<b>" | safeHtml }}', '<b>'],
    [
      '{{ graphLink "up" }} {{ tableLink "rate(x[5m]) > 1" }}',
      'http://testhost:9090/path/prefix/graph?g0.expr=up&g0.tab=0 http://testhost:9090/path/prefix/graph?g0.expr=rate%28x%5B5m%5D%29+%3E+1&g0.tab=1',
    ],
    ['{{ printf "%0.2f" (parseDuration "1h2m10ms") }} {{ parseDuration "0" }}', '3720.01 0'],
    ['{{ externalURL }}', 'http://testhost:9090/path/prefix'],
    ['{{ (args 1 "2").arg0 }} {{ (args 1 "2").arg1 }}', '1 2'],
  ];
  it.each(cases)('%s', async (text, expected) => {
    expect(await out(text)).toBe(expected);
  });

  it('humanizes Inf and NaN as Go prints them', async () => {
    const t =
      '{{ humanize $value }}:{{ humanize1024 $value }}:{{ humanizeDuration $value }}:{{ humanizeTimestamp $value }}';
    expect(await out(t, { value: Infinity })).toBe('+Inf:+Inf:+Inf:+Inf');
    expect(await out(t, { value: -Infinity })).toBe('-Inf:-Inf:-Inf:-Inf');
    expect(await out(t, { value: NaN })).toBe('NaN:NaN:NaN:NaN');
    expect(await out('{{ humanize "+Inf" }}:{{ humanize "NaN" }}')).toBe('+Inf:NaN');
  });

  const hosts: [string, string, string][] = [
    ['foo.example.com', 'foo.example.com', 'foo'],
    ['foo.example.com:12345', 'foo.example.com', 'foo:12345'],
    ['192.0.2.1', '192.0.2.1', '192.0.2.1'],
    ['192.0.2.1:12345', '192.0.2.1', '192.0.2.1:12345'],
    ['2001:0DB8::1', '2001:0DB8::1', '2001:0DB8::1'],
    ['[2001:0DB8::1]:12345', '2001:0DB8::1', '[2001:0DB8::1]:12345'],
    ['[2001:0DB8::1]::12345', '[2001:0DB8::1]::12345', '[2001:0DB8::1]::12345'],
  ];
  it.each(hosts)('stripPort and stripDomain of %s', async (host, port, domain) => {
    expect(await out(`{{ "${host}" | stripPort }}|{{ "${host}" | stripDomain }}`)).toBe(`${port}|${domain}`);
  });
});

describe('alert template errors', () => {
  it('reports parse errors with line:column and what went wrong', () => {
    const error = (text: string): string => {
      const r = parseAlertTemplate(text, 'summary');
      return r.ok ? 'parsed' : r.error;
    };
    expect(error('{{ $value | humanise }}')).toBe('summary:1:13: function "humanise" not defined');
    expect(error('line one\n  {{ foo }}')).toBe('summary:2:6: function "foo" not defined');
    expect(error('{{')).toBe('summary:1:1: unclosed action');
    expect(error('{{ if true }}x')).toMatch(/^summary:1:15: unexpected EOF: \{\{if\}\} has no \{\{end\}\}$/);
    expect(error('{{ end }}')).toBe('summary:1:4: unexpected {{end}}');
    expect(error('{{ $nope }}')).toBe('summary:1:4: undefined variable "$nope"');
    expect(error('{{ "abc }}')).toBe('summary:1:4: unterminated quoted string');
    expect(error('{{ (1 }}')).toBe('summary:1:7: unclosed left paren');
    expect(error('{{ 1) }}')).toBe('summary:1:5: unexpected right paren');
    expect(error('{{ }}')).toBe('summary:1:4: missing value for command');
    expect(error('{{ 1 | 2 }}')).toBe('summary:1:8: non executable command in pipeline stage 2');
    expect(error('{{ nil }}')).toBe('summary:1:4: nil is not a command');
    expect(error('{{ break }}')).toBe('summary:1:4: {{break}} outside {{range}}');
    expect(error('{{ template "x" }}')).toMatch(/^summary:1:4: \{\{template\}\} is not supported/);
    expect(error('{{/* open')).toBe('summary:1:3: unclosed comment');
    expect(error('{{ 1 }')).toBe("summary:1:6: unrecognized character in action: U+007D '}'");
    expect(error('{{ $labels.a! }}')).toMatch(/^summary:1:13: bad character U\+0021 '!'$/);
    expect(error('{{ 1\u00a0}}')).toBe('summary:1:5: unrecognized character in action: U+00A0');
  });

  it('reports execution errors as results, never throwing, as Prometheus words them', async () => {
    expect(await fails('{{ humanize "one" }}')).toBe(
      'test:1:4: executing at <humanize "one">: error calling humanize: strconv.ParseFloat: parsing "one": invalid syntax',
    );
    expect(await fails('{{ "one" | humanizePercentage }}')).toMatch(
      /^test:1:12: executing at <humanizePercentage>: error calling humanizePercentage: strconv\.ParseFloat/,
    );
    expect(await fails('{{ humanizeTimestamp 1e300 }}')).toBe(
      'test:1:4: executing at <humanizeTimestamp 1e300>: error calling humanizeTimestamp: 1e+300 cannot be represented as a nanoseconds timestamp since it overflows int64',
    );
    expect(await fails('{{ gt $value 1 }}')).toMatch(/error calling gt: incompatible types for comparison$/);
    expect(await fails('{{ toUpper $value }}')).toMatch(
      /wrong type for value; expected string; got float64$/,
    );
    expect(await fails('{{ humanize 1 2 }}')).toMatch(/wrong number of args for humanize: want 1 got 2$/);
    expect(await fails('{{ .Nope }}')).toMatch(/can't evaluate field Nope in type struct/);
    expect(await fails('{{ index "ab" 5 }}')).toMatch(/error calling index: index out of range: 5$/);
    expect(await fails('{{ reReplaceAll "(" "" "x" }}')).toMatch(
      /error calling reReplaceAll: error parsing regexp "\("/,
    );
    expect(await fails('{{ parseDuration "5 minutes" }}')).toMatch(
      /not a valid duration string: "5 minutes"$/,
    );
    expect(await fails('{{ range 1.5 }}{{ end }}')).toMatch(/range can't iterate over 1\.5$/);
    expect(await fails('{{ range $labels.job }}{{ end }}')).toMatch(/range can't iterate over node$/);
    expect(await fails('{{ $value.x }}')).toMatch(/can't evaluate field x in type float64$/);
    expect(await fails('{{ $labels.job 1 }}')).toMatch(
      /job has arguments but cannot be invoked as function$/,
    );
  });

  it('stops a runaway range with an error instead of stalling the rule group', async () => {
    const slow = await render(
      '{{ range 100000000 }}{{ range 100000000 }}{{ end }}{{ end }}',
      {},
      { timeoutMs: 50 },
    );
    expect(slow.ok ? slow.value : slow.error).toMatch(
      /^test:1:\d+: executing at <100000000>: template took too long to execute/,
    );
    expect(await fails('{{ range 2000000 }}x{{ end }}')).toMatch(
      /template output is longer than 1000000 characters$/,
    );
  }, 30_000);

  it('collects every template error of a rule', () => {
    const result = compileAlertTemplates({
      summary: '{{ $labels.job }}',
      description: '{{ nope }}',
      runbook: '{{',
    });
    expect(result).toEqual({
      ok: false,
      errors: ['description:1:4: function "nope" not defined', 'runbook:1:1: unclosed action'],
    });
    const good = compileAlertTemplates({ summary: '{{ $value | humanize }}' });
    expect(good.ok && [...good.templates.keys()]).toEqual(['summary']);
  });

  it('expands label and annotation text as Prometheus does, with failures inside the text', async () => {
    const options = { at: 0 };
    expect(await expandAlertText('a {b} c', 'summary', baseData, options)).toBe('a {b} c');
    expect(await expandAlertText('cut {{', 'summary', baseData, options)).toBe(
      '<error expanding template: summary:1:5: unclosed action>',
    );
    expect(await expandAlertText('static', 'summary', baseData, options)).toBe('static');
    expect(
      await expandAlertText('{{ $labels.job }} {{ $value }}', 'summary', { ...baseData, value: 2 }, options),
    ).toBe('node 2');
    expect(await expandAlertText('{{ nope }}', 'summary', baseData, options)).toBe(
      '<error expanding template: summary:1:4: function "nope" not defined>',
    );
    expect(await expandAlertText('{{ humanize "x" }}', 'summary', baseData, options)).toMatch(
      /^<error expanding template: summary:1:4: executing at <humanize "x">: error calling humanize: /,
    );
  });
});
