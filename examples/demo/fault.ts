/**
 * fault: flips a demo web server's fault switches by member name.
 *
 *   node --import tsx examples/demo/fault.ts <crash|slow|errors|sick|clear|status> <member> [value] [--dir STATE_DIR]
 *
 * `slow` takes milliseconds (default 800), `errors` a ratio 0..1 (default 0.5), `sick` the share of its capacity
 * the member keeps, 0.01..1 (default 0.25; its /healthz stays 200, so HAProxy's checks keep it in). STATE_DIR
 * defaults to `.demo` under the repository root, where the demo keeps services.json. Exit codes: 0 ok, 1 the
 * member did not answer as expected, 2 usage error (the message lists the members that exist).
 */
import { realpathSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { readServices } from './servicectl.js';

/** The demo's default state directory: `.demo` under the repository root. */
export const DEFAULT_DEMO_DIR = fileURLToPath(new URL('../../.demo', import.meta.url));
const USAGE =
  'usage: node --import tsx examples/demo/fault.ts <crash|slow|errors|sick|clear|status> <member> [value] [--dir STATE_DIR]';

/** A fault switch, or `status` to read them. */
export type FaultCommand = 'crash' | 'slow' | 'errors' | 'sick' | 'clear' | 'status';
const COMMANDS: readonly FaultCommand[] = ['crash', 'slow', 'errors', 'sick', 'clear', 'status'];

/** The outcome of {@link sendFault}; `usage` marks mistakes in the request rather than a misbehaving member. */
export type FaultResult = { ok: true; message: string } | { ok: false; usage: boolean; message: string };

/** Checks `value` for `command` and returns the query string to send, or a usage message. */
function faultQuery(command: FaultCommand, value: string | undefined): { query: string } | { error: string } {
  if (command === 'slow') {
    const ms = Number(value ?? 800);
    if (!Number.isInteger(ms) || ms < 0 || ms > 60_000)
      return { error: `slow needs whole ms 0..60000, got "${value}"` };
    return { query: `?ms=${ms}` };
  }
  if (command === 'errors') {
    const ratio = Number(value ?? 0.5);
    if (!Number.isFinite(ratio) || ratio < 0 || ratio > 1)
      return { error: `errors needs a ratio 0..1, got "${value}"` };
    return { query: `?ratio=${ratio}` };
  }
  if (command === 'sick') {
    const share = Number(value ?? 0.25);
    if (!Number.isFinite(share) || share < 0.01 || share > 1)
      return { error: `sick needs the share of capacity kept, 0.01..1, got "${value}"` };
    return { query: `?capacity=${share}` };
  }
  if (value !== undefined) return { error: `${command} takes no value, got "${value}"` };
  return { query: '' };
}

function isRefused(error: unknown): boolean {
  const cause = error instanceof Error ? (error.cause as NodeJS.ErrnoException | undefined) : undefined;
  return cause?.code === 'ECONNREFUSED';
}

/** Looks `member` up in `<dir>/services.json` and calls its fault switch. */
export async function sendFault(
  dir: string,
  command: FaultCommand,
  member: string,
  value?: string,
): Promise<FaultResult> {
  const services = await readServices(dir);
  if (!services.ok) return { ok: false, usage: true, message: services.message };
  const spec = services.services[member];
  if (spec === undefined) {
    const known = Object.keys(services.services).join(', ') || '(none)';
    return {
      ok: false,
      usage: true,
      message: `no member "${member}" in ${join(dir, 'services.json')}; members: ${known}`,
    };
  }
  const query = faultQuery(command, value);
  if ('error' in query) return { ok: false, usage: true, message: query.error };
  const base = `http://127.0.0.1:${spec.port}`;
  const url = command === 'status' ? `${base}/fault` : `${base}/fault/${command}${query.query}`;
  let response: Response;
  try {
    response = await fetch(url, {
      method: command === 'status' ? 'GET' : 'POST',
      signal: AbortSignal.timeout(3000),
    });
  } catch (error) {
    if (command === 'crash' && isRefused(error)) {
      return { ok: true, message: `${member} is already down: nothing answers on ${base}` };
    }
    const why = isRefused(error) ? 'connection refused' : String(error);
    const message = `${member} did not answer ${url} (${why}); start it with servicectl.ts start ${member} --dir ${dir}`;
    return { ok: false, usage: false, message };
  }
  const body = (await response.text()).trim();
  if (!response.ok)
    return { ok: false, usage: false, message: `${member} answered ${response.status}: ${body}` };
  if (command === 'crash')
    return { ok: true, message: `${member} accepted the crash fault and exits now: ${body}` };
  return { ok: true, message: `${member}: ${body}` };
}

/** The command line: returns the exit code after printing the outcome. */
export async function faultMain(argv: string[]): Promise<number> {
  const usage = (why: string) => {
    process.stderr.write(`fault: ${why}\n${USAGE}\n`);
    return 2;
  };
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      options: { dir: { type: 'string' } },
      allowPositionals: true,
      strict: true,
    });
  } catch (error) {
    return usage(error instanceof Error ? error.message : String(error));
  }
  const [command, member, value, ...extra] = parsed.positionals;
  if (command === undefined) return usage('no fault given');
  if (!COMMANDS.includes(command as FaultCommand)) return usage(`unknown fault "${command}"`);
  if (member === undefined) {
    const services = await readServices(parsed.values.dir ?? DEFAULT_DEMO_DIR);
    const known = services.ok ? `; members: ${Object.keys(services.services).join(', ')}` : '';
    return usage(`"${command}" needs a member${known}`);
  }
  if (extra.length > 0) return usage(`unexpected arguments: ${extra.join(' ')}`);
  const result = await sendFault(
    parsed.values.dir ?? DEFAULT_DEMO_DIR,
    command as FaultCommand,
    member,
    value,
  );
  if (result.ok) {
    process.stdout.write(`${result.message}\n`);
    return 0;
  }
  if (result.usage) return usage(result.message);
  process.stderr.write(`fault ${command}: ${result.message}\n`);
  return 1;
}

function isMain(): boolean {
  try {
    return realpathSync(process.argv[1] ?? '') === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

if (isMain()) process.exitCode = await faultMain(process.argv.slice(2));
