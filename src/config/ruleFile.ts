import { z } from 'zod';
import { duration, labelName, labelSet } from './schemaParts.js';

const metricName = z.string().regex(/^[a-zA-Z_:][a-zA-Z0-9_:]*$/, { message: 'not a valid metric name' });

const alertingRule = z.strictObject({
  alert: z.string().min(1, { message: 'an alert needs a name' }),
  expr: z.union([z.string(), z.number()]).transform(String),
  for: duration().prefault('0s'),
  keep_firing_for: duration().prefault('0s'),
  labels: labelSet.default({}),
  annotations: z.record(labelName, z.string()).default({}),
});

const recordingRule = z.strictObject({
  record: metricName,
  expr: z.union([z.string(), z.number()]).transform(String),
  labels: labelSet.default({}),
});

const rule = z.union([alertingRule, recordingRule], {
  error: 'a rule has either `alert:` (alerting rule) or `record:` (recording rule), with `expr:`',
});

const ruleGroup = z.strictObject({
  name: z.string().min(1, { message: 'a group needs a name' }),
  interval: duration({ min: 1000 }).optional(),
  limit: z.number().int().min(0).default(0),
  rules: z.array(rule).default([]),
});

/** A Prometheus rule file: `groups:` of alerting and recording rules. */
export const ruleFileSchema = z.strictObject({
  groups: z.array(ruleGroup).default([]),
});

/** A rule file after validation. */
export type RuleFile = z.output<typeof ruleFileSchema>;
export type RuleGroupConfig = z.output<typeof ruleGroup>;
export type AlertingRuleConfig = z.output<typeof alertingRule>;
export type RecordingRuleConfig = z.output<typeof recordingRule>;
