import { compileAnchoredRe2 } from '../core/index.js';

const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/** The relabelling actions swas implements, with Prometheus's names and meaning. */
export const RELABEL_ACTIONS = [
  'replace',
  'keep',
  'drop',
  'keepequal',
  'dropequal',
  'hashmod',
  'labelmap',
  'labeldrop',
  'labelkeep',
  'lowercase',
  'uppercase',
] as const;

/** One of {@link RELABEL_ACTIONS}. */
export type RelabelAction = (typeof RELABEL_ACTIONS)[number];

/** One relabelling step as written in Prometheus's `relabel_configs`, with defaults applied. */
export interface RelabelConfig {
  readonly action: RelabelAction;
  readonly source_labels: readonly string[];
  readonly separator: string;
  readonly target_label?: string | undefined;
  readonly regex: string;
  readonly modulus?: number | undefined;
  readonly replacement: string;
}

/** Prometheus's defaults for the fields of a relabel config. */
export const RELABEL_DEFAULTS = {
  action: 'replace',
  separator: ';',
  regex: '(.*)',
  replacement: '$1',
} as const;

/** What is wrong with a relabel config, and in which field. */
export interface RelabelProblem {
  readonly field: keyof RelabelConfig;
  readonly message: string;
}

const needsTarget = new Set<RelabelAction>([
  'replace',
  'hashmod',
  'lowercase',
  'uppercase',
  'keepequal',
  'dropequal',
]);
const plainTarget = new Set<RelabelAction>(['hashmod', 'lowercase', 'uppercase', 'keepequal', 'dropequal']);
// Prometheus's relabelTargetLegacy: a label name that may hold $1 / ${name} references.
const templatedName = /^(?:(?:[a-zA-Z_]|\$(?:\{\w+\}|\w+))+\w*)+$/;

/** Checks a relabel config as Prometheus does at load; null when it is usable. */
export function relabelConfigProblem(config: RelabelConfig): RelabelProblem | null {
  const { action } = config;
  const compiled = compileAnchoredRe2(config.regex);
  if (!compiled.ok) {
    return { field: 'regex', message: `${compiled.error}; write the pattern in RE2 syntax` };
  }
  if (action === 'hashmod' && (config.modulus === undefined || config.modulus === 0)) {
    return { field: 'modulus', message: 'action hashmod needs a modulus above 0' };
  }
  const target = config.target_label ?? '';
  if (needsTarget.has(action) && target === '') {
    return { field: 'target_label', message: `action ${action} needs a target_label` };
  }
  if (action === 'replace' && !templatedName.test(target)) {
    return {
      field: 'target_label',
      message: `"${target}" is not a valid target_label; expected a label name, optionally with $1 or \${name} references`,
    };
  }
  if (plainTarget.has(action) && !LABEL_NAME.test(target)) {
    return {
      field: 'target_label',
      message: `"${target}" is not a valid label name for action ${action}; expected [a-zA-Z_][a-zA-Z0-9_]*`,
    };
  }
  if (action === 'labelmap' && !templatedName.test(config.replacement)) {
    return {
      field: 'replacement',
      message: `"${config.replacement}" is not a valid replacement for labelmap; expected a label name, optionally with $1 references`,
    };
  }
  return onlyAllowedFields(config);
}

function onlyAllowedFields(config: RelabelConfig): RelabelProblem | null {
  const { action } = config;
  if (action === 'keepequal' || action === 'dropequal') {
    const extra = firstChanged(config, ['regex', 'separator', 'replacement', 'modulus']);
    if (extra !== null) {
      return { field: extra, message: `action ${action} takes only source_labels and target_label` };
    }
  }
  if (action === 'lowercase' || action === 'uppercase') {
    if (config.replacement !== RELABEL_DEFAULTS.replacement) {
      return { field: 'replacement', message: `action ${action} takes no replacement` };
    }
  }
  if (action === 'labeldrop' || action === 'labelkeep') {
    if (config.source_labels.length > 0) {
      return {
        field: 'source_labels',
        message: `action ${action} takes only regex, which matches label names`,
      };
    }
    const extra = firstChanged(config, ['target_label', 'separator', 'replacement', 'modulus']);
    if (extra !== null) {
      return { field: extra, message: `action ${action} takes only regex, which matches label names` };
    }
  }
  return null;
}

function firstChanged(config: RelabelConfig, fields: (keyof RelabelConfig)[]): keyof RelabelConfig | null {
  for (const field of fields) {
    const value = config[field];
    const fallback = (RELABEL_DEFAULTS as Partial<Record<keyof RelabelConfig, string>>)[field];
    if (value !== undefined && value !== fallback && !(field === 'target_label' && value === ''))
      return field;
  }
  return null;
}
