import type { Command } from 'commander';
import { callApi, withApiOptions, type ApiOptions } from './apiClient.js';
import { printRows } from './common.js';

/** `swas runbook list|runs|approve`, through the API. */
export function registerRunbook(program: Command): void {
  const runbook = program.command('runbook').description('runbooks and their runs');

  withApiOptions(runbook.command('list').description('loaded runbooks')).action(
    async (options: ApiOptions) => {
      const { runbooks } = await callApi<{
        runbooks: { name: string; trigger: { alert: string }; steps: { action: string }[]; file: string }[];
      }>(options, 'GET', '/api/v1/runbooks');
      printRows(
        runbooks.map((r) => ({
          name: r.name,
          alert: r.trigger.alert,
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
}
