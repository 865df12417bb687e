import { spawn } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { errorMessage } from '../core/index.js';

/** One entry of agent.yaml `actions:`: a program and its arguments (never a shell line) and a time limit. */
export interface ActionDefinition {
  readonly argv: readonly string[];
  /** Milliseconds before the action is killed. */
  readonly timeout: number;
}

/** The answer to an action request, as the `action_result` frame carries it. */
export interface ActionOutcome {
  readonly ok: boolean;
  readonly exitCode: number | null;
  readonly output: string;
  readonly durationMs: number;
  readonly error: string | null;
}

/** Most bytes of captured output kept (the tail: the end of a failing command's output says why). */
export const ACTION_OUTPUT_LIMIT_BYTES = 64 * 1024;

// After SIGTERM on timeout, how long the process group gets before SIGKILL.
const KILL_GRACE_MS = 2000;

/**
 * Runs actions from the agent's own allow-list and nothing else: the server names an action, the agent
 * looks it up locally, and an unknown name is refused without running anything.
 */
export class ActionRunner {
  constructor(private readonly allowList: Readonly<Record<string, ActionDefinition>>) {}

  /** Whether `name` is in the allow-list. */
  allows(name: string): boolean {
    return Object.hasOwn(this.allowList, name);
  }

  /** Runs the named action with at most `timeoutMs` (and at most its local timeout); never throws. */
  async run(name: string, timeoutMs: number): Promise<ActionOutcome> {
    const action = this.allows(name) ? this.allowList[name] : undefined;
    if (action === undefined)
      return {
        ok: false,
        exitCode: null,
        output: '',
        durationMs: 0,
        error: `action ${name} is not in this agent's allow-list (agent.yaml actions:)`,
      };
    return runArgv(action.argv, Math.min(timeoutMs, action.timeout));
  }
}

/** Keeps the last `limit` bytes written to it. */
class TailBuffer {
  private chunks: Buffer[] = [];
  private bytes = 0;
  truncated = false;

  constructor(private readonly limit: number) {}

  push(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.bytes += chunk.length;
    while (this.bytes > this.limit && this.chunks.length > 0) {
      const first = this.chunks[0]!;
      const excess = this.bytes - this.limit;
      this.truncated = true;
      if (first.length <= excess) {
        this.chunks.shift();
        this.bytes -= first.length;
      } else {
        this.chunks[0] = first.subarray(excess);
        this.bytes -= excess;
      }
    }
  }

  text(): string {
    // A cut multi-byte character decodes to U+FFFD, never to more UTF-16 units than bytes.
    return Buffer.concat(this.chunks).toString('utf8');
  }
}

/** Spawns argv (no shell) in its own process group, captures stdout+stderr, kills the group on timeout. */
function runArgv(argv: readonly string[], timeoutMs: number): Promise<ActionOutcome> {
  const started = performance.now();
  const output = new TailBuffer(ACTION_OUTPUT_LIMIT_BYTES);
  const elapsed = () => Math.round(performance.now() - started);
  return new Promise((resolve) => {
    const [program, ...args] = argv;
    const child = spawn(program ?? '', args, {
      shell: false,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let timedOut = false;
    let spawnError: Error | null = null;
    const killGroup = (signal: NodeJS.Signals) => {
      try {
        if (child.pid !== undefined) process.kill(-child.pid, signal);
      } catch {
        // already gone
      }
    };
    let killTimer: NodeJS.Timeout | undefined;
    const timer = setTimeout(() => {
      timedOut = true;
      killGroup('SIGTERM');
      killTimer = setTimeout(() => killGroup('SIGKILL'), KILL_GRACE_MS);
    }, timeoutMs);
    child.stdout.on('data', (chunk: Buffer) => output.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => output.push(chunk));
    child.on('error', (error) => {
      spawnError = error;
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      clearTimeout(killTimer);
      if (timedOut) killGroup('SIGKILL'); // children the action left behind
      const error = spawnError
        ? `cannot run ${argv.join(' ')}: ${errorMessage(spawnError)}`
        : timedOut
          ? `action timed out after ${timeoutMs} ms and was killed`
          : code !== 0
            ? signal !== null
              ? `action was killed by ${signal}`
              : `action exited with code ${code}`
            : null;
      resolve({ ok: error === null, exitCode: code, output: output.text(), durationMs: elapsed(), error });
    });
  });
}
