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
