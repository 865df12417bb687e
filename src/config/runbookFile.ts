import { z } from 'zod';
import { duration, labelSet, name } from './schemaParts.js';

const template = z.string().min(1);
const memberRef = { pool: template.optional(), member: template.optional() };

const ramp = z
  .union([
    z.literal('slowstart').describe("HAProxy's own slow start: maint → ready on a server with `slowstart`"),
    z.literal('none'),
    z.strictObject({
      weights: z
        .array(z.number().int().min(1).max(100))
        .min(1)
        .describe('percent of the member’s configured weight, in order'),
      interval: duration({ min: 100 }).prefault('5s'),
    }),
  ])
  .default('slowstart');

/** Step definitions by action; each has a timeout (DESIGN §6.6) with a sensible default. */
const steps = {
  'lb.drain': z.strictObject({
    action: z.literal('lb.drain'),
    name: z.string().optional(),
    timeout: duration({ min: 100 }).prefault('1m'),
    with: z
      .strictObject({
        ...memberRef,
        on_timeout: z
          .enum(['continue', 'fail'])
          .default('continue')
          .describe('what to do if sessions remain at the timeout'),
      })
      .prefault({}),
  }),
  'lb.maint': z.strictObject({
    action: z.literal('lb.maint'),
    name: z.string().optional(),
    timeout: duration({ min: 100 }).prefault('10s'),
    with: z.strictObject(memberRef).default({}),
  }),
  'lb.ready': z.strictObject({
    action: z.literal('lb.ready'),
    name: z.string().optional(),
    timeout: duration({ min: 100 }).prefault('2m'),
    with: z.strictObject({ ...memberRef, ramp }).prefault({}),
  }),
  'lb.weight': z.strictObject({
    action: z.literal('lb.weight'),
    name: z.string().optional(),
    timeout: duration({ min: 100 }).prefault('10s'),
    with: z.strictObject({ ...memberRef, weight: z.number().int().min(0).max(256) }),
  }),
  'service.restart': serviceStep('service.restart'),
  'service.start': serviceStep('service.start'),
  'service.stop': serviceStep('service.stop'),
  'wait.until': z.strictObject({
    action: z.literal('wait.until'),
    name: z.string().optional(),
    timeout: duration({ min: 100 }).prefault('1m'),
    with: z.strictObject({
      expr: z.string().min(1).describe('PromQL; the condition holds when it returns at least one sample'),
      for: duration().prefault('0s').describe('how long the condition must hold continuously'),
      interval: duration({ min: 100 }).prefault('1s'),
    }),
  }),
};

function serviceStep<A extends string>(action: A) {
  return z.strictObject({
    action: z.literal(action),
    name: z.string().optional(),
    timeout: duration({ min: 100 }).prefault('1m'),
    with: z
      .strictObject({ service: template.optional().describe('defaults to the target member') })
      .default({}),
  });
}

/** The actions a runbook step may name. */
export const STEP_ACTIONS = Object.keys(steps) as (keyof typeof steps)[];

const step = z.discriminatedUnion(
  'action',
  Object.values(steps) as unknown as [(typeof steps)['lb.drain'], ...(typeof steps)[keyof typeof steps][]],
  {
    error: (issue) =>
      issue.code === 'invalid_union' && 'note' in issue && issue.note === 'No matching discriminator'
        ? `unknown action; use one of ${STEP_ACTIONS.join(', ')}`
        : undefined,
  },
);

/** A runbook file: when it triggers, what it acts on, and its steps. */
export const runbookSchema = z.strictObject({
  name: name,
  description: z.string().default(''),
  trigger: z.strictObject({
    alert: z
      .union([z.string().min(1), z.array(z.string().min(1)).min(1)])
      .transform((a) => (typeof a === 'string' ? [a] : a))
      .describe('the alert name (or a list of names) that starts this runbook'),
    match: labelSet.default({}).describe('alert labels that must equal these values'),
  }),
  target: z
    .record(z.string(), template)
    .default({})
    .describe('target fields from alert labels, e.g. member: "{{ $labels.member }}"'),
  steps: z.array(step).min(1, { message: 'a runbook needs at least one step' }),
  on_failure: z
    .enum(['escalate', 'leave'])
    .default('escalate')
    .describe('escalate: notify that automation failed'),
});

/** A runbook after validation. */
export type RunbookConfig = z.output<typeof runbookSchema>;
/** One step of a runbook after validation. */
export type RunbookStepConfig = RunbookConfig['steps'][number];
