import { formatSeries, type Labels } from '../core/index.js';
import { assignLabel } from '../core/index.js';

/**
 * The labels a scraped series is stored under, as Prometheus computes them. With `honorLabels` the
 * scraped labels win and target labels only fill gaps; without it the target labels win and a clashing
 * scraped label is kept as `exported_<name>` (`exported_exported_<name>` if that is taken too).
 */
export function mergeTargetLabels(scraped: Labels, target: Labels, honorLabels: boolean): Labels {
  const out: Record<string, string> = {};
  for (const name of Object.keys(scraped)) assignLabel(out, name, scraped[name] ?? '');
  if (honorLabels) {
    for (const name of Object.keys(target)) {
      if (!Object.hasOwn(out, name)) assignLabel(out, name, target[name] ?? '');
    }
    return out;
  }
  const clashes: [string, string][] = [];
  for (const name of Object.keys(target)) {
    const scrapedValue = scraped[name];
    if (Object.hasOwn(scraped, name) && scrapedValue !== undefined) clashes.push([name, scrapedValue]);
    assignLabel(out, name, target[name] ?? '');
  }
  for (const [name, value] of clashes) {
    let exported = `exported_${name}`;
    while (Object.hasOwn(out, exported)) exported = `exported_${exported}`;
    assignLabel(out, exported, value);
  }
  return out;
}

/** A target's label limits; 0 = no limit. */
export interface LabelLimits {
  /** Most labels per series, counting `__name__`. */
  readonly count: number;
  /** Longest label name in UTF-8 bytes. */
  readonly nameLength: number;
  /** Longest label value in UTF-8 bytes. */
  readonly valueLength: number;
}

/** The target's label limits, or null when it has none (so scrapes skip the check). */
export function labelLimitsOf(target: {
  readonly labelLimit?: number;
  readonly labelNameLengthLimit?: number;
  readonly labelValueLengthLimit?: number;
}): LabelLimits | null {
  const limits = {
    count: target.labelLimit ?? 0,
    nameLength: target.labelNameLengthLimit ?? 0,
    valueLength: target.labelValueLengthLimit ?? 0,
  };
  return limits.count > 0 || limits.nameLength > 0 || limits.valueLength > 0 ? limits : null;
}

const SHOWN_SERIES_CHARS = 200;

/** `name{a="1", …}`, cut short so a runaway value does not flood the log. */
function shortSeries(labels: Labels): string {
  const text = formatSeries(labels);
  return text.length <= SHOWN_SERIES_CHARS ? text : `${text.slice(0, SHOWN_SERIES_CHARS)}…`;
}

function byteLength(text: string, limit: number): number {
  // Every character is 1 to 3 bytes (4 for a surrogate pair of 2): only a long enough string needs counting.
  return text.length * 3 <= limit ? text.length : Buffer.byteLength(text, 'utf8');
}

/** Which limit `labels` (a series as it would be stored) breaks, said with the series and the limit; null if none. */
export function labelLimitProblem(labels: Labels, limits: LabelLimits): string | null {
  const names = Object.keys(labels);
  if (limits.count > 0 && names.length > limits.count) {
    return (
      `label_limit exceeded: series ${shortSeries(labels)} has ${names.length} labels, the target allows ` +
      `${limits.count}; raise label_limit or drop labels with metric_relabel_configs`
    );
  }
  for (const name of names) {
    const nameBytes = limits.nameLength > 0 ? byteLength(name, limits.nameLength) : 0;
    if (nameBytes > limits.nameLength && limits.nameLength > 0) {
      return (
        `label_name_length_limit exceeded: label name "${name}" of series ${shortSeries(labels)} is ` +
        `${nameBytes} bytes long, the target allows ${limits.nameLength}; raise label_name_length_limit or ` +
        'rename the label with metric_relabel_configs'
      );
    }
    const value = labels[name] ?? '';
    const valueBytes = limits.valueLength > 0 ? byteLength(value, limits.valueLength) : 0;
    if (valueBytes > limits.valueLength && limits.valueLength > 0) {
      return (
        `label_value_length_limit exceeded: label "${name}" of series ${shortSeries(labels)} has a value ` +
        `${valueBytes} bytes long, the target allows ${limits.valueLength}; raise label_value_length_limit or ` +
        'fix the exporter'
      );
    }
  }
  return null;
}
