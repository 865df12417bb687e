/** Writing result files and printing them as a table people can read at a glance. */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { BenchResult, Figure } from './context.js';

/** Writes `<dir>/<name>.json` and returns its path. */
export async function writeResult(dir: string, result: BenchResult): Promise<string> {
  await mkdir(dir, { recursive: true });
  const file = join(dir, `${result.name}.json`);
  await writeFile(file, `${JSON.stringify(result, null, 2)}\n`);
  return file;
}

const fmt = (n: number | undefined) =>
  n === undefined
    ? ''
    : Number.isFinite(n)
      ? Math.abs(n) >= 1e6
        ? n.toExponential(3)
        : String(n)
      : String(n);

function cells(key: string, f: Figure): string[] {
  const spread = f.min === undefined ? '' : ` (${fmt(f.min)}–${fmt(f.max)})`;
  const peerSpread = f.peer_min === undefined ? '' : ` (${fmt(f.peer_min)}–${fmt(f.peer_max)})`;
  return [
    key,
    `${fmt(f.value)}${spread}`,
    f.peer_value === undefined ? '' : `${fmt(f.peer_value)}${peerSpread}`,
    fmt(f.ratio),
    f.unit,
    f.goal ?? '',
  ];
}

/** The figures of one result as an aligned text table, notes underneath. */
export function formatTable(result: BenchResult): string {
  // The peer column is named after the peer the figures were measured against (Prometheus, HAProxy, …).
  const peers = [
    ...new Set(Object.values(result.figures).flatMap((f) => (f.peer === undefined ? [] : [f.peer]))),
  ];
  const rows = [
    ['figure', 'swas', peers.length === 1 ? (peers[0] ?? 'peer') : 'peer', 'ratio', 'unit', 'goal'],
  ];
  for (const [key, figure] of Object.entries(result.figures)) rows.push(cells(key, figure));
  const widths = rows[0]?.map((_, c) => Math.max(...rows.map((r) => (r[c] ?? '').length))) ?? [];
  const lines = rows.map((r) =>
    r
      .map((cell, c) => cell.padEnd(widths[c] ?? 0))
      .join('  ')
      .trimEnd(),
  );
  const notes = Object.entries(result.figures)
    .filter(([, f]) => f.note !== undefined)
    .map(([key, f]) => `  ${key}: ${f.note}`);
  const header = `== ${result.name} (${result.machine.cpus} CPUs, node ${result.machine.node}, ${result.at})`;
  return [
    header,
    ...lines,
    ...(notes.length > 0 ? ['notes:', ...notes] : []),
    ...(result.error ? [`ERROR: ${result.error}`] : []),
  ].join('\n');
}
