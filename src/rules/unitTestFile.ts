import { z } from 'zod';
import { parseDuration } from '../core/index.js';

// promtool durations: `0`, `90s`, `2m59s999ms`, `100d`; YAML may hand over a bare 0 as a number.
const testDuration = z.union([z.string(), z.number()]).transform((raw, ctx) => {
  const text = String(raw).trim();
  const ms = text === '0' ? 0 : parseDuration(text);
  if (ms === null) {
    ctx.addIssue({
      code: 'custom',
      message: `"${text}" is not a duration; write e.g. 0, 30s, 5m, 1h30m or 2d`,
    });
    return z.NEVER;
  }
  return ms;
});

const textValue = z.union([z.string(), z.number()]).transform(String);

const stringMap = z.record(
  z.string(),
  textValue.nullable().transform((v) => v ?? ''),
);

const inputSeries = z.strictObject({
  series: z.string().min(1, { message: 'an input series needs a descriptor such as up{job="api"}' }),
  values: textValue.default(''),
});

const expectedAlert = z.strictObject({
  exp_labels: stringMap.nullish().transform((v) => v ?? {}),
  exp_annotations: stringMap.nullish().transform((v) => v ?? {}),
});

const alertTestCase = z.strictObject({
  eval_time: testDuration.prefault(0),
  alertname: z.string().min(1, { message: 'alert_rule_test needs the alertname to check' }),
  exp_alerts: z
    .array(expectedAlert)
    .nullish()
    .transform((v) => v ?? []),
});

const sampleValue = z.union([z.number(), z.string()]).transform((raw, ctx) => {
  const text = String(raw).trim().toLowerCase();
  const named: Record<string, number> = { nan: NaN, inf: Infinity, '+inf': Infinity, '-inf': -Infinity };
  const value = named[text] ?? Number(text);
  if (typeof raw === 'string' && text !== 'nan' && Number.isNaN(value)) {
    ctx.addIssue({ code: 'custom', message: `"${raw}" is not a number; write e.g. 1, 0.5, NaN or +Inf` });
    return z.NEVER;
  }
  return value;
});

const expectedSample = z.strictObject({
  labels: z
    .string()
    .nullish()
    .transform((v) => v ?? ''),
  value: sampleValue.prefault(0),
});

const promqlTestCase = z.strictObject({
  expr: textValue,
  eval_time: testDuration.prefault(0),
  exp_samples: z
    .array(expectedSample)
    .nullish()
    .transform((v) => v ?? []),
});

const testGroup = z.strictObject({
  name: z.string().optional(),
  interval: testDuration.optional(),
  input_series: z
    .array(inputSeries)
    .nullish()
    .transform((v) => v ?? []),
  alert_rule_test: z
    .array(alertTestCase)
    .nullish()
    .transform((v) => v ?? []),
  promql_expr_test: z
    .array(promqlTestCase)
    .nullish()
    .transform((v) => v ?? []),
  external_labels: stringMap.nullish().transform((v) => v ?? {}),
  external_url: z.string().optional(),
});

/** A promtool rule unit-test file (`promtool test rules` format). */
export const unitTestFileSchema = z.strictObject({
  rule_files: z
    .array(z.string())
    .nullish()
    .transform((v) => v ?? []),
  // 0 means "unset" to promtool, and would never advance the evaluation loop.
  evaluation_interval: testDuration.prefault('1m').transform((ms) => (ms === 0 ? 60_000 : ms)),
  group_eval_order: z
    .array(z.string())
    .nullish()
    .transform((v) => v ?? []),
  tests: z
    .array(testGroup.nullable().transform((v) => v ?? testGroup.parse({})))
    .nullish()
    .transform((v) => v ?? []),
  fuzzy_compare: z.boolean().default(false),
});

/** A unit-test file after validation; durations are in milliseconds. */
export type UnitTestFile = z.output<typeof unitTestFileSchema>;
/** One entry of `tests:`. */
export type UnitTestGroup = UnitTestFile['tests'][number];
/** One entry of `alert_rule_test:`. */
export type AlertTestCase = UnitTestGroup['alert_rule_test'][number];
/** One entry of `promql_expr_test:`. */
export type PromqlTestCase = UnitTestGroup['promql_expr_test'][number];
