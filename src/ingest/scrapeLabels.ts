import type { Labels } from '../core/index.js';
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
