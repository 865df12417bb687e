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

  withApiOptions(
    lb
      .command('add')
      .description(
        'add a member at runtime, in maint with health checks on; `swas lb ready` puts it in rotation',
      )
      .argument('<pool>', 'pool name')
      .argument('<member>', 'new member name')
      .argument('<address>', 'IP:PORT (IPv6 as [addr]:port)', parseAddress),
  )
    .option('--weight <n>', 'its full weight, 1..256', (v) => parseIntIn(v, 1, 256, '--weight'), 1)
    .option('--slowstart <duration>', 'ramp-up after it turns ready, e.g. 30s')
    .option('--reason <text>', 'why; kept in the audit log')
    .action(
      async (
        pool: string,
        member: string,
        address: { address: string; port: number },
        options: ApiOptions & { weight: number; slowstart?: string; reason?: string },
      ) => {
        const answer = await callApi<{ after: { admin: string; weight: number } }>(
          options,
          'POST',
          `/api/v1/pools/${encodeURIComponent(pool)}/members`,
          {
            name: member,
            ...address,
            weight: options.weight,
            ...(options.slowstart === undefined ? {} : { slowstart: options.slowstart }),
            ...(options.reason === undefined ? {} : { reason: options.reason }),
          },
        );
        if (options.json === true) return void process.stdout.write(`${JSON.stringify(answer, null, 2)}\n`);
        process.stdout.write(
          `${pool}/${member} added (${answer.after.admin}, weight ${answer.after.weight}); put it in rotation with \`swas lb ready ${pool} ${member}\`\n`,
        );
      },
    );

  withApiOptions(
    lb
      .command('remove')
      .description('remove a member that is in maint with no sessions left')
      .argument('<pool>', 'pool name')
      .argument('<member>', 'member name'),
  )
    .option('--reason <text>', 'why; kept in the audit log')
    .option('--force', 'remove it even when a run targets it (audited)')
    .action(
      async (pool: string, member: string, options: ApiOptions & { reason?: string; force?: boolean }) => {
        const answer = await callApi<{ removed: boolean }>(
          options,
          'DELETE',
          `/api/v1/pools/${encodeURIComponent(pool)}/members/${encodeURIComponent(member)}`,
          {
            force: options.force === true,
            ...(options.reason === undefined ? {} : { reason: options.reason }),
          },
        );
        if (options.json === true) return void process.stdout.write(`${JSON.stringify(answer, null, 2)}\n`);
        process.stdout.write(`${pool}/${member} removed\n`);
      },
    );
}

function parseIntIn(value: string, min: number, max: number, what: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < min || n > max)
    throw new InvalidArgumentError(`${what} must be a whole number ${min}..${max}, not "${value}"`);
  return n;
}

function parseAddress(value: string): { address: string; port: number } {
  const m = /^(?:\[([0-9a-fA-F:]+)\]|([0-9.]+)):(\d{1,5})$/.exec(value);
  if (m === null)
    throw new InvalidArgumentError(
      `address must be IP:PORT, e.g. 10.0.0.5:8080 or [fd00::5]:8080, not "${value}"`,
    );
  return { address: m[1] ?? m[2] ?? '', port: parseIntIn(m[3] ?? '', 1, 65535, 'the port') };
}
