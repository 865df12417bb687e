#!/usr/bin/env -S node --single-threaded-gc --max-semi-space-size=2
/* global process, URL */
// The installed `swas` command: runs the compiled CLI (built by `npm run build`, which `npm ci` runs).
//
// The interpreter line gives every swas process two V8 flags (ADR 0004). `--single-threaded-gc` drops V8's
// parallel and concurrent GC helper threads, which cost a mostly idle, small-heap server more CPU than they
// save; `--max-semi-space-size=2` (MB) caps the young generation, which keeps the server's RSS down. They
// cannot be set from here with v8.setFlagsFromString (V8 aborts at the first GC), so they go on that line:
// `env -S` (GNU coreutils >= 8.30, the BSDs, macOS) splits it into node's arguments. `node bin/swas.js` or
// `node dist/cli/main.js` run without them. src/cli/binFlags.test.ts fails if the line loses them.
import { existsSync } from 'node:fs';

const entry = new URL('../dist/cli/main.js', import.meta.url);
if (!existsSync(entry)) {
  process.stderr.write('swas: dist/ is missing; run `npm run build` (npm ci does it) first\n');
  process.exit(1);
}
// The agent's V8 flags (`swas agent run`, `swas probe run`) must be set before the CLI's modules load (ADR 0003);
// main.js sets them too, later, so a dist/ built before agentV8Flags.js existed still runs.
const agentFlags = new URL('../dist/cli/agentV8Flags.js', import.meta.url);
if (existsSync(agentFlags)) await import(agentFlags.href);
await import(entry.href);
