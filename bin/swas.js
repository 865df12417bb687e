#!/usr/bin/env node
/* global process, URL */
// The installed `swas` command: runs the compiled CLI (built by `npm run build`, which `npm ci` runs).
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
