import { SwasError } from '../core/index.js';

/** One problem in a configuration file, located as precisely as the source allows. */
export interface ConfigIssue {
  readonly file: string;
  readonly line: number | null;
  readonly column: number | null;
  /** The dotted field path, e.g. `scrape_configs[0].static_configs[0].targets`. */
  readonly field: string;
  readonly message: string;
}

/** Formats an issue as `file:line:column: field: message`, the shape editors and CI logs link. */
export function formatConfigIssue(issue: ConfigIssue): string {
  const where = issue.line === null ? issue.file : `${issue.file}:${issue.line}:${issue.column ?? 1}`;
  return issue.field === '' ? `${where}: ${issue.message}` : `${where}: ${issue.field}: ${issue.message}`;
}

/** A configuration that cannot be used; carries every issue found, not just the first. */
export class ConfigError extends SwasError {
  readonly issues: readonly ConfigIssue[];
  constructor(issues: readonly ConfigIssue[]) {
    const lines = issues.map((i) => `  ${formatConfigIssue(i)}`).join('\n');
    super(
      'SWAS-CFG-001',
      `invalid configuration (${issues.length} problem${issues.length === 1 ? '' : 's'}):\n${lines}`,
    );
    this.issues = issues;
  }
}

/** Renders a path of keys and indexes as `a.b[0].c`. */
export function formatFieldPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`;
    else out += out === '' ? String(key) : `.${String(key)}`;
  }
  return out;
}
