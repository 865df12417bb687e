import { CookieJar } from './cookieJar.js';
import { checkHttpExpectations, compileProbeRegex, type HttpExpectConfig } from './httpExpect.js';
import { httpExchangeMetrics } from './httpProbe.js';
import {
  sendHttpRequest,
  type HttpExchange,
  type HttpRequestConfig,
  type TlsCertificateSeen,
} from './httpRequest.js';
import { lookupJsonPath, parseJsonPath } from './jsonPath.js';
import { startDeadline, type ProbeDeadline } from './netConnect.js';
import type { ProbeContext, ProbeResult, ProbeRunner } from './types.js';

/** Where a scenario variable comes from: a JSON path in the body, a response header, or a regex's first group. */
export type ScenarioExtract =
  { readonly json: string } | { readonly header: string } | { readonly regex: string };

/** One step of a scenario: a request, what its response must look like, and what to keep from it. */
export interface HttpScenarioStepConfig extends HttpRequestConfig {
  readonly name: string;
  readonly expect: HttpExpectConfig;
  readonly extract: Readonly<Record<string, ScenarioExtract>>;
}

/** A multi-step HTTP scenario with defaults applied (the output of the config schema `httpScenarioSchema`). */
export interface HttpScenarioConfig {
  readonly kind: 'http_scenario';
  /** Milliseconds all steps together may take. */
  readonly timeout: number;
  readonly steps: readonly HttpScenarioStepConfig[];
}

const VAR_REFERENCE = /\{\{\s*vars\.([A-Za-z_][A-Za-z0-9_]*)\s*\}\}/g;

/** The variable names a text refers to as `{{ vars.NAME }}`. */
export function scenarioVarsUsed(text: string): string[] {
  return [...text.matchAll(VAR_REFERENCE)].map((match) => match[1] ?? '');
}

/** Runs the steps in order with one cookie jar and the variables earlier steps extracted; stops at the first failure. */
export const runHttpScenario: ProbeRunner<HttpScenarioConfig> = async (config, ctx) => {
  const started = performance.now();
  const deadline = startDeadline(ctx, config.timeout);
  const run = new ScenarioRun(ctx);
  for (const [index, step] of config.steps.entries()) {
    const problem = await run.step(step, deadline);
    if (problem !== null)
      return run.result(started, `step ${index + 1} (${step.name}): ${problem}`, config, index + 1);
  }
  return run.result(started, null, config, 0);
};

/** The state one scenario run carries from step to step. */
class ScenarioRun {
  readonly #vars = new Map<string, string>();
  readonly #cookies: CookieJar;
  readonly #ctx: ProbeContext;
  #last: HttpExchange | null = null;
  #certificate: TlsCertificateSeen | null = null;
  #passed = 0;

  constructor(ctx: ProbeContext) {
    this.#ctx = ctx;
    this.#cookies = new CookieJar(ctx.now);
  }

  /** Runs one step; the problem in words, or null when it passed. */
  async step(step: HttpScenarioStepConfig, deadline: ProbeDeadline): Promise<string | null> {
    try {
      const request = this.#substitute(step);
      if (typeof request === 'string') return request;
      const exchange = await sendHttpRequest(request, { ...deadline, cookies: this.#cookies });
      this.#remember(exchange);
      const problem =
        checkHttpExpectations(step.expect, exchange, this.#ctx.now()) ?? this.#extract(step, exchange);
      if (problem === null) this.#passed += 1;
      return problem;
    } catch (error) {
      return `${step.method} ${step.url}: ${(error as Error).message}`;
    }
  }

  result(started: number, error: string | null, config: HttpScenarioConfig, failedStep: number): ProbeResult {
    const metrics = this.#last === null ? {} : httpExchangeMetrics(this.#last);
    delete metrics.probe_tls_cert_expiry_timestamp_seconds;
    if (this.#certificate !== null)
      metrics.probe_tls_cert_expiry_timestamp_seconds = this.#certificate.validToMs / 1000;
    metrics.probe_http_scenario_steps = config.steps.length;
    metrics.probe_http_scenario_steps_passed = this.#passed;
    metrics.probe_http_scenario_failed_step = failedStep;
    return { success: error === null, durationSeconds: (performance.now() - started) / 1000, error, metrics };
  }

  #remember(exchange: HttpExchange): void {
    this.#last = exchange;
    const seen = exchange.certificate;
    if (seen !== null && (this.#certificate === null || seen.validToMs < this.#certificate.validToMs))
      this.#certificate = seen;
  }

  /** The step's request with `{{ vars.NAME }}` filled in, or the problem when a variable is not set. */
  #substitute(step: HttpScenarioStepConfig): HttpRequestConfig | string {
    const texts = [step.url, step.body ?? '', ...Object.values(step.headers)];
    const missing = texts.flatMap(scenarioVarsUsed).find((name) => !this.#vars.has(name));
    if (missing !== undefined) return `{{ vars.${missing} }} is not set; extract it in an earlier step`;
    const fill = (text: string) =>
      text.replace(VAR_REFERENCE, (_all, name: string) => this.#vars.get(name) ?? '');
    return {
      ...step,
      url: fill(step.url),
      body: step.body === undefined ? undefined : fill(step.body),
      headers: Object.fromEntries(Object.entries(step.headers).map(([k, v]) => [k, fill(v)])),
    };
  }

  #extract(step: HttpScenarioStepConfig, exchange: HttpExchange): string | null {
    const response = exchange.response;
    if (response === null) return exchange.error;
    for (const [name, source] of Object.entries(step.extract)) {
      const value = extractValue(source, response.body.toString('utf8'), response.headers);
      if (typeof value !== 'string') return `extract ${name}: ${value.problem}`;
      this.#vars.set(name, value);
    }
    return null;
  }
}

function extractValue(
  source: ScenarioExtract,
  body: string,
  headers: Readonly<Record<string, string | string[] | undefined>>,
): string | { problem: string } {
  if ('header' in source) {
    const raw = headers[source.header.toLowerCase()];
    if (raw === undefined) return { problem: `header ${source.header} missing from the response` };
    return Array.isArray(raw) ? raw.join(', ') : raw;
  }
  if ('regex' in source) {
    const compiled = compileProbeRegex(source.regex);
    if (!compiled.ok) return { problem: compiled.error };
    const match = compiled.regex.exec(body);
    if (match === null) return { problem: `body does not match /${source.regex}/` };
    return match[1] ?? match[0];
  }
  return extractJson(source.json, body);
}

function extractJson(path: string, body: string): string | { problem: string } {
  const parsed = parseJsonPath(path);
  if (!parsed.ok) return { problem: parsed.error };
  let document: unknown;
  try {
    document = JSON.parse(body) as unknown;
  } catch (error) {
    return { problem: `body is not JSON (${(error as Error).message}), so ${path} cannot be read` };
  }
  const found = lookupJsonPath(document, parsed.segments);
  if (!found.found) return { problem: `${path} not found in the JSON body` };
  return typeof found.value === 'string' ? found.value : JSON.stringify(found.value);
}
