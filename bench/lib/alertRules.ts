/**
 * A Prometheus rule file of typical alerting rules over the synthetic targets' series (lib/targets.ts), for
 * the rule-evaluation benchmark: error ratios, request rates, latency quantiles and averages, predict_linear,
 * absent, gauge thresholds and `up`, each aimed at one path, so most rules touch a few hundred series and a
 * few service-wide ones many thousand. Thresholds are chosen so that about one rule in a hundred fires.
 */
import { stringify } from 'yaml';
import { pathName } from './targets.js';

/** One kind of rule; `expr` builds its expression for a path selector and whether it should fire. */
interface Shape {
  readonly name: string;
  /** Rules of this shape per hundred. */
  readonly weight: number;
  readonly for: string;
  expr(path: string, fire: boolean, index: number): string;
}

const REQUESTS = 'bench_http_requests_total';
const DURATION = 'bench_request_duration_seconds';

/**
 * Every counter of the targets grows by 0–39 a second, so a status is about a quarter of a path's requests
 * and a path's requests run at about 78/s per method; a threshold far on either side fires or stays quiet.
 */
export const SHAPES: readonly Shape[] = [
  {
    name: 'error_ratio',
    weight: 25,
    for: '5m',
    expr: (p, fire) =>
      `sum by (instance) (rate(${REQUESTS}{path="${p}",status="503"}[5m])) / sum by (instance) (rate(${REQUESTS}{path="${p}"}[5m])) > ${fire ? 0.05 : 0.9}`,
  },
  {
    name: 'request_rate',
    weight: 20,
    for: '5m',
    expr: (p, fire) =>
      `sum by (instance, method) (rate(${REQUESTS}{path="${p}"}[5m])) < ${fire ? 1e6 : 0.001}`,
  },
  {
    name: 'latency_quantile',
    weight: 15,
    for: '5m',
    expr: (p, fire) =>
      `histogram_quantile(0.99, sum by (le, instance) (rate(${DURATION}_bucket{path="${p}"}[5m]))) > ${fire ? 0 : 1000}`,
  },
  {
    name: 'latency_average',
    weight: 10,
    for: '5m',
    expr: (p, fire) =>
      `sum by (instance) (rate(${DURATION}_sum{path="${p}"}[5m])) / sum by (instance) (rate(${DURATION}_count{path="${p}"}[5m])) > ${fire ? 0 : 100}`,
  },
  {
    name: 'increase',
    weight: 5,
    for: '0s',
    expr: (p, fire) => `increase(${REQUESTS}{path="${p}",status="404"}[5m]) > ${fire ? 0 : 1e12}`,
  },
  {
    name: 'predict_linear',
    weight: 5,
    for: '10m',
    expr: (p, fire) => `predict_linear(bench_memory_bytes{path="${p}"}[5m], 3600) > ${fire ? -1e15 : 1e15}`,
  },
  {
    name: 'avg_over_time',
    weight: 5,
    for: '1m',
    expr: (p, fire) => `avg_over_time(bench_inflight_requests{path="${p}"}[5m]) > ${fire ? 1 : 49}`,
  },
  {
    name: 'gauge_threshold',
    weight: 5,
    for: '2m',
    expr: (p, fire) => `max by (instance) (bench_inflight_requests{path="${p}"}) > ${fire ? -1 : 100}`,
  },
  {
    name: 'absent',
    weight: 5,
    for: '5m',
    expr: (p, fire, i) =>
      fire
        ? `absent(${REQUESTS}{path="/retired/endpoint${i}",method="GET"})`
        : `absent(${REQUESTS}{path="${p}",method="GET",status="200"})`,
  },
  {
    name: 'up',
    weight: 4,
    for: '1m',
    expr: (_p, fire) => (fire ? `count by (job) (up{job="bench"} == 1) > 0` : `up{job="bench"} == 0`),
  },
  {
    name: 'service_error_ratio',
    weight: 1,
    for: '5m',
    expr: (_p, fire, i) => {
      const api = `/api/v${(i % 3) + 1}/.*`;
      return `sum by (job) (rate(${REQUESTS}{status=~"5..",path=~"${api}"}[5m])) / sum by (job) (rate(${REQUESTS}{path=~"${api}"}[5m])) > ${fire ? 0.05 : 0.9}`;
    },
  },
];

/** The first of every this many rules of a shape fires. */
const FIRE_EVERY = 100;

/** Shape indexes in a smooth weighted round-robin over 100 slots, so every group gets a mix of shapes. */
function slots(): number[] {
  const current = SHAPES.map(() => 0);
  const totalWeight = SHAPES.reduce((sum, s) => sum + s.weight, 0);
  const order: number[] = [];
  for (let n = 0; n < totalWeight; n++) {
    let best = 0;
    SHAPES.forEach((shape, i) => {
      current[i] = (current[i] ?? 0) + shape.weight;
      if ((current[i] ?? 0) > (current[best] ?? 0)) best = i;
    });
    current[best] = (current[best] ?? 0) - totalWeight;
    order.push(best);
  }
  return order;
}

/** What {@link alertRuleFile} produced. */
export interface AlertRuleSet {
  readonly yaml: string;
  /** Alert name → shape name. */
  readonly shapeOf: ReadonlyMap<string, string>;
  /** Rules written to fire once their `for` has passed. */
  readonly firingRules: number;
}

/** `rules` alerting rules in `groups` groups at `intervalSeconds`, over targets that each have `paths` paths. */
export function alertRuleFile(options: {
  rules: number;
  groups: number;
  intervalSeconds: number;
  paths: number;
}): AlertRuleSet {
  const order = slots();
  const seen = SHAPES.map(() => 0);
  const shapeOf = new Map<string, string>();
  let firingRules = 0;
  const rules = [];
  for (let i = 0; i < options.rules; i++) {
    const s = order[i % order.length] ?? 0;
    const shape = SHAPES[s];
    if (shape === undefined) continue;
    const nth = seen[s] ?? 0;
    seen[s] = nth + 1;
    const fire = nth % FIRE_EVERY === 0;
    if (fire) firingRules++;
    const alert = `Bench_${shape.name}_${String(i).padStart(4, '0')}`;
    shapeOf.set(alert, shape.name);
    rules.push({
      alert,
      expr: shape.expr(pathName(i % options.paths), fire, i),
      // Firing rules wait a minute, so they fire within the warm-up.
      for: fire ? '1m' : shape.for,
      labels: { severity: i % 3 === 0 ? 'page' : 'ticket', team: `team-${i % 7}` },
      annotations: {
        summary: `${shape.name} on {{ $labels.instance }} is {{ $value }}`,
        runbook_url: `https://runbooks.example/${shape.name}`,
      },
    });
  }
  const perGroup = Math.ceil(rules.length / options.groups);
  const groups = [];
  for (let g = 0; g * perGroup < rules.length; g++)
    groups.push({
      name: `bench-${String(g).padStart(3, '0')}`,
      interval: `${options.intervalSeconds}s`,
      rules: rules.slice(g * perGroup, (g + 1) * perGroup),
    });
  return { yaml: stringify({ groups }, { lineWidth: 0 }), shapeOf, firingRules };
}
