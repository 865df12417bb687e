/** Values a runbook or rule template can refer to. */
export interface TemplateScope {
  readonly labels?: Readonly<Record<string, string>>;
  readonly target?: Readonly<Record<string, string>>;
  readonly value?: number;
}

const placeholder = /\{\{\s*([^}]*?)\s*\}\}/g;
const reference = /^\$(labels|target)\.([a-zA-Z_][a-zA-Z0-9_]*)$|^\$value$/;

/** The outcome of expanding a template. */
export type TemplateResult = { ok: true; value: string } | { ok: false; error: string };

/**
 * Expands `{{ $labels.x }}`, `{{ $target.x }}` and `{{ $value }}` — the small subset runbooks need.
 * By default a reference to a missing label is an error, never an empty string: an empty target must not
 * widen a run. Alert annotations pass `missing: 'empty'`, as Prometheus renders a missing label as nothing.
 */
export function expandTemplate(
  text: string,
  scope: TemplateScope,
  options: { missing?: 'error' | 'empty' } = {},
): TemplateResult {
  let error: string | null = null;
  const value = text.replace(placeholder, (_whole, expr: string) => {
    const m = reference.exec(expr);
    if (m === null) {
      error ??= `unsupported template expression "{{ ${expr} }}"; use {{ $labels.NAME }}, {{ $target.NAME }} or {{ $value }}`;
      return '';
    }
    if (expr === '$value') {
      if (scope.value === undefined) error ??= '{{ $value }} has no value here';
      return String(scope.value ?? '');
    }
    const [, kind, name] = m as unknown as [string, 'labels' | 'target', string];
    const found = scope[kind]?.[name];
    if ((found === undefined || found === '') && options.missing !== 'empty') {
      error ??= `{{ ${expr} }} is empty: the ${kind === 'labels' ? 'alert has no label' : 'target has no field'} "${name}"`;
      return '';
    }
    return found ?? '';
  });
  return error === null ? { ok: true, value } : { ok: false, error };
}

/** Lists template problems without values (for load-time checks): unsupported expressions. */
export function checkTemplate(text: string): string | null {
  for (const match of text.matchAll(placeholder)) {
    const expr = match[1] ?? '';
    if (!reference.test(expr)) {
      return `unsupported template expression "{{ ${expr} }}"; use {{ $labels.NAME }}, {{ $target.NAME }} or {{ $value }}`;
    }
  }
  return null;
}
