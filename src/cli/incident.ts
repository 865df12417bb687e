import type { Command } from 'commander';
import { callApi, withApiOptions, type ApiOptions } from './apiClient.js';
import { CliError, EXIT, printRows } from './common.js';

interface IncidentJson {
  id: number;
  status: string;
  severity: string;
  title: string;
  openedAt: number;
  resolvedAt: number | null;
}

const time = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

function incidentId(text: string): number {
  if (!/^\d+$/.test(text)) throw new CliError(`incident id must be a number, not "${text}"`, EXIT.usage);
  return Number(text);
}

/** `swas incident list|show|ack|resolve`, through the API. */
export function registerIncident(program: Command): void {
  const incident = program
    .command('incident')
    .description('list, inspect, acknowledge and resolve incidents');

  withApiOptions(incident.command('list').description('list incidents, newest first'))
    .option('--status <status>', 'open | acknowledged | resolved | unresolved')
    .option('--limit <n>', 'how many', '50')
    .action(async (options: ApiOptions & { status?: string; limit: string }) => {
      const query = new URLSearchParams({
        limit: options.limit,
        ...(options.status ? { status: options.status } : {}),
      });
      const { incidents } = await callApi<{ incidents: IncidentJson[] }>(
        options,
        'GET',
        `/api/v1/incidents?${query}`,
      );
      printRows(
        incidents.map((i) => ({ ...i, openedAt: time(i.openedAt), resolvedAt: time(i.resolvedAt) })),
        ['id', 'status', 'severity', 'title', 'openedAt', 'resolvedAt'],
        options.json === true,
      );
    });

  withApiOptions(
    incident.command('show').description('an incident with its timeline and runs').argument('<id>'),
  ).action(async (id: string, options: ApiOptions) => {
    const detail = await callApi<{
      incident: IncidentJson;
      timeline: { at: number; kind: string; message: string }[];
    }>(options, 'GET', `/api/v1/incidents/${incidentId(id)}`);
    if (options.json) return void process.stdout.write(`${JSON.stringify(detail, null, 2)}\n`);
    process.stdout.write(`#${detail.incident.id} [${detail.incident.status}] ${detail.incident.title}\n`);
    for (const t of detail.timeline)
      process.stdout.write(`  ${new Date(t.at).toISOString()}  ${t.kind.padEnd(22)} ${t.message}\n`);
  });

  for (const [verb, path, done] of [
    ['ack', 'ack', 'acknowledged'],
    ['resolve', 'resolve', 'resolved'],
  ] as const) {
    withApiOptions(incident.command(verb).description(`mark an incident ${done}`).argument('<id>')).action(
      async (id: string, options: ApiOptions) => {
        const { incident: updated } = await callApi<{ incident: IncidentJson }>(
          options,
          'POST',
          `/api/v1/incidents/${incidentId(id)}/${path}`,
        );
        if (options.json) process.stdout.write(`${JSON.stringify(updated)}\n`);
        else process.stdout.write(`incident ${updated.id} is ${updated.status}\n`);
      },
    );
  }
}
