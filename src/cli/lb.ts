import { InvalidArgumentError, type Command } from 'commander';
import { callApi, withApiOptions, type ApiOptions } from './apiClient.js';
import { printRows } from './common.js';

interface MemberRow {
  name: string;
  address: string;
  port: number | null;
  admin: string;
  operational: string;
  weight: number;
  initialWeight: number;
  activeSessions: number;
  statusText: string;
}

interface GuardRow {
  guard: string;
  ok: boolean;
  detail: string;
}

interface MemberState {
  admin: string;
  operational: string;
  weight: number;
  sessions: number;
}

interface ChangeAnswer {
  pool: string;
  member: string;
  op: string;
  changed: boolean;
  forced: boolean;
  before: MemberState;
  after: MemberState;
  guards: GuardRow[];
}

type ChangeOptions = ApiOptions & { reason?: string; force?: boolean };

/** Parses a weight argument: an integer 0..256, as HAProxy takes it. */
export function parseWeight(value: string): number {
  const weight = Number(value);
  if (!/^\d+$/.test(value) || weight > 256)
    throw new InvalidArgumentError(`the weight is an integer 0..256, not "${value}"`);
  return weight;
}

const stateText = (s: MemberState) => `${s.admin}/${s.operational} weight ${s.weight}`;

function printChange(answer: ChangeAnswer, json: boolean): void {
  if (json) return void process.stdout.write(`${JSON.stringify(answer, null, 2)}\n`);
  const what = `${answer.pool}/${answer.member}`;
  const lines = answer.changed
    ? [`${what}: ${answer.op}: ${stateText(answer.before)} → ${stateText(answer.after)}`]
    : [
        `${what}: already ${answer.op === 'weight' ? `at weight ${answer.after.weight}` : answer.after.admin}; nothing changed`,
      ];
  if (answer.forced) lines.push('FORCED past refusing guards; the audit log records it');
  for (const g of answer.guards) lines.push(`  ${g.ok ? 'ok     ' : 'REFUSED'}  ${g.guard}: ${g.detail}`);
  process.stdout.write(`${lines.join('\n')}\n`);
}

async function change(
  pool: string,
  member: string,
  op: string,
  options: ChangeOptions,
  weight?: number,
): Promise<void> {
  const answer = await callApi<ChangeAnswer>(
    options,
    'POST',
    `/api/v1/pools/${encodeURIComponent(pool)}/members/${encodeURIComponent(member)}/${op}`,
    {
      ...(options.reason === undefined ? {} : { reason: options.reason }),
      ...(options.force === true ? { force: true } : {}),
      ...(weight === undefined ? {} : { weight }),
    },
  );
  printChange(answer, options.json === true);
}

function withChangeOptions(command: Command): Command {
  return withApiOptions(command)
    .option('--reason <text>', 'why; kept in the audit log')
    .option('--force', 'act even when a pool guard refuses or a run holds the member (audited as forced)');
}

/**
 * `swas lb pools|members|drain|maint|ready|weight`: load-balancer self-service with the pool guards
 * runbooks meet. A refused change prints every guard and exits 1.
 */
export function registerLb(program: Command): void {
  const lb = program
    .command('lb')
    .description('load-balancer pools and members, with the same guards as runbooks');

  withApiOptions(lb.command('pools').description('pools and how many members serve')).action(
    async (options: ApiOptions) => {
      const { pools } = await callApi<{
        pools: {
          loadBalancer: string;
          name: string | null;
          members: MemberRow[];
          up?: number;
          status?: string;
          error: string | null;
        }[];
      }>(options, 'GET', '/api/v1/pools');
      printRows(
        pools.map((p) => ({ ...p, members: p.members.length })),
        ['name', 'loadBalancer', 'status', 'members', 'up', 'error'],
        options.json === true,
      );
    },
  );

  withApiOptions(
    lb.command('members').description("a pool's members").argument('<pool>', 'pool name'),
  ).action(async (pool: string, options: ApiOptions) => {
    const { members } = await callApi<{ members: MemberRow[] }>(
      options,
      'GET',
      `/api/v1/pools/${encodeURIComponent(pool)}/members`,
    );
    printRows(
      members.map((m) => ({
        ...m,
        address: m.port === null ? m.address : `${m.address}:${m.port}`,
        weight: `${m.weight}/${m.initialWeight}`,
        sessions: m.activeSessions,
        status: m.statusText,
      })),
      ['name', 'address', 'admin', 'operational', 'weight', 'sessions', 'status'],
      options.json === true,
    );
  });

  const describe: Record<'drain' | 'maint' | 'ready', string> = {
    drain: 'take a member out of rotation gently: open sessions finish, new ones go elsewhere',
    maint: 'put a member in maintenance: no traffic, health checks stop',
    ready: 'return a member to rotation (from drain via maint, so slow start applies)',
  };
  for (const op of ['drain', 'maint', 'ready'] as const)
    withChangeOptions(
      lb
        .command(op)
        .description(describe[op])
        .argument('<pool>', 'pool name')
        .argument('<member>', 'member name'),
    ).action((pool: string, member: string, options: ChangeOptions) => change(pool, member, op, options));

  withChangeOptions(
    lb
      .command('weight')
      .description("set a member's weight (lowering it meets the pool guards)")
      .argument('<pool>', 'pool name')
      .argument('<member>', 'member name')
      .argument('<weight>', 'integer 0..256', parseWeight),
  ).action((pool: string, member: string, weight: number, options: ChangeOptions) =>
    change(pool, member, 'weight', options, weight),
  );
}
