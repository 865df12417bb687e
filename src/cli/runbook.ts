import { InvalidArgumentError, type Command } from 'commander';
import { callApi, withApiOptions, type ApiOptions } from './apiClient.js';
import type { DryRunReport } from '../runbooks/index.js';
import type { Quarantine, Run, RunWithSteps } from '../store/index.js';
import { CliError, EXIT, printRows } from './common.js';

/** `swas runbook list|runs|approve|dry-run|run|show|cancel|quarantine`, through the API. */
export function registerRunbook(program: Command): void {
  const runbook = program.command('runbook').description('runbooks and their runs');

  withApiOptions(runbook.command('list').description('loaded runbooks')).action(
    async (options: ApiOptions) => {
      const { runbooks } = await callApi<{
        runbooks: {
          name: string;
          trigger: { alert?: string[]; manual?: true };
          steps: { action: string }[];
          file: string;
        }[];
      }>(options, 'GET', '/api/v1/runbooks');
      printRows(
        runbooks.map((r) => ({
          name: r.name,
          alert: r.trigger.alert === undefined ? 'manual' : r.trigger.alert.join(', '),
          steps: r.steps.map((s) => s.action).join(' → '),
          file: r.file,
        })),
        ['name', 'alert', 'steps', 'file'],
        options.json === true,
      );
    },
  );

  withApiOptions(runbook.command('runs').description('recent runs, newest first'))
    .option('--status <status>', 'pending | running | parked | succeeded | failed | cancelled')
    .action(async (options: ApiOptions & { status?: string }) => {
      const query = options.status ? `?status=${encodeURIComponent(options.status)}` : '';
      const { runs } = await callApi<{
        runs: {
          id: string;
          runbook: string;
          status: string;
          target: Record<string, string>;
          incidentId: number | null;
          error: string | null;
        }[];
      }>(options, 'GET', `/api/v1/runs${query}`);
      printRows(
        runs.map((r) => ({ ...r, target: Object.values(r.target).join('/') })),
        ['id', 'runbook', 'status', 'target', 'incidentId', 'error'],
        options.json === true,
      );
    });

  withApiOptions(
    runbook
      .command('approve')
      .description('approve (or --reject) the approve step a run is waiting at')
      .argument('<run>', 'run id (see `swas runbook runs`)'),
  )
    .option('--reject', 'reject instead: the step fails and the run stops')
    .option('--comment <text>', 'why; kept in the audit log and the run')
    .action(async (run: string, options: ApiOptions & { reject?: boolean; comment?: string }) => {
      const answer = await callApi<{ run: string; step: number; name: string; decision: string; by: string }>(
        options,
        'POST',
        `/api/v1/runs/${encodeURIComponent(run)}/approve`,
        {
          decision: options.reject === true ? 'rejected' : 'approved',
          ...(options.comment === undefined ? {} : { comment: options.comment }),
        },
      );
      if (options.json === true) return void process.stdout.write(`${JSON.stringify(answer, null, 2)}\n`);
      process.stdout.write(
        `run ${answer.run} step ${answer.step + 1} (${answer.name}): ${answer.decision} by ${answer.by}\n`,
      );
    });

  registerRunbookOps(runbook);
}

/** Exit code of `swas runbook dry-run` when a guard refuses (or the runbook cannot be planned). */
export const EXIT_REFUSED = 3;

// Step params swas adds for itself; dry-run and show leave them out of the key params.
const INTERNAL_PARAMS = new Set(['timeout_ms', 'phase', 'allowed_windows']);

interface GuardRow {
  guard: string;
  ok: boolean;
  detail: string;
}

interface StepRow {
  name: string;
  action: string;
  params: Record<string, unknown>;
}

/** Collects repeated `--label name=value` options into one label set. */
export function collectLabel(value: string, labels: Record<string, string> = {}): Record<string, string> {
  const match = /^([a-zA-Z_][a-zA-Z0-9_]*)=(.*)$/s.exec(value);
  if (match === null)
    throw new InvalidArgumentError(
      `expected name=value with a label name [a-zA-Z_][a-zA-Z0-9_]*, e.g. --label member=web-1, not "${value}"`,
    );
  const [, name = '', labelValue = ''] = match;
  return { ...labels, [name]: labelValue };
}

const keyParams = (params: Record<string, unknown>): string =>
  Object.entries(params)
    .filter(([k]) => !INTERNAL_PARAMS.has(k))
    .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
    .join(' ');

const guardLine = (g: GuardRow, indent: string): string =>
  `${indent}${g.ok ? 'ok     ' : 'REFUSED'}  ${g.guard}: ${g.detail}`;

const stepLine = (s: StepRow, i: number): string =>
  `  ${i + 1}. ${s.name} (${s.action}) ${keyParams(s.params)}`.trimEnd();

/** The dry-run report as people read it: target, start guards, each step with its verdicts, the undo. */
export function formatDryRun(report: DryRunReport): string {
  const lines = [
    `runbook ${report.runbook}: ${report.ok ? 'would act as shown' : 'REFUSED: a guard says no'}`,
  ];
  if (report.error !== null) return [...lines, `cannot plan the run: ${report.error}`].join('\n');
  const target = Object.entries(report.target ?? {}).map(([k, v]) => `${k}=${v}`);
  lines.push(`target: ${target.join(' ') || '(none)'}`, 'start guards:');
  lines.push(...report.guards.map((g) => guardLine(g, '  ')));
  lines.push('steps:');
  report.steps.forEach((step, i) => {
    lines.push(stepLine(step, i));
    lines.push(...step.guards.map((g) => guardLine(g, '       ')));
  });
  if (report.undo === 'derived') lines.push('undo: derived (swas restores every member the run touched)');
  else lines.push('undo:', ...report.undo.map(stepLine));
  return lines.join('\n');
}

type LabelOptions = ApiOptions & { label?: Record<string, string> };

function withLabels(command: Command): Command {
  return withApiOptions(command).option(
    '--label <name=value>',
    'a label the runbook reads as {{ $labels.name }} (repeatable)',
    collectLabel,
  );
}

function registerDryRunAndRun(runbook: Command): void {
  withLabels(
    runbook
      .command('dry-run')
      .description(
        `what a run would do now, with every guard's verdict; acts on nothing (exit ${EXIT_REFUSED} when a guard refuses)`,
      )
      .argument('<name>', 'runbook name (see `swas runbook list`)'),
  ).action(async (name: string, options: LabelOptions) => {
    const report = await callApi<DryRunReport>(
      options,
      'POST',
      `/api/v1/runbooks/${encodeURIComponent(name)}/dry-run`,
      {
        labels: options.label ?? {},
      },
    );
    process.stdout.write(
      `${options.json === true ? JSON.stringify(report, null, 2) : formatDryRun(report)}\n`,
    );
    if (!report.ok)
      throw new CliError(`dry run of ${name}: a guard refuses or the run cannot be planned`, EXIT_REFUSED);
  });

  withLabels(
    runbook
      .command('run')
      .description(
        'start a run now (manual runbooks, or alert-triggered ones with --label standing in for the alert)',
      )
      .argument('<name>', 'runbook name (see `swas runbook list`)'),
  ).action(async (name: string, options: LabelOptions) => {
    const { run } = await callApi<{ run: Run }>(
      options,
      'POST',
      `/api/v1/runbooks/${encodeURIComponent(name)}/run`,
      {
        labels: options.label ?? {},
      },
    );
    if (options.json === true) return void process.stdout.write(`${JSON.stringify(run, null, 2)}\n`);
    process.stdout.write(
      `run ${run.id} started (${run.runbook}); follow it with \`swas runbook show ${run.id}\`\n`,
    );
  });
}

/** A run and its steps as people read them. */
export function formatRun({ run, steps }: RunWithSteps): string {
  const target = Object.entries(run.target).map(([k, v]) => `${k}=${v}`);
  const lines = [
    `run ${run.id}: ${run.runbook}, ${run.status}`,
    `target: ${target.join(' ') || '(none)'}`,
    `created ${new Date(run.createdAt).toISOString()}${run.finishedAt === null ? '' : `, finished ${new Date(run.finishedAt).toISOString()}`}`,
  ];
  if (run.error !== null) lines.push(`error: ${run.error}`);
  lines.push('steps:');
  for (const step of steps) {
    const phase = step.params.phase === 'undo' ? ' [undo]' : '';
    lines.push(`  ${step.index + 1}. ${step.status.padEnd(9)} ${step.name} (${step.action})${phase}`);
    const message = step.result?.message;
    if (typeof message === 'string') lines.push(`       ${message}`);
    if (step.error !== null) lines.push(`       error: ${step.error}`);
  }
  return lines.join('\n');
}

function registerShowAndCancel(runbook: Command): void {
  withApiOptions(
    runbook
      .command('show')
      .description('a run, its steps with status, errors and results')
      .argument('<run>', 'run id'),
  ).action(async (id: string, options: ApiOptions) => {
    const full = await callApi<RunWithSteps>(options, 'GET', `/api/v1/runs/${encodeURIComponent(id)}`);
    process.stdout.write(`${options.json === true ? JSON.stringify(full, null, 2) : formatRun(full)}\n`);
  });

  withApiOptions(
    runbook
      .command('cancel')
      .description('stop a run; its undo path puts things back')
      .argument('<run>', 'run id'),
  ).action(async (id: string, options: ApiOptions) => {
    const answer = await callApi<{ run: string; status: string }>(
      options,
      'POST',
      `/api/v1/runs/${encodeURIComponent(id)}/cancel`,
    );
    if (options.json === true) return void process.stdout.write(`${JSON.stringify(answer, null, 2)}\n`);
    process.stdout.write(
      `run ${answer.run} is cancelling: its undo path runs; see \`swas runbook show ${answer.run}\`\n`,
    );
  });
}

function registerQuarantine(runbook: Command): void {
  const quarantine = runbook
    .command('quarantine')
    .description('targets automation leaves alone after they spent their flap budget');
  withApiOptions(quarantine.command('list').description('quarantines, newest first'))
    .option('--all', 'released ones too')
    .action(async (options: ApiOptions & { all?: boolean }) => {
      const { quarantines } = await callApi<{ quarantines: Quarantine[] }>(
        options,
        'GET',
        `/api/v1/quarantines?active=${options.all === true ? 'false' : 'true'}`,
      );
      printRows(
        quarantines.map((q) => ({
          ...q,
          target: Object.values(q.target).join('/'),
          runs: q.runIds.length,
          since: new Date(q.createdAt).toISOString(),
          released: q.releasedBy ?? '-',
        })),
        ['id', 'target', 'runbook', 'runs', 'since', 'released', 'reason'],
        options.json === true,
      );
    });
  withApiOptions(
    quarantine
      .command('release')
      .description('let automation act on the target again')
      .argument('<id>', 'quarantine id (see `swas runbook quarantine list`)'),
  ).action(async (id: string, options: ApiOptions) => {
    if (!/^[1-9]\d*$/.test(id))
      throw new CliError(`a quarantine id is a positive integer, not "${id}"`, EXIT.usage);
    const answer = await callApi<{ quarantine: Quarantine; next: string }>(
      options,
      'POST',
      `/api/v1/quarantines/${id}/release`,
    );
    if (options.json === true) return void process.stdout.write(`${JSON.stringify(answer, null, 2)}\n`);
    process.stdout.write(`quarantine ${id} released; ${answer.next}\n`);
  });
}

function registerRunbookOps(runbook: Command): void {
  registerDryRunAndRun(runbook);
  registerShowAndCancel(runbook);
  registerQuarantine(runbook);
}
