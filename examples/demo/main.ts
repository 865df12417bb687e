/**
 * `npm run demo`: three web servers behind a real HAProxy under load, watched and repaired by swas.
 * Installs HAProxy from Debian when run as root; otherwise prints the command and exits 1.
 * Injects a first crash by itself; `npm run demo:fault -- <crash|slow|errors> <member>` injects more.
 * Ctrl-C stops everything it started.
 */
import { spawnSync } from 'node:child_process';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { REPO_ROOT, startDemo, type Demo } from './demo.js';
import { sendFault } from './fault.js';
import { haproxyBinary, HAPROXY_INSTALL_COMMAND } from './haproxy.js';
import { startLoad } from './loadgen.js';

const DEMO_DIR = join(REPO_ROOT, '.demo');
const FIRST_CRASH_AFTER_MS = 10_000;
const LOAD_RATE = 40;
// The load stops by itself after an hour even if nobody presses Ctrl-C.
const LOAD_LIMIT_MS = 60 * 60_000;

function say(line: string): void {
  process.stdout.write(`${line}\n`);
}

function ensureHaproxy(): boolean {
  if (haproxyBinary().ok) return true;
  if (process.getuid?.() !== 0) {
    say(
      `HAProxy is not installed, and installing it needs root. Run:\n  sudo sh -c '${HAPROXY_INSTALL_COMMAND}'\nthen run the demo again.`,
    );
    return false;
  }
  say(`HAProxy is not installed; installing it: ${HAPROXY_INSTALL_COMMAND}`);
  const result = spawnSync('sh', ['-c', `${HAPROXY_INSTALL_COMMAND} >/dev/null`], {
    stdio: 'inherit',
    env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
  });
  if (result.status === 0 && haproxyBinary().ok) return true;
  say(`Installing HAProxy failed (exit ${result.status}). Run it yourself: ${HAPROXY_INSTALL_COMMAND}`);
  return false;
}

async function main(): Promise<number> {
  if (!ensureHaproxy()) return 1;
  await rm(DEMO_DIR, { recursive: true, force: true });
  say('Starting the demo fleet (3 web servers behind HAProxy) and swas…');
  let demo: Demo;
  try {
    demo = await startDemo({ dir: DEMO_DIR, swasPort: 7927, frontendPort: 18080, basePort: 18081 });
  } catch (error) {
    say(`The demo could not start: ${error instanceof Error ? error.message : String(error)}`);
    return 1;
  }
  const load = startLoad({
    url: demo.fleet.frontendUrl,
    ratePerSecond: LOAD_RATE,
    durationMs: LOAD_LIMIT_MS,
  });
  demo.onNotification = (n) =>
    say(
      `  📟 webhook: ${n.event} (${n.urgency}) — incident #${n.incident.id} ${n.incident.title}: ${n.reason}`,
    );
  say('');
  say(`  swas page:     ${demo.swasUrl}/#token=${demo.token}`);
  say(`  the service:   ${demo.fleet.frontendUrl} (under ${LOAD_RATE} requests/s of load)`);
  say(`  swas log:      ${demo.swasLog}`);
  say(`  more faults:   npm run demo:fault -- <crash|slow|errors|clear> <web-1|web-2|web-3>`);
  say(`  API token:     export SWAS_TOKEN=${demo.token}   (then: npx swas incident list)`);
  say('');
  say(`In ${FIRST_CRASH_AFTER_MS / 1000} s the demo crashes web-2; watch the page. Ctrl-C stops everything.`);

  const stopped = new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  const firstCrash = sleep(FIRST_CRASH_AFTER_MS).then(async () => {
    const result = await sendFault(DEMO_DIR, 'crash', 'web-2');
    say(`>> injected: ${result.message}`);
  });
  const report = setInterval(() => {
    const s = load.stats();
    say(`  load: ${s.sent} sent, ${s.ok} ok, ${s.failed} failed (p90 ${Math.round(s.latencyMs.p90)} ms)`);
  }, 30_000);
  await Promise.race([stopped, load.done]);
  clearInterval(report);
  say('\nStopping swas, HAProxy, the web servers and the load…');
  await demo.stop();
  const stats = await load.stop();
  await firstCrash.catch(() => undefined);
  say(`Done. Load: ${stats.sent} requests, ${stats.failed} failed.`);
  return 0;
}

process.exitCode = await main();
