import { spawn, type ChildProcess } from 'node:child_process';

/** A running `swas agent run` process, with what it has logged so far. */
export interface AgentProcess {
  readonly child: ChildProcess;
  log(): string;
  /** SIGTERM, then waits for it to exit. */
  stop(): Promise<void>;
}

/** Starts a real `swas agent run --config <file>` (or `swas probe run`) from this checkout's sources. */
export function startAgentProcess(configFile: string, command: 'agent' | 'probe' = 'agent'): AgentProcess {
  let log = '';
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', 'src/cli/main.ts', command, 'run', '--config', configFile],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  child.stdout?.on('data', (chunk: Buffer) => (log += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (log += chunk.toString()));
  return {
    child,
    log: () => log,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    },
  };
}

/** A fresh single-use enrollment token (10 minutes) whose agents get `labels`. */
export async function enrollmentToken(
  server: {
    request(
      method: 'POST',
      path: string,
      token: string,
      body: unknown,
    ): Promise<{ status: number; body: unknown }>;
  },
  admin: string,
  labels: Record<string, string>,
): Promise<string> {
  const created = await server.request('POST', '/api/v1/agents/enrollment-tokens', admin, {
    ttl: '10m',
    labels,
  });
  if (created.status !== 201)
    throw new Error(`creating an enrollment token failed: ${JSON.stringify(created.body)}`);
  return (created.body as { token: string }).token;
}
