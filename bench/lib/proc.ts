/**
 * CPU and memory of a process from Linux's /proc, so the harness measures swas and Prometheus the same way
 * and from outside, whatever language or runtime each is written in.
 */
import { readFile } from 'node:fs/promises';

// USER_HZ is 100 on every Linux ABI Node supports; /proc reports CPU time in these ticks.
const TICKS_PER_SECOND = 100;

/** User plus system CPU seconds the process (all its threads) has used so far. */
export async function cpuSeconds(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  // The command name (field 2) may contain spaces and parentheses; fields after the last ')' are fixed.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // After the name, field 3 (state) is index 0, so utime (field 14) and stime (field 15) are 11 and 12.
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  if (!Number.isFinite(utime) || !Number.isFinite(stime))
    throw new Error(`cannot read CPU time from /proc/${pid}/stat: unexpected format "${stat.slice(0, 80)}"`);
  return (utime + stime) / TICKS_PER_SECOND;
}

/** Resident set size in bytes (VmRSS of /proc/<pid>/status). */
export async function rssBytes(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const match = /^VmRSS:\s+(\d+)\s+kB$/m.exec(status);
  if (!match?.[1]) throw new Error(`no VmRSS line in /proc/${pid}/status; is the process still running?`);
  return Number(match[1]) * 1024;
}
