import { z } from 'zod';

/**
 * A pool's safety limits (DESIGN §6.2, §6.3): how many members may be out of service at once, and how
 * much load the members that stay must be able to carry before one is taken out.
 */
export const poolGuards = z
  .strictObject({
    max_out: z
      .number()
      .int()
      .min(0)
      .default(1)
      .describe(
        'members out of service (drain, maint, weight 0 or failing health checks) at once, across all runs and people',
      ),
    max_out_percent: z
      .number()
      .min(0)
      .max(100)
      .optional()
      .describe('the same limit as a share of the pool; the stricter of the two applies'),
    capacity: z
      .strictObject({
        load: z
          .string()
          .min(1)
          .describe('PromQL: the pool’s current load (e.g. requests/s), summed over what it returns'),
        member_capacity: z
          .number()
          .positive()
          .optional()
          .describe('the load one member carries at its configured weight'),
        member_capacity_query: z
          .string()
          .min(1)
          .optional()
          .describe('PromQL for the same, measured (summed over what it returns)'),
        headroom: z
          .number()
          .min(0)
          .max(0.9)
          .default(0.2)
          .describe('share of capacity the remaining members keep spare: 0.2 runs them at 80% at most'),
        fallback: z
          .enum(['shed', 'page'])
          .default('shed')
          .describe(
            'when the rest cannot carry the load: shed lowers the member’s weight as far as the pool allows and waits for capacity until the step timeout; page refuses and pages',
          ),
      })
      .refine((c) => (c.member_capacity === undefined) !== (c.member_capacity_query === undefined), {
        message: 'set exactly one of member_capacity and member_capacity_query',
      })
      .optional()
      .describe('check before a member leaves that the others can carry the load (DESIGN §6.2)'),
  })
  .prefault({});

/** A pool's guards after validation. */
export type PoolGuardsConfig = z.output<typeof poolGuards>;
