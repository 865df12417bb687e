import type { ValueType } from './ast.js';

/** What the type checker knows about a PromQL function. */
export interface FunctionSignature {
  readonly name: string;
  readonly argTypes: readonly ValueType[];
  /** 0: exactly argTypes; n > 0: up to n extra optional trailing args; -1: any number of the last type. */
  readonly variadic: number;
  readonly returnType: ValueType;
  /** Whether swas evaluates it; a known but unsupported function is refused at parse time. */
  readonly supported: boolean;
  /** Why it is not supported, for the error message. */
  readonly reason?: string;
}

const S: ValueType = 'scalar';
const V: ValueType = 'vector';
const M: ValueType = 'matrix';
const Str: ValueType = 'string';

const experimental = 'it is experimental in Prometheus';
const nativeHistograms = 'it works on native histograms, which swas does not store';

function fn(
  name: string,
  argTypes: ValueType[],
  returnType: ValueType,
  variadic = 0,
  reason?: string,
): FunctionSignature {
  return reason === undefined
    ? { name, argTypes, variadic, returnType, supported: true }
    : { name, argTypes, variadic, returnType, supported: false, reason };
}

const mathFunctions = [
  'abs',
  'acos',
  'acosh',
  'asin',
  'asinh',
  'atan',
  'atanh',
  'ceil',
  'cos',
  'cosh',
  'deg',
  'exp',
  'floor',
  'ln',
  'log10',
  'log2',
  'rad',
  'sgn',
  'sin',
  'sinh',
  'sqrt',
  'tan',
  'tanh',
];
const overTimeFunctions = [
  'absent_over_time',
  'avg_over_time',
  'changes',
  'count_over_time',
  'delta',
  'deriv',
  'first_over_time',
  'idelta',
  'increase',
  'irate',
  'last_over_time',
  'max_over_time',
  'min_over_time',
  'present_over_time',
  'rate',
  'resets',
  'stddev_over_time',
  'stdvar_over_time',
  'sum_over_time',
];
const dateFunctions = [
  'day_of_month',
  'day_of_week',
  'day_of_year',
  'days_in_month',
  'hour',
  'minute',
  'month',
  'year',
];

const all: FunctionSignature[] = [
  ...mathFunctions.map((name) => fn(name, [V], V)),
  ...overTimeFunctions.map((name) => fn(name, [M], V)),
  ...dateFunctions.map((name) => fn(name, [V], V, 1)),
  fn('absent', [V], V),
  fn('clamp', [V, S, S], V),
  fn('clamp_max', [V, S], V),
  fn('clamp_min', [V, S], V),
  fn('histogram_quantile', [S, V], V),
  fn('label_join', [V, Str, Str, Str], V, -1),
  fn('label_replace', [V, Str, Str, Str, Str], V),
  fn('pi', [], S),
  fn('predict_linear', [M, S], V),
  fn('quantile_over_time', [S, M], V),
  fn('round', [V, S], V, 1),
  fn('scalar', [V], S),
  fn('sort', [V], V),
  fn('sort_desc', [V], V),
  fn('time', [], S),
  fn('timestamp', [V], V),
  fn('vector', [S], V),
  fn('histogram_avg', [V], V, 0, nativeHistograms),
  fn('histogram_count', [V], V, 0, nativeHistograms),
  fn('histogram_fraction', [S, S, V], V),
  fn('histogram_stddev', [V], V, 0, nativeHistograms),
  fn('histogram_stdvar', [V], V, 0, nativeHistograms),
  fn('histogram_sum', [V], V, 0, nativeHistograms),
  fn('double_exponential_smoothing', [M, S, S], V),
  fn('end', [], S),
  fn('histogram_quantiles', [V, Str, S, S], V, 9),
  fn('info', [V, V], V, 1, experimental),
  fn('mad_over_time', [M], V),
  fn('max_of', [S, S], S),
  fn('min_of', [S, S], S),
  fn('range', [], S),
  fn('sort_by_label', [V, Str], V, -1),
  fn('sort_by_label_desc', [V, Str], V, -1),
  fn('start', [], S),
  fn('start_timestamp', [V], V, 0, experimental),
  fn('step', [], S),
  fn('ts_of_first_over_time', [M], V),
  fn('ts_of_last_over_time', [M], V),
  fn('ts_of_max_over_time', [M], V),
  fn('ts_of_min_over_time', [M], V),
];

/** Every function PromQL knows, by name, with whether swas evaluates it. */
export const functionSignatures: ReadonlyMap<string, FunctionSignature> = new Map(
  all.map((f) => [f.name, f]),
);
