import type { Labels } from '../core/index.js';
import { invalidQuantile } from './annotations.js';
import type { AnnotationKind } from './annotations.js';
import {
  bucketFraction,
  bucketQuantileDetail,
  forcedMonotonicityInfo,
  groupBuckets,
} from './histogramQuantile.js';
import type { Sample, SeriesHead, Vector } from './values.js';

/** Per-call state an instant function may use across steps. */
export interface CallState {
  /** The same series, marked to lose its metric name at the end of the query. */
  dropName(head: SeriesHead): SeriesHead;
  /** A head for labels built by the function (cached, so repeated steps reuse it). */
  headFor(labels: Labels, dropName: boolean): SeriesHead;
  /** Labels for absent(): the equality matchers of the argument selector. */
  readonly absentLabels: Labels;
  /** Records a warning or info about the call's argument at argIndex. */
  annotate(kind: AnnotationKind, message: string, argIndex: number): void;
}

/** A function evaluated at one step over its (vector and scalar) arguments. */
export type InstantFunction = (args: Vector[], ts: number, state: CallState) => Vector;

const emptyLabels: Labels = {};

function mapValues(f: (v: number) => number): InstantFunction {
  return (args, _ts, state) => (args[0] ?? []).map((s) => ({ head: state.dropName(s.head), v: f(s.v) }));
}

function scalarArg(args: Vector[], i: number, fallback: number): number {
  const vec = args[i];
  return vec === undefined ? fallback : (vec[0]?.v ?? NaN);
}

function clamp(args: Vector[], state: CallState, min: number, max: number): Vector {
  if (max < min) return [];
  return (args[0] ?? []).map((s) => ({ head: state.dropName(s.head), v: Math.max(min, Math.min(max, s.v)) }));
}

function dateFunction(f: (d: Date) => number): InstantFunction {
  return (args, ts, state) => {
    const vec = args[0];
    if (vec === undefined)
      return [{ head: state.headFor(emptyLabels, false), v: f(new Date(Math.trunc(ts / 1000) * 1000)) }];
    return vec.map((s) => ({
      head: state.dropName(s.head),
      v: Number.isFinite(s.v) ? f(new Date(Math.trunc(s.v) * 1000)) : NaN,
    }));
  };
}

function sgn(v: number): number {
  if (v < 0) return -1;
  if (v > 0) return 1;
  return v;
}

/** NaN sorts last in both directions, as in Prometheus. */
function sortBy(direction: 1 | -1): InstantFunction {
  return (args) =>
    [...(args[0] ?? [])].sort((a: Sample, b: Sample) => {
      if (Number.isNaN(a.v)) return Number.isNaN(b.v) ? 0 : 1;
      if (Number.isNaN(b.v)) return -1;
      return direction * (a.v - b.v);
    });
}

function histogramQuantile(args: Vector[], _ts: number, state: CallState): Vector {
  const q = scalarArg(args, 0, NaN);
  if (!(q >= 0 && q <= 1)) state.annotate('warning', invalidQuantile(q), 0);
  const groups = groupBuckets(
    args[1] ?? [],
    (labels) => state.headFor(labels, true),
    (warning) => state.annotate('warning', warning, 1),
  );
  const out: Vector = [];
  for (const group of groups.values()) {
    const { value, forcedMonotonic } = bucketQuantileDetail(q, group.buckets);
    if (forcedMonotonic) state.annotate('info', forcedMonotonicityInfo, 1);
    out.push({ head: group.head, v: value });
  }
  return out;
}

function histogramFraction(args: Vector[], _ts: number, state: CallState): Vector {
  const lower = scalarArg(args, 0, NaN);
  const upper = scalarArg(args, 1, NaN);
  const groups = groupBuckets(
    args[2] ?? [],
    (labels) => state.headFor(labels, true),
    (warning) => state.annotate('warning', warning, 2),
  );
  const out: Vector = [];
  for (const group of groups.values())
    out.push({ head: group.head, v: bucketFraction(lower, upper, group.buckets) });
  return out;
}

/** Instant-vector and scalar functions by name. */
export const instantFunctions: ReadonlyMap<string, InstantFunction> = new Map<string, InstantFunction>([
  ['abs', mapValues(Math.abs)],
  ['ceil', mapValues(Math.ceil)],
  ['floor', mapValues(Math.floor)],
  ['exp', mapValues(Math.exp)],
  ['sqrt', mapValues(Math.sqrt)],
  ['ln', mapValues(Math.log)],
  ['log2', mapValues(Math.log2)],
  ['log10', mapValues(Math.log10)],
  ['sin', mapValues(Math.sin)],
  ['cos', mapValues(Math.cos)],
  ['tan', mapValues(Math.tan)],
  ['asin', mapValues(Math.asin)],
  ['acos', mapValues(Math.acos)],
  ['atan', mapValues(Math.atan)],
  ['sinh', mapValues(Math.sinh)],
  ['cosh', mapValues(Math.cosh)],
  ['tanh', mapValues(Math.tanh)],
  ['asinh', mapValues(Math.asinh)],
  ['acosh', mapValues(Math.acosh)],
  ['atanh', mapValues(Math.atanh)],
  ['deg', mapValues((v) => (v * 180) / Math.PI)],
  ['rad', mapValues((v) => (v * Math.PI) / 180)],
  ['sgn', mapValues(sgn)],
  [
    'round',
    (args, ts, state) => {
      // Multiplying by the inverse gives fewer floating point surprises (as Prometheus does).
      const inverse = 1 / scalarArg(args, 1, 1);
      return mapValues((v) => Math.floor(v * inverse + 0.5) / inverse)(args, ts, state);
    },
  ],
  ['clamp', (args, _ts, state) => clamp(args, state, scalarArg(args, 1, NaN), scalarArg(args, 2, NaN))],
  ['clamp_min', (args, _ts, state) => clamp(args, state, scalarArg(args, 1, NaN), Infinity)],
  ['clamp_max', (args, _ts, state) => clamp(args, state, -Infinity, scalarArg(args, 1, NaN))],
  ['day_of_month', dateFunction((d) => d.getUTCDate())],
  ['day_of_week', dateFunction((d) => d.getUTCDay())],
  [
    'day_of_year',
    dateFunction((d) => Math.floor((d.getTime() - Date.UTC(d.getUTCFullYear(), 0, 1)) / 86_400_000) + 1),
  ],
  [
    'days_in_month',
    dateFunction((d) => new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 0)).getUTCDate()),
  ],
  ['hour', dateFunction((d) => d.getUTCHours())],
  ['minute', dateFunction((d) => d.getUTCMinutes())],
  ['month', dateFunction((d) => d.getUTCMonth() + 1)],
  ['year', dateFunction((d) => d.getUTCFullYear())],
  ['time', (_args, ts, state) => [{ head: state.headFor(emptyLabels, false), v: ts / 1000 }]],
  ['pi', (_args, _ts, state) => [{ head: state.headFor(emptyLabels, false), v: Math.PI }]],
  ['vector', (args, _ts, state) => [{ head: state.headFor(emptyLabels, false), v: scalarArg(args, 0, NaN) }]],
  [
    'scalar',
    (args, _ts, state) => {
      const vec = args[0] ?? [];
      return [{ head: state.headFor(emptyLabels, false), v: vec.length === 1 ? (vec[0]?.v ?? NaN) : NaN }];
    },
  ],
  [
    'timestamp',
    (args, ts, state) => (args[0] ?? []).map((s) => ({ head: state.dropName(s.head), v: ts / 1000 })),
  ],
  [
    'min_of',
    (args, _ts, state) => [
      {
        head: state.headFor(emptyLabels, false),
        v: Math.min(scalarArg(args, 0, NaN), scalarArg(args, 1, NaN)),
      },
    ],
  ],
  [
    'max_of',
    (args, _ts, state) => [
      {
        head: state.headFor(emptyLabels, false),
        v: Math.max(scalarArg(args, 0, NaN), scalarArg(args, 1, NaN)),
      },
    ],
  ],
  ['sort', sortBy(1)],
  ['sort_desc', sortBy(-1)],
  [
    'absent',
    (args, _ts, state) =>
      (args[0] ?? []).length > 0 ? [] : [{ head: state.headFor(state.absentLabels, false), v: 1 }],
  ],
  ['histogram_quantile', histogramQuantile],
  ['histogram_fraction', histogramFraction],
]);
