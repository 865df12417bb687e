import { createHash } from 'node:crypto';
import type { Labels } from '../core/index.js';
import { compileAnchoredRegex } from '../tsdb/index.js';
import { assignLabel, expandRegexpReplacement } from '../core/index.js';
import { isValidLabelName } from './expositionTokens.js';
import { relabelConfigProblem, type RelabelConfig } from '../config/index.js';

/** A relabel config checked and with its regular expression compiled, ready to apply many times. */
export interface RelabelRule {
  readonly config: RelabelConfig;
  readonly regex: RegExp;
}

/** The outcome of {@link compileRelabelRules}: rules, or the first problem with its index. */
export type CompileRelabelResult = { ok: true; rules: RelabelRule[] } | { ok: false; error: string };

/** Checks and compiles relabel configs once, so applying them per target or per sample is cheap. */
export function compileRelabelRules(configs: readonly RelabelConfig[]): CompileRelabelResult {
  const rules: RelabelRule[] = [];
  for (const [index, config] of configs.entries()) {
    const problem = relabelConfigProblem(config);
    const compiled = compileAnchoredRegex(config.regex);
    if (problem !== null || !compiled.ok) {
      const message = problem?.message ?? (compiled.ok ? '' : compiled.error);
      return {
        ok: false,
        error: `relabel config ${index + 1}, field ${problem?.field ?? 'regex'}: ${message}`,
      };
    }
    rules.push({ config, regex: compiled.regex });
  }
  return { ok: true, rules };
}

/**
 * Applies relabel rules in order with Prometheus's semantics; null when a rule drops the label set.
 * A label set to the empty string is removed, as in Prometheus.
 */
export function relabel(labels: Labels, rules: readonly RelabelRule[]): Labels | null {
  if (rules.length === 0) return labels;
  const builder = new Map(Object.entries(labels));
  for (const rule of rules) if (!applyRule(builder, rule)) return null;
  const out: Record<string, string> = {};
  for (const [name, value] of builder) if (value !== '') assignLabel(out, name, value);
  return out;
}

/** Applies one rule to a label builder; false when the rule drops the label set. */
function applyRule(lb: Map<string, string>, rule: RelabelRule): boolean {
  const { config, regex } = rule;
  const target = config.target_label ?? '';
  const value = config.source_labels.map((name) => lb.get(name) ?? '').join(config.separator);
  switch (config.action) {
    case 'drop':
      return !regex.test(value);
    case 'keep':
      return regex.test(value);
    case 'dropequal':
      return (lb.get(target) ?? '') !== value;
    case 'keepequal':
      return (lb.get(target) ?? '') === value;
    case 'replace':
      replace(lb, rule, value);
      return true;
    case 'lowercase':
      setOrDelete(lb, target, value.toLowerCase());
      return true;
    case 'uppercase':
      setOrDelete(lb, target, value.toUpperCase());
      return true;
    case 'hashmod':
      lb.set(target, String(hashMod(value, config.modulus ?? 1)));
      return true;
    case 'labelmap':
      for (const [name, labelValue] of [...lb]) {
        const match = regex.exec(name);
        const mapped = match === null ? '' : expandRegexpReplacement(config.replacement, match);
        if (mapped !== '') lb.set(mapped, labelValue);
      }
      return true;
    case 'labeldrop':
      for (const name of [...lb.keys()]) if (regex.test(name)) lb.delete(name);
      return true;
    case 'labelkeep':
      for (const name of [...lb.keys()]) if (!regex.test(name)) lb.delete(name);
      return true;
  }
}

function replace(lb: Map<string, string>, rule: RelabelRule, value: string): void {
  const match = rule.regex.exec(value);
  // No match: nothing is replaced, as in Prometheus.
  if (match === null) return;
  const target = expandRegexpReplacement(rule.config.target_label ?? '', match);
  if (!isValidLabelName(target)) return;
  setOrDelete(lb, target, expandRegexpReplacement(rule.config.replacement, match));
}

function setOrDelete(lb: Map<string, string>, name: string, value: string): void {
  if (value === '') lb.delete(name);
  else lb.set(name, value);
}

/** Prometheus's hashmod: the last 8 bytes of the MD5 of the value, big-endian, modulo `modulus`. */
export function hashMod(value: string, modulus: number): number {
  const digest = createHash('md5').update(value, 'utf8').digest();
  return Number(digest.readBigUInt64BE(8) % BigInt(modulus));
}
