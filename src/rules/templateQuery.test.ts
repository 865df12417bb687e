import { describe, expect, it } from 'vitest';
import { appendSeriesNotation, EmbeddedPromqlQuery } from '../promql/index.js';
import { MemorySeriesStore } from '../tsdb/index.js';
import { parseAlertTemplate, renderAlertTemplate, type AlertTemplateQuery } from './alertTemplate.js';
import { alertTemplateQuery } from './templateQuery.js';

const store = new MemorySeriesStore();
appendSeriesNotation(
  store,
  'node_load1{instance="b:9100"} 1+1x10\nnode_load1{instance="a:9100"} 5x10\nnode_memory_bytes{instance="a:9100"} 1048576x10',
  60_000,
);
const engine = EmbeddedPromqlQuery.create({ reader: store });
const AT = 10 * 60_000;

async function render(
  text: string,
  query: AlertTemplateQuery | null = alertTemplateQuery(engine),
  timeoutMs?: number,
): Promise<string> {
  const parsed = parseAlertTemplate(text, 'description');
  if (!parsed.ok) return `parse error: ${parsed.error}`;
  const result = await renderAlertTemplate(
    parsed.template,
    { labels: { instance: 'a:9100' }, value: 1, externalLabels: {}, externalURL: '' },
    { at: AT, ...(query === null ? {} : { query }), ...(timeoutMs === undefined ? {} : { timeoutMs }) },
  );
  return result.ok ? result.value : `error: ${result.error}`;
}

describe('the query template function against the embedded engine', () => {
  it('returns samples usable with first, value, label, range and sortByLabel', async () => {
    expect(await render('{{ query "sum(node_load1)" | first | value }}')).toBe('16');
    expect(
      await render('{{ with query "node_memory_bytes" }}{{ . | first | value | humanize1024 }}B{{ end }}'),
    ).toBe('1MiB');
    expect(
      await render(
        '{{ range query "node_load1" | sortByLabel "instance" }}{{ .Labels.instance }}={{ .Value }} {{ end }}',
      ),
    ).toBe('a:9100=5 b:9100=11 ');
    expect(await render('{{ (query "node_load1" | sortByLabel "instance" | first).Labels.__name__ }}')).toBe(
      'node_load1',
    );
    expect(
      await render(
        '{{ printf "node_load1{instance=%q}" $labels.instance | query | first | label "instance" }}',
      ),
    ).toBe('a:9100');
    expect(await render('{{ query "scalar(sum(node_load1))" | first | value }}')).toBe('16');
    expect(await render('{{ len (query "node_load1") }}')).toBe('2');
  });

  it('turns empty results and failing queries into error results', async () => {
    expect(await render('{{ query "missing_metric" | first | value }}')).toBe(
      'error: description:1:29: executing at <first>: error calling first: first() called on vector with no elements',
    );
    expect(await render('{{ query "sum(" }}')).toMatch(
      /^error: description:1:4: executing at <query "sum\(">: error calling query: .*parse error/,
    );
    expect(await render('{{ query "\\"text\\"" }}')).toMatch(
      /error calling query: query result is a string, not a vector or scalar$/,
    );
    expect(await render('{{ query "up" }}', null)).toMatch(
      /error calling query: no metrics engine is available/,
    );
    expect(await render('{{ (query "missing_metric").banana }}')).toMatch(
      /can't evaluate field banana in type template\.queryResult$/,
    );
  });

  it('fails a query that outlives the timeout instead of hanging the rule group', async () => {
    const never: AlertTemplateQuery = () => new Promise(() => undefined);
    expect(await render('{{ query "up" }}', never, 20)).toMatch(
      /error calling query: query timed out after 20ms$/,
    );
    const broken: AlertTemplateQuery = () => Promise.reject(new Error('connection refused'));
    expect(await render('a{{ query "up" }}', broken)).toMatch(/error calling query: connection refused$/);
  });
});
