import { z } from 'zod';
import { parseCron, parseDuration, timeZoneProblem } from '../core/index.js';

/** A Prometheus-style duration (`500ms`, `1s`, `5m`, `1h30m`), parsed to milliseconds. */
export function duration(options: { min?: number; max?: number } = {}) {
  return z
    .string()
    .meta({ format: 'duration', examples: ['1s', '5m'] })
    .transform((text, ctx) => {
      const ms = parseDuration(text);
      if (ms === null) {
        ctx.addIssue({
          code: 'custom',
          message: `"${text}" is not a duration; write it like 500ms, 15s, 5m or 1h30m`,
        });
        return z.NEVER;
      }
      if (options.min !== undefined && ms < options.min) {
        ctx.addIssue({ code: 'custom', message: `${text} is too short; the minimum is ${options.min} ms` });
        return z.NEVER;
      }
      if (options.max !== undefined && ms > options.max) {
        ctx.addIssue({ code: 'custom', message: `${text} is too long; the maximum is ${options.max} ms` });
        return z.NEVER;
      }
      return ms;
    });
}

const labelNamePattern = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/** A Prometheus label name. */
export const labelName = z.string().regex(labelNamePattern, {
  message: 'a label name starts with a letter or _ and holds only letters, digits and _',
});

/** A label set: valid names to string values. */
export const labelSet = z.record(labelName, z.string());

/** A non-empty identifier-like name used for rules, runbooks, pools, services. */
export const name = z
  .string()
  .min(1, { message: 'must not be empty' })
  .regex(/^[A-Za-z0-9_.:-]+$/, { message: 'use letters, digits and _ . : - only' });

/** `host:port`, with the port in range. */
export const hostPort = z
  .string()
  .refine(
    (v) => /^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/.test(v) && Number(v.split(':').pop()) <= 65535,
    {
      message: 'must be host:port, e.g. 127.0.0.1:7927',
    },
  );

/** A command as an argument vector (no shell), e.g. `[systemctl, restart, app]`. */
export const commandArgv = z
  .array(z.string().min(1))
  .min(1, { message: 'a command needs at least the program' });

/** When a recurring window opens, how long it lasts and the zone its schedule is read in. */
export const recurringWindowFields = {
  schedule: z
    .string()
    .min(1)
    .superRefine((text, ctx) => {
      const parsed = parseCron(text);
      if (!parsed.ok) ctx.addIssue({ code: 'custom', message: parsed.error });
    })
    .describe(
      'when each window starts: cron (minute hour day-of-month month day-of-week), e.g. "0 2 * * SUN"',
    ),
  duration: duration({ min: 60_000, max: 7 * 86_400_000 }).describe('how long each window lasts'),
  time_zone: z
    .string()
    .default('UTC')
    .superRefine((zone, ctx) => {
      const problem = timeZoneProblem(zone);
      if (problem !== null) ctx.addIssue({ code: 'custom', message: problem });
    })
    .describe('IANA time zone the schedule is read in; DST-correct'),
};
