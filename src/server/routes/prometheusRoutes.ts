import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { AlertInstance } from '../../core/index.js';
import {
  handleLabels,
  handleLabelValues,
  handleMetadata,
  handleQuery,
  handleQueryRange,
  handleSeries,
} from '../../promql/index.js';
import type { BrokenRule } from '../../rules/index.js';
import type { ServerParts } from '../ServerParts.js';
import { VERSION } from '../version.js';

/** Query parameters from the URL and, for POST, a form-encoded body, as Prometheus accepts them. */
function paramsOf(request: FastifyRequest): {
  single: Record<string, string | undefined>;
  match: string[];
  all: URLSearchParams;
} {
  const merged = new URLSearchParams(
    request.url.includes('?') ? request.url.slice(request.url.indexOf('?') + 1) : '',
  );
  if (request.body instanceof URLSearchParams) for (const [k, v] of request.body) merged.append(k, v);
  const single: Record<string, string | undefined> = {};
  for (const key of merged.keys()) single[key] = merged.get(key) ?? undefined;
  return { single, match: merged.getAll('match[]'), all: merged };
}

const seconds = (ms: number) => ms / 1000;
const rfc3339 = (ms: number | null) => (ms === null ? '0001-01-01T00:00:00Z' : new Date(ms).toISOString());

function alertJson(a: AlertInstance) {
  return {
    labels: a.labels,
    annotations: a.annotations,
    state: a.state,
    activeAt: rfc3339(a.activeAt),
    value: String(a.value ?? 'NaN'),
  };
}

/** A rule of a broken group, in the rules API's shape: never evaluated, health "err". */
function brokenRuleJson(rule: BrokenRule) {
  const base = {
    name: rule.name,
    query: rule.expr,
    labels: rule.labels,
    health: 'err',
    lastError: rule.error,
    warnings: [],
    evaluationTime: 0,
    lastEvaluation: rfc3339(null),
  };
  return rule.kind === 'alerting'
    ? {
        ...base,
        type: 'alerting',
        state: 'inactive',
        duration: 0,
        keepFiringFor: 0,
        annotations: {},
        alerts: [],
      }
    : { ...base, type: 'recording' };
}

/** The Prometheus HTTP API: queries, series and labels, rules, alerts, targets and build info. */
export function prometheusRoutes(app: FastifyInstance, parts: ServerParts): void {
  app.addContentTypeParser(
    'application/x-www-form-urlencoded',
    { parseAs: 'string' },
    (_request, body, done) => {
      done(null, new URLSearchParams(String(body)));
    },
  );
  const handlers = {
    '/api/v1/query': (p: ReturnType<typeof paramsOf>) => handleQuery(p.single, parts.query, parts.now()),
    '/api/v1/query_range': (p: ReturnType<typeof paramsOf>) => handleQueryRange(p.single, parts.query),
    '/api/v1/series': (p: ReturnType<typeof paramsOf>) =>
      parts.remoteQuery?.lookup('/api/v1/series', p.all) ??
      handleSeries({ ...p.single, 'match[]': p.match }, parts.series, parts.now()),
    '/api/v1/labels': (p: ReturnType<typeof paramsOf>) =>
      parts.remoteQuery?.lookup('/api/v1/labels', p.all) ??
      handleLabels({ ...p.single, 'match[]': p.match }, parts.series, parts.now()),
  };
  for (const [url, handle] of Object.entries(handlers)) {
    app.route({
      method: ['GET', 'POST'],
      url,
      config: { role: 'viewer' },
      handler: async (request, reply) => {
        const { status, body } = await Promise.resolve(handle(paramsOf(request)));
        return reply.status(status).send(body);
      },
    });
  }
  app.route({
    method: ['GET', 'POST'],
    url: '/api/v1/label/:name/values',
    config: { role: 'viewer' },
    handler: async (request, reply) => {
      const p = paramsOf(request);
      const name = (request.params as { name: string }).name;
      const { status, body } = await (parts.remoteQuery?.lookup(
        `/api/v1/label/${encodeURIComponent(name)}/values`,
        p.all,
      ) ?? handleLabelValues(name, { ...p.single, 'match[]': p.match }, parts.series, parts.now()));
      return reply.status(status).send(body);
    },
  });

  // GET only, as in Prometheus; Grafana sends it as GET even when configured for POST.
  app.get('/api/v1/metadata', (request, reply) => {
    const { single } = paramsOf(request);
    const { status, body } = handleMetadata(single, parts.scrape.metadata());
    return reply.status(status).send(body);
  });

  app.get('/api/v1/status/buildinfo', () => ({
    status: 'success',
    data: {
      version: VERSION,
      revision: '',
      branch: '',
      buildUser: '',
      buildDate: '',
      goVersion: `node ${process.version}`,
    },
  }));

  app.get('/api/v1/alerts', () => ({
    status: 'success',
    data: { alerts: parts.rules.activeAlerts().map(alertJson) },
  }));

  app.get('/api/v1/rules', () => ({
    status: 'success',
    data: {
      groups: parts.rules.status().map(({ group, rules }) => ({
        name: group.name,
        file: group.file,
        interval: seconds(group.intervalMs),
        limit: group.limit,
        // swas extension: a group that could not be loaded; its rules are listed with health "err".
        ...(group.broken ? { health: 'err', lastError: group.broken.error } : {}),
        rules: group.broken
          ? group.broken.rules.map(brokenRuleJson)
          : rules.map(({ rule, health, alerts }) => ({
              name: rule.name,
              query: rule.expr,
              labels: rule.labels,
              health: health.health,
              lastError: health.lastError,
              warnings: health.warnings,
              evaluationTime: seconds(health.evaluationMs),
              lastEvaluation: rfc3339(health.lastEvaluationMs),
              ...(rule.kind === 'alerting'
                ? {
                    type: 'alerting',
                    state: alerts.some((a) => a.state === 'firing')
                      ? 'firing'
                      : alerts.length > 0
                        ? 'pending'
                        : 'inactive',
                    duration: seconds(rule.forMs),
                    keepFiringFor: seconds(rule.keepFiringForMs),
                    annotations: rule.annotations,
                    alerts: alerts.map(alertJson),
                  }
                : { type: 'recording' }),
            })),
      })),
    },
  }));

  app.get('/api/v1/targets', () => ({
    status: 'success',
    data: {
      activeTargets: parts.scrape.status().map((t) => ({
        labels: t.labels,
        scrapePool: t.job,
        scrapeUrl: t.url,
        lastError: t.lastError ?? '',
        lastScrape: rfc3339(t.lastScrapeMs),
        lastScrapeDuration: seconds(t.lastDurationMs ?? 0),
        health: t.health,
      })),
      droppedTargets: [],
    },
  }));
}
