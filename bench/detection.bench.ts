/**
 * Detection latency: how long after a target dies the alert fires, the incident opens and a page arrives.
 * swas and Prometheus scrape the same small targets every second and evaluate `up == 0` every second;
 * swas pages through its webhook notifier, Prometheus through Alertmanager's webhook, both to one local
 * receiver that stamps arrivals. Each trial closes one target's port (a different target each time, so every
 * trial is a new alert, incident and Alertmanager group) at a random phase of the scrape interval.
 */
import { writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  apiData,
  startAlertmanager,
  startWebhookReceiver,
  type Alertmanager,
  type Arrival,
  type WebhookReceiver,
} from './lib/alerting.js';
import { compared, envNumber, type BenchContext } from './lib/context.js';
import { startPrometheus, startSwas, type Engine } from './lib/engines.js';
import { freePorts } from './lib/ports.js';
import { queryNumber } from './lib/query.js';
import { round, summarize } from './lib/stats.js';

/** This benchmark's settings, from SWAS_BENCH_DETECTION_* (documented in bench/README.md). */
function detectionSettings() {
  const groupWait = process.env.SWAS_BENCH_DETECTION_GROUP_WAIT ?? '0s';
  if (!/^\d+(ms|s)$/.test(groupWait))
    throw new Error(
      `SWAS_BENCH_DETECTION_GROUP_WAIT="${groupWait}" must be an Alertmanager duration such as 0s, 500ms or 1s`,
    );
  return {
    trials: Math.floor(envNumber('SWAS_BENCH_DETECTION_TRIALS', 20, 1)),
    intervalSeconds: envNumber('SWAS_BENCH_DETECTION_INTERVAL', 1, 1),
    groupWait,
  };
}

const ALERT = 'BenchTargetDown';
const PAGE_TIMEOUT_MS = 30_000;

/** A scrape target that answers every path with one sample until it is killed. */
interface MortalTarget {
  readonly address: string;
  /** Closes the port and every open connection; returns the instant of death (epoch ms). */
  kill(): number;
}

async function startMortalTarget(port: number): Promise<MortalTarget> {
  const server: Server = createServer((_request, response) => {
    response.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' }).end('bench_alive 1\n');
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  let deadAt: number | null = null;
  return {
    address: `127.0.0.1:${port}`,
    kill() {
      if (deadAt !== null) return deadAt;
      deadAt = Date.now();
      server.close();
      server.closeAllConnections();
      return deadAt;
    },
  };
}

/** One trial's delays in seconds after the death; NaN where that step never happened. */
interface Trial {
  alertSwas: number;
  alertPrometheus: number;
  incidentSwas: number;
  pageSwas: number;
  pageAlertmanager: number;
}

interface AlertsApi {
  alerts: { labels: Record<string, string>; state: string; activeAt: string }[];
}
interface IncidentsApi {
  incidents: { labels: Record<string, string>; openedAt: number | string }[];
}

/** The instance a notification is about: swas's incident labels, or the first alert of Alertmanager's. */
function instanceOf(arrival: Arrival): string | undefined {
  const body = arrival.body as {
    incident?: { labels?: Record<string, string> };
    alerts?: { labels?: Record<string, string> }[];
  } | null;
  return body?.incident?.labels?.instance ?? body?.alerts?.[0]?.labels?.instance;
}

/** When `engine` says the alert for `instance` became active (epoch ms), or NaN. */
async function activeAt(engine: Engine, instance: string): Promise<number> {
  const { alerts } = await apiData<AlertsApi>(engine, '/api/v1/alerts');
  const alert = alerts.find((a) => a.labels.alertname === ALERT && a.labels.instance === instance);
  return alert === undefined ? Number.NaN : Date.parse(alert.activeAt);
}

async function incidentOpenedAt(swas: Engine, instance: string): Promise<number> {
  const { incidents } = await apiData<IncidentsApi>(swas, '/api/v1/incidents?limit=100');
  const incident = incidents.find((i) => i.labels.instance === instance);
  if (incident === undefined) return Number.NaN;
  return typeof incident.openedAt === 'number' ? incident.openedAt : Date.parse(incident.openedAt);
}

/** Arrival time (epoch ms) of the first page for `instance` on `path`, or NaN after the timeout. */
function pageArrival(receiver: WebhookReceiver, path: string, instance: string): Promise<number> {
  return receiver
    .waitFor((a) => a.path === path && instanceOf(a) === instance, PAGE_TIMEOUT_MS, `${path} page`)
    .then(
      (a) => a.atMs,
      () => Number.NaN,
    );
}

async function runTrial(
  target: MortalTarget,
  swas: Engine,
  prometheus: Engine,
  receiver: WebhookReceiver,
  intervalSeconds: number,
): Promise<Trial> {
  // A random phase against both engines' scrape and evaluation ticks.
  await sleep(250 + Math.random() * intervalSeconds * 1000);
  const instance = target.address;
  const pages = [pageArrival(receiver, '/swas', instance), pageArrival(receiver, '/alertmanager', instance)];
  const diedAt = target.kill();
  const [swasPage, amPage] = await Promise.all(pages);
  const [swasAlert, promAlert, opened] = await Promise.all([
    activeAt(swas, instance),
    activeAt(prometheus, instance),
    incidentOpenedAt(swas, instance),
  ]);
  const after = (ms: number | undefined) => ((ms ?? Number.NaN) - diedAt) / 1000;
  return {
    alertSwas: after(swasAlert),
    alertPrometheus: after(promAlert),
    incidentSwas: after(opened),
    pageSwas: after(swasPage),
    pageAlertmanager: after(amPage),
  };
}

/** Waits until both engines see every target up, so the first trial does not race the first scrapes. */
async function allUp(ctx: BenchContext, engines: readonly Engine[], count: number): Promise<void> {
  const deadline = Date.now() + 60_000;
  for (const engine of engines) {
    while ((await queryNumber(engine, 'count(up{job="bench"} == 1)')) !== count) {
      if (Date.now() > deadline)
        throw new Error(`${engine.name} did not see all ${count} targets up in 60 s`);
      await sleep(250);
    }
  }
  ctx.log(`all ${count} targets up on both engines`);
}

const finite = (values: readonly number[]) => values.filter((v) => Number.isFinite(v));

function report(ctx: BenchContext, trials: readonly Trial[], groupWait: string): void {
  const pick = (key: keyof Trial) => finite(trials.map((t) => t[key]));
  const missed = (key: keyof Trial) => trials.length - pick(key).length;
  const unit = 's after the target died';
  ctx.figure('alert_firing_seconds', {
    ...compared(summarize(pick('alertSwas')), summarize(pick('alertPrometheus')), unit, 'median ≤ 2 s'),
    note: `activeAt each engine records (its evaluation's timestamp); trials without a firing alert: swas ${missed('alertSwas')}, prometheus ${missed('alertPrometheus')}`,
  });
  const incident = summarize(pick('incidentSwas'));
  ctx.figure('incident_opened_seconds', {
    value: round(incident.value),
    unit,
    min: round(incident.min),
    max: round(incident.max),
    trials: incident.trials,
    goal: 'median ≤ 2 s',
    note: 'openedAt swas records (stamped with the evaluation that fired the alert); Prometheus has no incidents',
  });
  ctx.figure('page_seconds', {
    ...compared(summarize(pick('pageSwas')), summarize(pick('pageAlertmanager')), unit, 'median ≤ 2 s'),
    note: `arrival at a local webhook receiver: swas's incident.opened notification vs Alertmanager's (group_wait ${groupWait}, group_interval 1s); pages missing after ${PAGE_TIMEOUT_MS / 1000} s: swas ${missed('pageSwas')}, alertmanager ${missed('pageAlertmanager')}`,
  });
}

/** Runs the detection-latency comparison. */
export async function run(ctx: BenchContext): Promise<void> {
  const s = detectionSettings();
  const [swasPort, promPort, amPort, receiverPort, ...targetPorts] = await freePorts(4 + s.trials);
  const targets = await Promise.all(targetPorts.map((p) => startMortalTarget(p)));
  const receiver = await startWebhookReceiver(receiverPort ?? 0);
  const ruleFile = join(ctx.dir, 'detection.rules.yml');
  await writeFile(
    ruleFile,
    `groups:
  - name: detection
    interval: ${s.intervalSeconds}s
    rules:
      - alert: ${ALERT}
        expr: up{job="bench"} == 0
        for: 0s
        labels: { severity: page }
        annotations: { summary: '{{ $labels.instance }} is down' }
`,
  );
  const rules = `[${JSON.stringify(ruleFile)}]`;
  const common = {
    dir: ctx.dir,
    targets: targets.map((t) => t.address),
    intervalSeconds: s.intervalSeconds,
    // swas from source starts slowly on a loaded machine.
    readyTimeoutMs: 180_000,
  };
  const started: (Engine | Alertmanager)[] = [];
  try {
    const alertmanager = await startAlertmanager({
      dir: ctx.dir,
      port: amPort ?? 0,
      webhookUrl: `${receiver.url}/alertmanager`,
      groupBy: ['alertname', 'instance'],
      groupWait: s.groupWait,
      groupInterval: '1s',
    });
    started.push(alertmanager);
    const swas = await startSwas({
      ...common,
      port: swasPort ?? 0,
      extraYaml: `rules:
  evaluation_interval: ${s.intervalSeconds}s
  files: ${rules}
incidents:
  group_by: [alertname, instance]
notify:
  webhooks:
    - name: bench
      url: ${receiver.url}/swas
      retries: 0
      events: [incident.opened]
`,
    });
    started.push(swas);
    const prometheus = await startPrometheus({
      ...common,
      port: promPort ?? 0,
      extraYaml: `rule_files: ${rules}
alerting:
  alertmanagers:
    - static_configs:
        - targets: ['127.0.0.1:${amPort}']
`,
    });
    started.push(prometheus);
    await allUp(ctx, [swas, prometheus], targets.length);
    const trials: Trial[] = [];
    for (const [i, target] of targets.entries()) {
      const trial = await runTrial(target, swas, prometheus, receiver, s.intervalSeconds);
      trials.push(trial);
      const shown = Object.entries(trial).map(([k, v]) => `${k} ${(v as number).toFixed(3)}`);
      ctx.log(`trial ${i + 1}/${targets.length}: ${shown.join(', ')}`);
    }
    report(ctx, trials, s.groupWait);
  } finally {
    await Promise.all(started.map((e) => e.stop()));
    for (const target of targets) target.kill();
    await receiver.stop();
  }
}
