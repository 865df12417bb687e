import type { Command } from 'commander';
import { callApi, withApiOptions, type ApiOptions } from './apiClient.js';
import { formatDuration, parseDuration, parseMatchers } from '../core/index.js';
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

interface IncidentListFlags {
  status?: string;
  severity?: string;
  match: string[];
  since?: string;
  until?: string;
  before?: string;
  limit: string;
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

/** Checks the list flags here, so typos fail fast with the flag's name; the server checks them again. */
function incidentQuery(flags: IncidentListFlags): URLSearchParams {
  if (!/^\d+$/.test(flags.limit))
    throw new CliError(`--limit must be a whole number, not "${flags.limit}"`, EXIT.usage);
  if (flags.before !== undefined && !/^\d+$/.test(flags.before))
    throw new CliError(`--before must be an incident id, not "${flags.before}"`, EXIT.usage);
  const query = new URLSearchParams({ limit: flags.limit });
  for (const [name, value] of [
    ['status', flags.status],
    ['severity', flags.severity],
    ['since', flags.since],
    ['until', flags.until],
    ['before', flags.before],
  ] as const) {
    if (value !== undefined) query.set(name, value);
  }
  for (const text of flags.match) {
    const parsed = parseMatchers(text);
    if (!parsed.ok) throw new CliError(`--match ${JSON.stringify(text)}: ${parsed.error}`, EXIT.usage);
    query.append('match', text);
  }
  return query;
}

/** `swas incident list|show|ack|resolve|silence`, through the API. */
export function registerIncident(program: Command): void {
  const incident = program
    .command('incident')
    .description('list, inspect, acknowledge and resolve incidents');

  withApiOptions(incident.command('list').description('list incidents, newest first'))
    .option('--status <status>', 'open | acknowledged | resolved | unresolved; comma-separated for several')
    .option('--severity <severity>', 'only these severities, comma-separated')
    .option(
      '--match <matchers>',
      'only incidents whose labels match, e.g. \'alertname="HostDown"\' (repeatable)',
      collect,
      [],
    )
    .option('--since <time>', 'opened at or after: RFC 3339, epoch ms, or a duration ago (24h)')
    .option('--until <time>', 'opened before: RFC 3339, epoch ms, or a duration ago')
    .option('--before <id>', 'the next page: the id printed after the previous page')
    .option('--limit <n>', 'how many', '50')
    .action(async (options: ApiOptions & IncidentListFlags) => {
      const query = incidentQuery(options);
      const { incidents, next } = await callApi<{ incidents: IncidentJson[]; next: number | null }>(
        options,
        'GET',
        `/api/v1/incidents?${query}`,
      );
      printRows(
        incidents.map((i) => ({ ...i, openedAt: time(i.openedAt), resolvedAt: time(i.resolvedAt) })),
        ['id', 'status', 'severity', 'title', 'openedAt', 'resolvedAt'],
        options.json === true,
      );
      if (next !== null && options.json !== true) process.stderr.write(`more: add --before ${next}\n`);
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

  registerSilence(incident);
}

interface SilenceJson {
  id: number;
  state: string;
  matchersText: string;
  startsAt: number;
  endsAt: number;
  createdBy: string;
  comment: string;
  expiredAt: number | null;
}

interface SilenceFlags {
  match: string[];
  for?: string;
  until?: string;
  start?: string;
  comment: string;
}

const silenceColumns = ['id', 'state', 'matchers', 'startsAt', 'endsAt', 'createdBy', 'comment'];
const silenceRow = (s: SilenceJson) => ({
  ...s,
  matchers: s.matchersText,
  startsAt: time(s.startsAt),
  endsAt: time(s.endsAt),
});

/** Reads --start/--until: RFC 3339 or epoch ms; the server re-checks and also refuses ends in the past. */
function flagTime(text: string, flag: string): string | number {
  if (/^\d+$/.test(text)) return Number(text);
  if (/^\d{4}-\d\d-\d\dT/.test(text) && !Number.isNaN(Date.parse(text))) return text;
  throw new CliError(
    `${flag} must be an RFC 3339 time (2026-01-31T18:00:00Z) or epoch ms, not "${text}"`,
    EXIT.usage,
  );
}

/** Turns the create flags into the API body, refusing bad flags with exit 2 before calling the server. */
function silenceBody(flags: SilenceFlags): Record<string, unknown> {
  if (flags.match.length === 0)
    throw new CliError('give at least one --match, e.g. --match \'alertname="HostDown"\'', EXIT.usage);
  const matchers = [];
  for (const text of flags.match) {
    const parsed = parseMatchers(text);
    if (!parsed.ok) throw new CliError(`--match ${JSON.stringify(text)}: ${parsed.error}`, EXIT.usage);
    matchers.push(...parsed.matchers);
  }
  if ((flags.for === undefined) === (flags.until === undefined))
    throw new CliError(
      'say how long the silence lasts: give --for (e.g. 2h) or --until (a time), not both',
      EXIT.usage,
    );
  const body: Record<string, unknown> = { matchers, comment: flags.comment };
  if (flags.for !== undefined) {
    const ms = parseDuration(flags.for);
    if (ms === null || ms === 0)
      throw new CliError(
        `--for must be a positive duration such as 2h or 1h30m, not "${flags.for}"`,
        EXIT.usage,
      );
    body.duration = formatDuration(ms);
  }
  if (flags.until !== undefined) body.endsAt = flagTime(flags.until, '--until');
  if (flags.start !== undefined) body.startsAt = flagTime(flags.start, '--start');
  return body;
}

/** `swas incident silence [create]|list|expire`: silences mute matching alerts for a while. */
function registerSilence(incident: Command): void {
  const silence = incident
    .command('silence')
    .description('silence matching alerts for a while: create (the default), list, expire');

  withApiOptions(
    silence
      .command('create', { isDefault: true })
      .description('silence alerts matching every --match until --for has passed or --until'),
  )
    .option(
      '--match <matchers>',
      'label matchers, e.g. \'alertname="HostDown", instance=~"web-.*"\' (repeatable)',
      collect,
      [],
    )
    .option('--for <duration>', 'how long, e.g. 2h')
    .option('--until <time>', 'when it ends: RFC 3339 or epoch ms')
    .option('--start <time>', 'when it starts (default now): RFC 3339 or epoch ms')
    .requiredOption('--comment <text>', 'why alerts are silenced')
    .action(async (options: ApiOptions & SilenceFlags) => {
      const { silence: created } = await callApi<{ silence: SilenceJson }>(
        options,
        'POST',
        '/api/v1/silences',
        silenceBody(options),
      );
      if (options.json) process.stdout.write(`${JSON.stringify(created)}\n`);
      else
        process.stdout.write(
          `silence ${created.id} (${created.state}) mutes ${created.matchersText} until ${time(created.endsAt)}\n`,
        );
    });

  withApiOptions(silence.command('list').description('list silences, newest first'))
    .option('--active', 'only silences active now')
    .option('--inactive', 'only silences not active now (not started, ended or expired)')
    .option('--limit <n>', 'how many', '100')
    .action(async (options: ApiOptions & { active?: boolean; inactive?: boolean; limit: string }) => {
      if (options.active && options.inactive)
        throw new CliError('give --active or --inactive, not both', EXIT.usage);
      const query = new URLSearchParams({ limit: options.limit });
      if (options.active) query.set('active', 'true');
      if (options.inactive) query.set('active', 'false');
      const { silences } = await callApi<{ silences: SilenceJson[] }>(
        options,
        'GET',
        `/api/v1/silences?${query}`,
      );
      if (options.json) return void process.stdout.write(`${JSON.stringify(silences, null, 2)}\n`);
      printRows(silences.map(silenceRow), silenceColumns, false);
    });

  withApiOptions(silence.command('expire').description('end a silence now').argument('<id>')).action(
    async (id: string, options: ApiOptions) => {
      if (!/^\d+$/.test(id)) throw new CliError(`silence id must be a number, not "${id}"`, EXIT.usage);
      const { silence: expired } = await callApi<{ silence: SilenceJson }>(
        options,
        'DELETE',
        `/api/v1/silences/${id}`,
      );
      if (options.json) process.stdout.write(`${JSON.stringify(expired)}\n`);
      else process.stdout.write(`silence ${expired.id} is expired\n`);
    },
  );
  // main.ts turns usage errors into exit code 2 for two levels of commands; these are the third.
  silence.exitOverride();
  for (const command of silence.commands) command.exitOverride();
}
