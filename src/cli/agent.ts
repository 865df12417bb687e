import { InvalidArgumentError, type Command } from 'commander';
import { callApi, withApiOptions, type ApiOptions } from './apiClient.js';
import { printRows } from './common.js';

interface AgentRow {
  id: number;
  name: string;
  hostname: string;
  labels: Record<string, string>;
  connected: boolean;
  lastSeenAt: number | null;
  version: string | null;
  configVersion: string | null;
  revokedAt: number | null;
}

type TokenOptions = ApiOptions & { ttl: string; label: Record<string, string> };

/** Parses one `--label k=v` and adds it to the labels given so far. */
export function collectLabel(value: string, previous: Record<string, string>): Record<string, string> {
  const at = value.indexOf('=');
  const name = at < 0 ? '' : value.slice(0, at);
  if (!/^[a-zA-Z_][a-zA-Z0-9_]*$/.test(name))
    throw new InvalidArgumentError(
      `a label is name=value with a name of letters, digits and _, not "${value}"`,
    );
  return { ...previous, [name]: value.slice(at + 1) };
}

const iso = (ms: number | null) => (ms === null ? '' : new Date(ms).toISOString());

/**
 * `swas agent token create|list|revoke` through the API. Returns the `agent` command so the agent
 * process (`swas agent run`) can be attached to it.
 */
export function registerAgent(program: Command): Command {
  const agent = program.command('agent').description('host agents: enrollment tokens, list, revoke');
  const token = agent.command('token').description('one-time enrollment tokens for new agents');

  withApiOptions(
    token
      .command('create')
      .description('create a single-use enrollment token (admin); its secret is shown only now')
      .option('--ttl <duration>', 'how long the token is valid, at most 7d', '1h')
      .option('--label <name=value>', 'a label for agents enrolled with it (repeatable)', collectLabel, {}),
  ).action(async (options: TokenOptions) => {
    const created = await callApi<{ id: number; token: string; expiresAt: number }>(
      options,
      'POST',
      '/api/v1/agents/enrollment-tokens',
      { ttl: options.ttl, labels: options.label },
    );
    if (options.json) process.stdout.write(`${JSON.stringify(created)}\n`);
    else process.stdout.write(`${created.token}\n(single use; expires ${iso(created.expiresAt)})\n`);
  });

  withApiOptions(agent.command('list').description('enrolled agents and whether they are connected')).action(
    async (options: ApiOptions) => {
      const { agents } = await callApi<{ agents: AgentRow[] }>(options, 'GET', '/api/v1/agents');
      if (options.json) return void process.stdout.write(`${JSON.stringify(agents, null, 2)}\n`);
      printRows(
        agents.map((a) => ({
          ...a,
          state: a.revokedAt !== null ? 'revoked' : a.connected ? 'connected' : 'disconnected',
          labels: Object.entries(a.labels)
            .map(([k, v]) => `${k}=${v}`)
            .join(','),
          lastSeen: iso(a.lastSeenAt),
          version: a.version ?? '',
        })),
        ['name', 'hostname', 'state', 'lastSeen', 'version', 'labels'],
        false,
      );
    },
  );

  withApiOptions(
    agent
      .command('revoke')
      .description("revoke an agent's credential (admin) and close its connection")
      .argument('<name>', 'agent name'),
  ).action(async (name: string, options: ApiOptions) => {
    const answer = await callApi<{ agent: AgentRow; disconnected: boolean }>(
      options,
      'DELETE',
      `/api/v1/agents/${encodeURIComponent(name)}`,
    );
    if (options.json) return void process.stdout.write(`${JSON.stringify(answer)}\n`);
    process.stdout.write(
      `revoked agent ${name}${answer.disconnected ? '; its connection was closed' : ''}\n`,
    );
  });
  return agent;
}
