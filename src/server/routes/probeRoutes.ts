import type { FastifyInstance } from 'fastify';
import type { ServerParts } from '../ServerParts.js';

/** `GET /api/v1/probes`: the server's probes and the last result of each (results are also probe_* series). */
export function probeRoutes(app: FastifyInstance, parts: ServerParts): void {
  app.get('/api/v1/probes', () => ({
    probes: parts.config().config.probes.map((p) => {
      const last = parts.probes.status().find((s) => s.probe === p.name) ?? null;
      return {
        name: p.name,
        kind: p.kind,
        interval: p.interval,
        labels: p.labels,
        vantage: 'server',
        last:
          last === null
            ? null
            : {
                at: new Date(last.at).toISOString(),
                success: last.result.success,
                durationSeconds: last.result.durationSeconds,
                error: last.result.error,
                metrics: last.result.metrics,
              },
      };
    }),
  }));
}
