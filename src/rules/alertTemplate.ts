import type { Labels } from '../core/index.js';
import { executeTemplate, TemplateExecError } from './templateExec.js';
import { templateFunctionNames, type TemplateCallContext } from './templateFunctions.js';
import { TemplateFuncError } from './templateHelpers.js';
import { TemplateSyntaxError } from './templateLexer.js';
import { parseTemplateNodes, type TemplateNode } from './templateParser.js';
import { GoMap, GoStruct, makeSample, type GoValue } from './templateValues.js';

/** A parsed alert template (Go text/template syntax with Prometheus's functions), ready to render many times. */
export interface AlertTemplate {
  readonly name: string;
  readonly text: string;
  readonly nodes: readonly TemplateNode[];
}

/** What an alert template sees: `$labels`/`.Labels`, `$value`/`.Value`, `$externalLabels`, `$externalURL`. */
export interface AlertTemplateData {
  readonly labels: Labels;
  readonly value: number;
  readonly externalLabels: Labels;
  readonly externalURL: string;
}

/** Runs a PromQL instant query for the template function `query`; `at` is in milliseconds. */
export type AlertTemplateQuery = (
  expr: string,
  at: number,
) => Promise<readonly { readonly labels: Labels; readonly value: number }[]>;

/** Options of one rendering. */
export interface AlertTemplateRenderOptions {
  /** Answers `query "…"`; without it a template that queries fails with a clear error. */
  readonly query?: AlertTemplateQuery;
  /** The evaluation time in milliseconds, passed to `query`. */
  readonly at: number;
  /** How long one rendering, its queries included, may take. @default 10000 */
  readonly timeoutMs?: number;
}

/** The outcome of rendering: the text, or an error that says where in the template and why. */
export type AlertTemplateResult = { ok: true; value: string } | { ok: false; error: string };

const DEFAULT_TIMEOUT_MS = 10_000;
/** Alert labels and annotations travel in pages and chat messages; a megabyte is far past any real one. */
const MAX_OUTPUT_CHARS = 1_000_000;
const DATA_TYPE =
  'struct { Labels map[string]string; ExternalLabels map[string]string; ExternalURL string; Value float64 }';

function position(text: string, pos: number): string {
  const before = text.slice(0, pos);
  const line = before.split('\n').length;
  const column = [...before.slice(before.lastIndexOf('\n') + 1)].length + 1;
  return `${line}:${column}`;
}

/**
 * Parses a template once; syntax errors, unknown functions and undefined variables are reported here with
 * their line:column in the template, so `swas rules check` can find them before any alert fires.
 */
export function parseAlertTemplate(
  text: string,
  name = 'template',
): { ok: true; template: AlertTemplate } | { ok: false; error: string } {
  try {
    return { ok: true, template: { name, text, nodes: parseTemplateNodes(text, templateFunctionNames) } };
  } catch (err) {
    if (err instanceof TemplateSyntaxError) {
      return { ok: false, error: `${name}:${position(text, err.pos)}: ${err.message}` };
    }
    return {
      ok: false,
      error: `${name}: cannot parse template: ${err instanceof Error ? err.message : String(err)}`,
    };
  }
}

const cache = new Map<string, ReturnType<typeof parseAlertTemplate>>();
const CACHE_LIMIT = 10_000;

/** parseAlertTemplate with a cache per (name, text), so rule evaluation parses each template once. */
export function parseAlertTemplateCached(
  text: string,
  name = 'template',
): ReturnType<typeof parseAlertTemplate> {
  const key = `${name}\0${text}`;
  const hit = cache.get(key);
  if (hit !== undefined) return hit;
  const parsed = parseAlertTemplate(text, name);
  if (cache.size >= CACHE_LIMIT) cache.clear();
  cache.set(key, parsed);
  return parsed;
}

/**
 * Expands one alert label or annotation value as Prometheus does: text without `{{` as it is, and a template
 * that fails to parse or run as `<error expanding template: …>` (the alert still fires).
 */
export async function expandAlertText(
  text: string,
  name: string,
  data: AlertTemplateData,
  options: AlertTemplateRenderOptions,
): Promise<string> {
  if (!text.includes('{{')) return text;
  const parsed = parseAlertTemplateCached(text, name);
  const result = parsed.ok ? await renderAlertTemplate(parsed.template, data, options) : parsed;
  return result.ok ? result.value : `<error expanding template: ${result.error}>`;
}

/** Parses every template of a rule (its labels or annotations), collecting all errors. */
export function compileAlertTemplates(
  texts: Readonly<Record<string, string>>,
): { ok: true; templates: ReadonlyMap<string, AlertTemplate> } | { ok: false; errors: string[] } {
  const templates = new Map<string, AlertTemplate>();
  const errors: string[] = [];
  for (const [name, text] of Object.entries(texts)) {
    const parsed = parseAlertTemplate(text, name);
    if (parsed.ok) templates.set(name, parsed.template);
    else errors.push(parsed.error);
  }
  return errors.length === 0 ? { ok: true, templates } : { ok: false, errors };
}

/** Renders a parsed template for one alert. Never throws: a failing function or query is an error result. */
export async function renderAlertTemplate(
  t: AlertTemplate,
  data: AlertTemplateData,
  options: AlertTemplateRenderOptions,
): Promise<AlertTemplateResult> {
  const labels = GoMap.fromLabels(data.labels);
  const externalLabels = GoMap.fromLabels(data.externalLabels);
  const dot = new GoStruct(
    DATA_TYPE,
    new Map<string, GoValue>([
      ['Labels', labels],
      ['ExternalLabels', externalLabels],
      ['ExternalURL', data.externalURL],
      ['Value', data.value],
    ]),
  );
  const vars = new Map<string, GoValue>([
    ['$', dot],
    ['$labels', labels],
    ['$externalLabels', externalLabels],
    ['$externalURL', data.externalURL],
    ['$value', data.value],
  ]);
  try {
    const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    const limits = { deadline: performance.now() + timeoutMs, maxOutputChars: MAX_OUTPUT_CHARS };
    const value = await executeTemplate(
      t.text,
      t.nodes,
      dot,
      vars,
      callContext(data, options, limits.deadline),
      limits,
    );
    return { ok: true, value };
  } catch (err) {
    if (err instanceof TemplateExecError) {
      return {
        ok: false,
        error: `${t.name}:${position(t.text, err.pos)}: executing at <${err.at}>: ${err.message}`,
      };
    }
    return {
      ok: false,
      error: `${t.name}: template failed: ${err instanceof Error ? err.message : String(err)}`,
    };
  }
}

function callContext(
  data: AlertTemplateData,
  options: AlertTemplateRenderOptions,
  deadline: number,
): TemplateCallContext {
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  return {
    externalURL: data.externalURL,
    async query(expr: string): Promise<GoValue> {
      const run = options.query;
      if (run === undefined)
        throw new TemplateFuncError('no metrics engine is available to run queries here');
      const left = deadline - performance.now();
      if (left <= 0) throw new TemplateFuncError(`queries took longer than ${timeoutMs}ms in total`);
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<never>((_resolve, reject) => {
        timer = setTimeout(() => reject(new TemplateFuncError(`query timed out after ${timeoutMs}ms`)), left);
      });
      try {
        const samples = await Promise.race([run(expr, options.at), timeout]);
        return samples.map((s) => makeSample(s.labels, s.value));
      } finally {
        clearTimeout(timer);
      }
    },
  };
}
