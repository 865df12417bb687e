#!/usr/bin/env node
/* global process, URL */
// The installed `swas` command: runs the compiled CLI (built by `npm run build`, which `npm ci` runs).
import { existsSync } from 'node:fs';

const entry = new URL('../dist/cli/main.js', import.meta.url);
if (!existsSync(entry)) {
  process.stderr.write('swas: dist/ is missing; run `npm run build` (npm ci does it) first\n');
  process.exit(1);
}
await import(entry.href);
