import type { PosRange } from './ast.js';
import { positionAt } from './parseErrors.js';

/** How serious an annotation is: a warning (the result may not be what was meant) or an info. */
export type AnnotationKind = 'warning' | 'info';

/**
 * The warnings and infos of one query, rendered as Prometheus's API shows them: "PromQL warning: <what>
 * (line:column)", the position being that of the expression the annotation is about. Duplicates collapse.
 */
export class Annotations {
  private readonly warnings = new Set<string>();
  private readonly infos = new Set<string>();

  constructor(private readonly text: string) {}

  /** Records one annotation about the expression at pos. */
  add(kind: AnnotationKind, message: string, pos: PosRange): void {
    const { line, column } = positionAt(this.text, pos.start);
    (kind === 'warning' ? this.warnings : this.infos).add(`PromQL ${kind}: ${message} (${line}:${column})`);
  }

  /** The recorded annotations, in the order they were first added; empty lists are left out. */
  toJSON(): { warnings?: string[]; infos?: string[] } {
    return {
      ...(this.warnings.size > 0 ? { warnings: [...this.warnings] } : {}),
      ...(this.infos.size > 0 ? { infos: [...this.infos] } : {}),
    };
  }
}

/** Go's strconv.FormatFloat(f, 'g', -1, 64), which fmt's %g also gives: shortest digits, "+Inf", "NaN". */
export function formatGoFloat(f: number): string {
  if (Number.isNaN(f)) return 'NaN';
  if (f === Infinity) return '+Inf';
  if (f === -Infinity) return '-Inf';
  const [mantissa = '0', expText = '0'] = f.toExponential().split('e');
  const exp = Number(expText);
  // For shortest formatting Go's 'g' switches to exponent notation below 1e-4 and from 1e6 on.
  if (exp < -4 || exp >= 6)
    return `${mantissa}e${exp < 0 ? '-' : '+'}${String(Math.abs(exp)).padStart(2, '0')}`;
  return String(f);
}

/** Prometheus's warning for a quantile outside [0, 1] (or NaN). */
export function invalidQuantile(q: number): string {
  return `quantile value should be between 0 and 1, got ${formatGoFloat(q)}`;
}
