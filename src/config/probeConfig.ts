import { z } from 'zod';
import { httpProbeSchema, httpScenarioSchema } from './httpProbeSchema.js';
import { dnsProbeSchema, tcpProbeSchema, tlsProbeSchema } from './netProbeSchema.js';
import { duration, labelSet, name } from './schemaParts.js';

// Labels swas sets on every probe series itself.
const RESERVED_LABELS = ['probe', 'kind', 'vantage', '__name__'];

/** What every probe has besides its kind's fields. */
const common = {
  name: name.describe('the probe’s name: the `probe` label of its series'),
  interval: duration({ min: 1000 }).prefault('30s').describe('how often the probe runs'),
  labels: labelSet
    .refine((labels) => !Object.keys(labels).some((l) => RESERVED_LABELS.includes(l)), {
      message: `probe, kind and vantage are set by swas; pick other label names`,
    })
    .default({})
    .describe('extra labels on every series of the probe, e.g. service: web'),
  quorum: z
    .number()
    .int()
    .min(1, { message: 'must be at least 1: the vantage points that must agree the probe fails' })
    .default(1)
    .describe(
      'probe_quorum_failing{probe} is 1 only while at least this many vantage points (server, agents) see the probe fail',
    ),
};

/** One black-box probe in swas.yaml `probes:`, by kind. */
export const probeConfig = z.discriminatedUnion(
  'kind',
  [
    httpProbeSchema.extend(common),
    httpScenarioSchema.extend(common),
    tcpProbeSchema.extend(common),
    dnsProbeSchema.extend(common),
    tlsProbeSchema.extend(common),
  ],
  { error: 'a probe has `kind:` http, http_scenario, tcp, dns or tls' },
);

/** A probe after validation: durations in ms. */
export type ProbeConfig = z.output<typeof probeConfig>;
