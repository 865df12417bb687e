import { z } from 'zod';
import { compileAnchoredRe2 } from '../core/index.js';
import { duration, labelSet, name, recurringWindowFields } from './schemaParts.js';

/** The actions a runbook step may name. */
export const STEP_ACTIONS = [
  'lb.drain',
  'lb.maint',
  'lb.ready',
  'lb.weight',
  'service.restart',
  'service.start',
  'service.stop',
  'wait.until',
  'verify',
  'http',
  'notify',
  'page',
  'approve',
  'run',
  'host.reboot',
] as const;

// Built on first use (z.lazy), not when src/config is imported: the host agent imports src/config for
// agent.yaml and should not carry the runbook schema (issue 6, ADR 0003).
function buildRunbookSchema() {
  const template = z.string().min(1);

  const allowedWindows = z
    .array(z.strictObject(recurringWindowFields))
    .min(1, { message: 'list at least one window, or leave allowed_windows out to allow any time' })
    .describe('the run (or step) may act only while one of these recurring windows is open');
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
        check: z
          .string()
          .min(1)
          .optional()
          .describe(
            'templated PromQL that holds (returns a sample) while the member is healthy at its current weight, e.g. its error ratio and latency under limits; checked at every weight step, on regression the ramp backs off and the step fails',
          ),
      }),
    ])
    .default('slowstart');

  /** Step definitions by action; each has a timeout (DESIGN §6.6) with a sensible default. */
  const steps = {
    'lb.drain': z.strictObject({
      action: z.literal('lb.drain'),
      name: z.string().optional(),
      allowed_windows: allowedWindows.optional(),
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
      allowed_windows: allowedWindows.optional(),
      timeout: duration({ min: 100 }).prefault('10s'),
      with: z.strictObject(memberRef).default({}),
    }),
    'lb.ready': z.strictObject({
      action: z.literal('lb.ready'),
      name: z.string().optional(),
      allowed_windows: allowedWindows.optional(),
      timeout: duration({ min: 100 }).prefault('2m'),
      with: z.strictObject({ ...memberRef, ramp }).prefault({}),
    }),
    'lb.weight': z.strictObject({
      action: z.literal('lb.weight'),
      name: z.string().optional(),
      allowed_windows: allowedWindows.optional(),
      timeout: duration({ min: 100 }).prefault('10s'),
      with: z.strictObject({ ...memberRef, weight: z.number().int().min(0).max(256) }),
    }),
    'service.restart': serviceStep('service.restart'),
    'service.start': serviceStep('service.start'),
    'service.stop': serviceStep('service.stop'),
    'wait.until': z.strictObject({
      action: z.literal('wait.until'),
      name: z.string().optional(),
      allowed_windows: allowedWindows.optional(),
      timeout: duration({ min: 100 }).prefault('1m'),
      with: z.strictObject({
        expr: z.string().min(1).describe('PromQL; the condition holds when it returns at least one sample'),
        for: duration().prefault('0s').describe('how long the condition must hold continuously'),
        interval: duration({ min: 100 }).prefault('1s'),
      }),
    }),
    verify: z
      .strictObject({
        action: z.literal('verify'),
        name: z.string().optional(),
        allowed_windows: allowedWindows.optional(),
        timeout: duration({ min: 100 }).prefault('5m'),
        with: z.strictObject({
          expr: z.string().min(1).describe('PromQL; holds when it returns at least one sample'),
          for: duration({ min: 0 }).describe('how long the condition must hold without a break (required)'),
          interval: duration({ min: 100 }).prefault('1s').describe('how often the condition is evaluated'),
        }),
      })
      .refine((s) => s.timeout >= s.with.for, {
        path: ['timeout'],
        message: 'must be at least with.for, or the condition can never hold long enough',
      }),
    http: z.strictObject({
      action: z.literal('http'),
      name: z.string().optional(),
      allowed_windows: allowedWindows.optional(),
      timeout: duration({ min: 100 }).prefault('10s'),
      with: z.strictObject({
        method: z.enum(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE']).default('GET'),
        url: template
          .refine((u) => u.includes('{{') || /^https?:\/\//.test(u), {
            message: 'must start with http:// or https://',
          })
          .describe('templated; http and https only'),
        headers: z.record(z.string().regex(/^[A-Za-z0-9-]+$/), z.string()).default({}),
        headers_from_env: z
          .record(z.string().regex(/^[A-Za-z0-9-]+$/), z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/))
          .default({})
          .describe(
            "header values read from swas's environment at call time (keeps secrets out of runbooks)",
          ),
        body: z.string().optional().describe('templated request body'),
        expect_status: z
          .array(
            z.union([
              z.number().int().min(100).max(599),
              z
                .string()
                .regex(/^([1-5]xx|[1-5]\d\d-[1-5]\d\d)$/, { message: 'use 2xx or a range like 200-299' }),
            ]),
          )
          .min(1)
          .default(['2xx']),
        body_contains: z.string().min(1).optional().describe('text the response body must contain'),
      }),
    }),
    notify: z.strictObject({
      action: z.literal('notify'),
      name: z.string().optional(),
      allowed_windows: allowedWindows.optional(),
      timeout: duration({ min: 100 }).prefault('30s'),
      with: z.strictObject({ message: template.describe('templated text for the notification channels') }),
    }),
    page: z.strictObject({
      action: z.literal('page'),
      name: z.string().optional(),
      allowed_windows: allowedWindows.optional(),
      timeout: duration({ min: 100 }).prefault('30s'),
      with: z.strictObject({
        message: template.describe('why a human is needed'),
        then: z
          .enum(['continue', 'stop'])
          .default('stop')
          .describe('after paging: go on with the run, or end it failed'),
      }),
    }),
    approve: z.strictObject({
      action: z.literal('approve'),
      name: z.string().optional(),
      allowed_windows: allowedWindows.optional(),
      timeout: duration({ min: 1000 }).prefault('30m').describe('how long to wait for a human'),
      with: z
        .strictObject({
          prompt: template.default('approve this run to continue').describe('what the approver is asked'),
          on_timeout: z.enum(['fail', 'continue']).default('fail'),
        })
        .prefault({}),
    }),
    run: z.strictObject({
      action: z.literal('run'),
      name: z.string().optional(),
      allowed_windows: allowedWindows.optional(),
      timeout: duration({ min: 100 }).prefault('5m'),
      with: z.strictObject({
        command: name.describe('a command from swas.yaml `commands:`'),
        args: z
          .record(z.string(), template)
          .default({})
          .describe('values for the placeholders the command declares'),
      }),
    }),
    'host.reboot': z.strictObject({
      action: z.literal('host.reboot'),
      name: z.string().optional(),
      allowed_windows: allowedWindows.optional(),
      timeout: duration({ min: 1000 })
        .prefault('10m')
        .describe('for the reboot command and the host to come back'),
      with: z.strictObject({
        host: template.describe('a host from swas.yaml `hosts:`'),
        up: z
          .string()
          .min(1)
          .describe('PromQL that holds when the host is back, e.g. up{instance="web-1:9100"} == 1'),
        expect_down: z.boolean().default(true).describe('see `up` fail once before accepting it as back'),
      }),
    }),
  } satisfies Record<(typeof STEP_ACTIONS)[number], z.ZodType>;

  function serviceStep<A extends string>(action: A) {
    return z.strictObject({
      action: z.literal(action),
      name: z.string().optional(),
      allowed_windows: allowedWindows.optional(),
      timeout: duration({ min: 100 }).prefault('1m'),
      with: z
        .strictObject({ service: template.optional().describe('defaults to the target member') })
        .default({}),
    });
  }

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

  return z.strictObject({
    name: name,
    description: z.string().default(''),
    trigger: z
      .strictObject({
        alert: z
          .union([z.string().min(1), z.array(z.string().min(1)).min(1)])
          .transform((a) => (typeof a === 'string' ? [a] : a))
          .optional()
          .describe('the alert name (or a list of names) that starts this runbook'),
        match: labelSet.default({}).describe('alert labels that must equal these values'),
        manual: z
          .literal(true)
          .optional()
          .describe('started only by people (`swas runbook run`), never by an alert'),
      })
      .refine((t) => (t.alert === undefined) !== (t.manual === undefined), {
        message: 'set trigger.alert (started by that alert) or trigger.manual: true (started by people only)',
      }),
    target: z
      .record(z.string(), template)
      .default({})
      .describe('target fields from alert labels, e.g. member: "{{ $labels.member }}"'),
    steps: z.array(step).min(1, { message: 'a runbook needs at least one step' }),
    undo: z
      .array(step)
      .min(1, { message: 'undo needs at least one step; leave it out to let swas derive the undo' })
      .optional()
      .describe(
        'steps that put things back when the run fails or cannot resume; without it swas restores every member the run touched',
      ),
    guards: z
      .strictObject({
        max_targets: z
          .number()
          .int()
          .min(1)
          .default(1)
          .describe(
            'a run whose target set is larger aborts before any action (DESIGN §6.1); empty always aborts',
          ),
        flap_budget: z
          .strictObject({
            runs: z.number().int().min(1).default(3).describe('runs per target within the window'),
            window: duration({ min: 60_000 }).prefault('1h'),
          })
          .prefault({})
          .describe(
            'past the budget the target is quarantined (left out, not retried) and a human is paged once',
          ),
        concurrency: z
          .enum(['pool', 'independent'])
          .default('pool')
          .describe('pool: runs on the same pool wait for each other; independent: they run side by side'),
        allowed_windows: allowedWindows.optional(),
      })
      .prefault({}),
    rolling: z
      .strictObject({
        pool: template.describe('the pool to roll through (templated)'),
        members: z
          .string()
          .min(1)
          .superRefine((pattern, ctx) => {
            const compiled = compileAnchoredRe2(pattern);
            if (!compiled.ok) ctx.addIssue({ code: 'custom', message: compiled.error });
          })
          .optional()
          .describe('regex (fully anchored) over member names; all members when left out'),
        batch: z
          .union([
            z.number().int().min(1),
            z
              .string()
              .regex(/^(100|[1-9]\d?)%$/, { message: 'a count, or a percent from 1% to 100% like 25%' }),
          ])
          .default(1)
          .describe(
            'members acted on together: a count, or a share of the selected members (rounded down, at least 1)',
          ),
      })
      .optional()
      .describe(
        'run the steps for each member of a pool in turn: each batch is drained, acted on, verified and ramped before the next; a failure halts and undoes the current batch',
      ),
    on_failure: z
      .enum(['escalate', 'leave'])
      .default('escalate')
      .describe('escalate: notify that automation failed'),
  });
}

/** A runbook file: when it triggers, what it acts on, and its steps. */
export const runbookSchema = z.lazy(buildRunbookSchema);

/** A runbook after validation. */
export type RunbookConfig = z.output<typeof runbookSchema>;
/** One step of a runbook after validation. */
export type RunbookStepConfig = RunbookConfig['steps'][number];
