import { describe, expect, it } from 'vitest';
import { isStaleNaN, type Labels } from '../core/index.js';
import { parseExposition, type ExpositionResult, type ParsedSample } from './exposition.js';
import { SeriesSet } from './expositionSeries.js';

function samplesOf(result: ExpositionResult): ParsedSample[] {
  if (!result.ok) throw new Error(`expected the body to parse, got: ${result.error.message}`);
  return result.samples;
}

function valueOf(result: ExpositionResult, labels: Labels): number | undefined {
  return samplesOf(result).find((s) => JSON.stringify(s.labels) === JSON.stringify(labels))?.value;
}

function errorOf(text: string, options?: Parameters<typeof parseExposition>[1]) {
  const result = parseExposition(text, options);
  if (result.ok) throw new Error('expected the body to be rejected');
  return result.error;
}

// The example from the Prometheus exposition format documentation.
const prometheusDocsExample = String.raw`# HELP http_requests_total The total number of HTTP requests.
# TYPE http_requests_total counter
http_requests_total{method="post",code="200"} 1027 1395066363000
http_requests_total{method="post",code="400"}    3 1395066363000

# Escaping in label values:
msdos_file_access_time_seconds{path="C:\\DIR\\FILE.TXT",error="Cannot find file:\n\"FILE.TXT\""} 1.458255915e9

# Minimalistic line:
metric_without_timestamp_and_labels 12.47

# A weird metric from before the epoch:
something_weird{problem="division by zero"} +Inf -3982045

# A histogram, which has a pretty complex representation in the text format:
# HELP http_request_duration_seconds A histogram of the request duration.
# TYPE http_request_duration_seconds histogram
http_request_duration_seconds_bucket{le="0.05"} 24054
http_request_duration_seconds_bucket{le="0.1"} 33444
http_request_duration_seconds_bucket{le="+Inf"} 144320
http_request_duration_seconds_sum 53423
http_request_duration_seconds_count 144320

# Finally a summary, which has a complex representation, too:
# HELP rpc_duration_seconds A summary of the RPC duration in seconds.
# TYPE rpc_duration_seconds summary
rpc_duration_seconds{quantile="0.01"} 3102
rpc_duration_seconds{quantile="0.5"} 4773
rpc_duration_seconds_sum 1.7560473e+07
rpc_duration_seconds_count 2693
`;

// Shaped like node_exporter output, including escapes in HELP text and label values.
const nodeExporterStyle = String.raw`# HELP node_filesystem_avail_bytes Filesystem space available to non-root users in bytes.
# TYPE node_filesystem_avail_bytes gauge
node_filesystem_avail_bytes{device="/dev/sda1",fstype="ext4",mountpoint="/"} 4.2893944832e+10
node_filesystem_avail_bytes{device="C:\\",fstype="ntfs",mountpoint="/mnt/c"} 1.23e+11
# HELP node_uname_info Labeled system information as provided by the uname system call.
# TYPE node_uname_info gauge
node_uname_info{domainname="(none)",machine="x86_64",nodename="web-1",release="6.1.0-18-amd64",sysname="Linux",version="#1 SMP PREEMPT_DYNAMIC Debian 6.1.76-1 (2024-02-01)"} 1
# HELP node_textfile_mtime_seconds Unixtime mtime of textfiles successfully read.\nSecond line with a backslash \\ here.
# TYPE node_textfile_mtime_seconds gauge
node_textfile_mtime_seconds{file="/var/lib/node_exporter/\"quoted\".prom"} 1.700000000123e+09
# HELP node_scrape_collector_success node_exporter: Whether a collector succeeded.
# TYPE node_scrape_collector_success gauge
node_scrape_collector_success{collector="cpu"} 1
node_scrape_collector_success{collector="zfs"} 0
# HELP process_start_time_seconds Start time of the process since unix epoch in seconds.
# TYPE process_start_time_seconds gauge
process_start_time_seconds 1.70000000012e+09
`;

describe('parseExposition: good bodies', () => {
  it('parses the example from the Prometheus documentation', () => {
    const result = parseExposition(prometheusDocsExample);
    const samples = samplesOf(result);
    expect(samples).toHaveLength(14);
    expect(samples[0]).toEqual({
      labels: { __name__: 'http_requests_total', method: 'post', code: '200' },
      value: 1027,
      timestampMs: 1395066363000,
    });
    expect(samples[2]?.labels).toEqual({
      __name__: 'msdos_file_access_time_seconds',
      path: 'C:\\DIR\\FILE.TXT',
      error: 'Cannot find file:\n"FILE.TXT"',
    });
    expect(samples[2]?.value).toBe(1.458255915e9);
    expect(samples[3]).toEqual({ labels: { __name__: 'metric_without_timestamp_and_labels' }, value: 12.47 });
    expect(samples[4]).toEqual({
      labels: { __name__: 'something_weird', problem: 'division by zero' },
      value: Infinity,
      timestampMs: -3982045,
    });
    expect(valueOf(result, { __name__: 'rpc_duration_seconds_sum' })).toBe(17560473);
    if (!result.ok) return;
    expect(result.metadata.get('http_requests_total')).toEqual({
      type: 'counter',
      help: 'The total number of HTTP requests.',
      unit: '',
    });
    expect(result.metadata.get('http_request_duration_seconds')?.type).toBe('histogram');
    expect(result.metadata.get('rpc_duration_seconds')?.type).toBe('summary');
  });

  it('parses node_exporter-style output with escapes in HELP and label values', () => {
    const result = parseExposition(nodeExporterStyle);
    expect(samplesOf(result)).toHaveLength(7);
    expect(
      valueOf(result, {
        __name__: 'node_filesystem_avail_bytes',
        device: 'C:\\',
        fstype: 'ntfs',
        mountpoint: '/mnt/c',
      }),
    ).toBe(1.23e11);
    const uname = samplesOf(result).find((s) => s.labels.__name__ === 'node_uname_info');
    expect(uname?.labels.version).toBe('#1 SMP PREEMPT_DYNAMIC Debian 6.1.76-1 (2024-02-01)');
    const textfile = samplesOf(result).find((s) => s.labels.__name__ === 'node_textfile_mtime_seconds');
    expect(textfile?.labels.file).toBe('/var/lib/node_exporter/"quoted".prom');
    if (!result.ok) return;
    expect(result.metadata.get('node_textfile_mtime_seconds')?.help).toBe(
      'Unixtime mtime of textfiles successfully read.\nSecond line with a backslash \\ here.',
    );
    expect(result.metadata.get('node_uname_info')?.type).toBe('gauge');
  });

  it('accepts special and exponent floats', () => {
    const result = parseExposition(
      'a 1e-3\nb -2.5E+10\nc .5\nd NaN\ne +Inf\nf -Inf\ng 1.\nh 0\ni -0.0\nj 123456789012345678901234567890\nk Inf\n',
    );
    const values = samplesOf(result).map((s) => s.value);
    expect(values.slice(0, 3)).toEqual([0.001, -2.5e10, 0.5]);
    expect(Number.isNaN(values[3])).toBe(true);
    expect(isStaleNaN(values[3] ?? 0)).toBe(false);
    expect(values.slice(4)).toEqual([Infinity, -Infinity, 1, 0, -0, 1.2345678901234568e29, Infinity]);
  });

  it('tolerates CRLF, trailing spaces, blank lines, leading blanks, tabs and no final newline', () => {
    const body = '# TYPE a gauge\r\n\r\n  a{x="1"} 1 \r\n\t\r\na{x="2"}\t2\t1000\t\r\nb 3';
    const samples = samplesOf(parseExposition(body));
    expect(samples).toEqual([
      { labels: { __name__: 'a', x: '1' }, value: 1 },
      { labels: { __name__: 'a', x: '2' }, value: 2, timestampMs: 1000 },
      { labels: { __name__: 'b' }, value: 3 },
    ]);
  });

  it('accepts blanks around label tokens, a trailing comma, empty braces and colons in names', () => {
    const samples = samplesOf(parseExposition('a{ x = "1" , y="2", } 1\nb{} 2\njob:rate5m {z="3"} 3\n'));
    expect(samples.map((s) => s.labels)).toEqual([
      { __name__: 'a', x: '1', y: '2' },
      { __name__: 'b' },
      { __name__: 'job:rate5m', z: '3' },
    ]);
  });

  it('drops labels with empty values, as Prometheus treats them as absent', () => {
    expect(samplesOf(parseExposition('a{x="",y="1"} 1\n'))[0]?.labels).toEqual({ __name__: 'a', y: '1' });
  });

  it('keeps a label named __proto__ as an ordinary label', () => {
    const labels = samplesOf(parseExposition('a{__proto__="x"} 1\n'))[0]?.labels ?? {};
    expect(Object.keys(labels)).toEqual(['__name__', '__proto__']);
    expect(Object.getOwnPropertyDescriptor(labels, '__proto__')?.value).toBe('x');
  });

  it('treats other comments as comments and HELP without text as empty help', () => {
    const result = parseExposition('#\n# just a note\n#HELPER not help\n# HELP a\na 1\n');
    expect(samplesOf(result)).toHaveLength(1);
    if (result.ok) expect(result.metadata.get('a')).toEqual({ type: 'untyped', help: '', unit: '' });
  });

  it('parses an empty body', () => {
    expect(samplesOf(parseExposition(''))).toEqual([]);
    expect(samplesOf(parseExposition('\n\n# only comments\n'))).toEqual([]);
  });

  it('parses a large body with many distinct series in one pass', () => {
    const lines: string[] = ['# TYPE node_cpu_seconds_total counter'];
    for (let i = 0; i < 100_000; i++) {
      lines.push(`node_cpu_seconds_total{cpu="${i % 64}",mode="m${i}"} ${i}.5`);
    }
    const samples = samplesOf(parseExposition(lines.join('\n')));
    expect(samples).toHaveLength(100_000);
    expect(samples[99_999]).toEqual({
      labels: { __name__: 'node_cpu_seconds_total', cpu: String(99_999 % 64), mode: 'm99999' },
      value: 99_999.5,
    });
  });
});

describe('parseExposition: OpenMetrics additions', () => {
  const body = String.raw`# TYPE http_requests counter
# UNIT http_requests requests
# HELP http_requests Requests served.
http_requests_total{code="200"} 10 1700000000.5 # {trace_id="abc"} 1 1700000000.1
http_requests_created{code="200"} 1699999000
# TYPE build info
build_info{version="1.2"} 1
# EOF
`;

  it('reads # UNIT, _created lines, float-second timestamps, exemplars and # EOF', () => {
    const result = parseExposition(body, { format: 'openmetrics' });
    expect(samplesOf(result)).toEqual([
      { labels: { __name__: 'http_requests_total', code: '200' }, value: 10, timestampMs: 1700000000500 },
      { labels: { __name__: 'http_requests_created', code: '200' }, value: 1699999000 },
      { labels: { __name__: 'build_info', version: '1.2' }, value: 1 },
    ]);
    if (!result.ok) return;
    expect(result.metadata.get('http_requests')).toEqual({
      type: 'counter',
      help: 'Requests served.',
      unit: 'requests',
    });
    expect(result.metadata.get('build')?.type).toBe('info');
  });

  it('accepts # EOF and # UNIT in a Prometheus-format body too', () => {
    const result = parseExposition('# UNIT a_seconds seconds\na_seconds 1\n# EOF\n');
    expect(samplesOf(result)).toHaveLength(1);
    if (result.ok) expect(result.metadata.get('a_seconds')?.unit).toBe('seconds');
  });

  it('rejects content after # EOF', () => {
    expect(errorOf('a 1\n# EOF\nb 2\n', { format: 'openmetrics' })).toEqual({
      line: 3,
      column: 1,
      message: "line 3, column 1: unexpected 'b' after '# EOF'; expected the body to end there",
    });
  });

  it('rejects an OpenMetrics timestamp that is not a number', () => {
    expect(errorOf('a 1 soon\n', { format: 'openmetrics' })).toMatchObject({ line: 1, column: 5 });
  });
});

describe('parseExposition: rejections name the line and column', () => {
  const cases: [string, string, number, number, string][] = [
    // [what, body, line, column, message after "line L, column C: "]
    [
      'metric name starting with a digit',
      '1abc 1\n',
      1,
      1,
      "expected a metric name (letters, digits, '_' or ':', not starting with a digit), got '1'",
    ],
    [
      'invalid character in a metric name',
      'ok 1\nfoo-bar 1\n',
      2,
      4,
      `expected '{' or a space after metric name "foo", got '-'`,
    ],
    [
      'quoted metric name',
      '{"a.b"} 1\n',
      1,
      1,
      "expected a metric name (letters, digits, '_' or ':', not starting with a digit), got '{' (quoted metric names inside braces are not supported)",
    ],
    [
      'label name starting with a digit',
      'foo{1a="x"} 1\n',
      1,
      5,
      `expected a label name or '}' in the labels of "foo", got '1'`,
    ],
    [
      'invalid character in a label name',
      'foo{a-b="x"} 1\n',
      1,
      6,
      `expected '=' after label name "a", got '-'`,
    ],
    [
      'label name after a comma is missing',
      'foo{a="1",,} 1\n',
      1,
      11,
      `expected a label name in the labels of "foo", got ','`,
    ],
    [
      'duplicate label name',
      'foo{a="1",a="2"} 1\n',
      1,
      11,
      `duplicate label "a" in one sample of "foo"; each label name may appear once`,
    ],
    [
      'reserved __name__ label',
      'foo{__name__="x"} 1\n',
      1,
      5,
      'label name "__name__" is reserved for the metric name; rename the label',
    ],
    [
      'unquoted label value',
      'http_requests_total{code=x} 1\n',
      1,
      26,
      `expected '"' to start the value of label "code", got 'x'`,
    ],
    [
      'unterminated label value',
      'foo{a="bar} 1\n',
      1,
      7,
      `unterminated value of label "a": expected a closing '"' before the end of the line`,
    ],
    [
      'backslash at end of line',
      'foo{a="bar\\\n',
      1,
      7,
      `unterminated value of label "a": expected a closing '"' before the end of the line`,
    ],
    [
      'unknown escape',
      'foo{a="b\\tc"} 1\n',
      1,
      9,
      `invalid escape '\\t' in the value of label "a"; only \\\\, \\" and \\n are allowed`,
    ],
    [
      'missing comma between labels',
      'foo{a="1" b="2"} 1\n',
      1,
      11,
      `expected ',' or '}' after the value of label "a", got 'b'`,
    ],
    [
      'missing closing brace',
      'foo{a="1"\n',
      1,
      10,
      `expected ',' or '}' after the value of label "a", got end of line`,
    ],
    ['missing value after labels', 'foo{a="1"}\n', 1, 11, 'expected a value for "foo", got end of line'],
    ['missing value', 'foo\n', 1, 4, 'expected a value for "foo", got end of line'],
    [
      'no space before the value',
      'foo{a="1"}1\n',
      1,
      11,
      `expected a space before the value of "foo", got '1'`,
    ],
    [
      'word as value',
      'foo abc\n',
      1,
      5,
      `invalid value 'abc' for "foo"; expected a number like 1, -2.5e3, NaN, +Inf or -Inf`,
    ],
    [
      'two dots',
      'foo 1.2.3\n',
      1,
      5,
      `invalid value '1.2.3' for "foo"; expected a number like 1, -2.5e3, NaN, +Inf or -Inf`,
    ],
    [
      'hex value',
      'foo 0x10\n',
      1,
      5,
      `invalid value '0x10' for "foo"; expected a number like 1, -2.5e3, NaN, +Inf or -Inf`,
    ],
    [
      'exponent without digits',
      'foo 1e\n',
      1,
      5,
      `invalid value '1e' for "foo"; expected a number like 1, -2.5e3, NaN, +Inf or -Inf`,
    ],
    [
      'sign only',
      'foo -\n',
      1,
      5,
      `invalid value '-' for "foo"; expected a number like 1, -2.5e3, NaN, +Inf or -Inf`,
    ],
    [
      'fractional timestamp',
      'foo 1 1.5\n',
      1,
      7,
      `invalid timestamp '1.5' for "foo"; expected integer milliseconds since the epoch like 1700000000123`,
    ],
    [
      'text after the timestamp',
      'foo 1 123 extra\n',
      1,
      11,
      `unexpected 'e' after the timestamp of "foo"; expected end of line`,
    ],
    [
      'duplicate series',
      'a{x="1",y="2"} 1\nb 1\na{y="2", x="1"} 2\n',
      3,
      1,
      'duplicate series a{y="2", x="1"} in one body; expected each series at most once',
    ],
    [
      'duplicate series through an empty label',
      'a 1\na{x=""} 2\n',
      2,
      1,
      'duplicate series a{x=""} in one body; expected each series at most once',
    ],
    [
      'TYPE after the samples',
      'foo 1\n# TYPE foo gauge\n',
      2,
      12,
      'TYPE line for "foo" comes after its samples ("foo"); expected it before the first sample',
    ],
    [
      'histogram TYPE after its buckets',
      'foo_bucket{le="1"} 1\n# TYPE foo histogram\n',
      2,
      12,
      'TYPE line for "foo" comes after its samples ("foo_bucket"); expected it before the first sample',
    ],
    [
      'second TYPE line',
      '# TYPE foo gauge\n# TYPE foo counter\n',
      2,
      12,
      'second TYPE line for metric "foo"; expected at most one per metric',
    ],
    [
      'second HELP line',
      '# HELP foo a\n# HELP foo b\n',
      2,
      12,
      'second HELP line for metric "foo"; expected at most one per metric',
    ],
    [
      'unknown type',
      '# TYPE foo bogus\n',
      1,
      12,
      `expected a metric type (counter, gauge, histogram, gaugehistogram, summary, info, stateset, unknown, untyped) for "foo", got 'bogus'`,
    ],
    [
      'TYPE without a type',
      '# TYPE foo\n',
      1,
      11,
      'expected a metric type (counter, gauge, histogram, gaugehistogram, summary, info, stateset, unknown, untyped) for "foo", got end of line',
    ],
    ['TYPE without a name', '# TYPE\n', 1, 7, "expected a metric name after '# TYPE', got end of line"],
    [
      'HELP with an invalid name',
      '# HELP 9lives text\n',
      1,
      8,
      "expected a metric name after '# HELP', got '9'",
    ],
    [
      'HELP with a bad character in the name',
      '# HELP a-b text\n',
      1,
      9,
      `expected a space after metric name "a" in '# HELP', got '-'`,
    ],
    [
      'text after the type',
      '# TYPE foo gauge extra\n',
      1,
      18,
      `unexpected 'e' after the type of "foo"; expected end of line`,
    ],
  ];

  it.each(cases)('%s', (_what, body, line, column, message) => {
    expect(errorOf(body)).toEqual({ line, column, message: `line ${line}, column ${column}: ${message}` });
  });

  it('counts lines and columns the same with CRLF endings', () => {
    expect(errorOf('a 1\r\nb 2\r\nc{x=1} 3\r\n')).toMatchObject({ line: 3, column: 5 });
  });

  it('rejects an over-long line at the limit', () => {
    expect(errorOf('ok 1\nfoo{a="12345"} 1\n', { maxLineLength: 10 })).toEqual({
      line: 2,
      column: 11,
      message:
        'line 2, column 11: line is 16 characters long, over the limit of 10; expected shorter lines (check the exporter for runaway label values)',
    });
    expect(samplesOf(parseExposition('foo{a="12345"} 1\n', { maxLineLength: 16 }))).toHaveLength(1);
  });

  it('rejects an over-long line with the default limit', () => {
    expect(errorOf(`foo{a="${'x'.repeat(70_000)}"} 1\n`)).toMatchObject({ line: 1, column: 65_537 });
  });

  it('reports the error on the right line of a longer body', () => {
    const body = nodeExporterStyle.replace('{collector="zfs"}', '{collector=zfs}');
    const lineNo = body.split('\n').findIndex((l) => l.includes('collector=zfs')) + 1;
    expect(errorOf(body)).toMatchObject({ line: lineNo, column: 41 });
  });

  it('parses a body given in pieces of whole lines as it parses the whole, errors and duplicates too', () => {
    const inPieces = (text: string): string[] => text.split(/(?<=\n)/);
    expect(parseExposition(inPieces(nodeExporterStyle))).toEqual(parseExposition(nodeExporterStyle));
    const bad = nodeExporterStyle.replace('{collector="zfs"}', '{collector=zfs}');
    const lineNo = bad.split('\n').findIndex((l) => l.includes('collector=zfs')) + 1;
    expect(parseExposition(inPieces(bad))).toMatchObject({ ok: false, error: { line: lineNo, column: 41 } });
    expect(parseExposition(['# TYPE a gauge\na 1\n', 'b 2\n', 'a 3\n'])).toMatchObject({
      ok: false,
      error: { line: 4, column: 1, message: expect.stringContaining('duplicate series a') as unknown },
    });
  });
});

describe('SeriesSet', () => {
  it('tells distinct series with the same hash apart and still finds duplicates among them', () => {
    const set = new SeriesSet();
    expect(set.add(7, { __name__: 'a', x: '1' })).toBe(true);
    expect(set.add(7, { __name__: 'a', x: '2' })).toBe(true);
    expect(set.add(7, { __name__: 'a', x: '2' })).toBe(false);
    expect(set.add(7, { x: '1', __name__: 'a' })).toBe(false);
    expect(set.add(8, { __name__: 'a', x: '1' })).toBe(true);
  });
});
