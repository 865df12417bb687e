import { compareStrings } from '../core/index.js';
import type { ApiResponse } from './httpApi.js';

/** One HELP/TYPE/UNIT entry as scraped; the shape of ingest's metric metadata without depending on ingest. */
export interface MetadataEntry {
  readonly type: string;
  readonly help: string;
  readonly unit: string;
}

/** Parameters of `/api/v1/metadata`, as strings from the query string. */
export interface MetadataParams {
  readonly limit?: string;
  readonly limit_per_metric?: string;
  readonly metric?: string;
}

/** Parses a Prometheus metadata limit: absent means unlimited (-1), anything but an integer is an error. */
function parseMetadataLimit(text: string | undefined): number | null {
  if (text === undefined || text === '') return -1;
  return /^[+-]?\d+$/.test(text.trim()) ? Number(text) : null;
}

function badData(message: string): ApiResponse {
  return { status: 400, body: { status: 'error', errorType: 'bad_data', error: message } };
}

/**
 * GET /api/v1/metadata: HELP/TYPE/UNIT per metric family from the last scrapes, in Prometheus's shape
 * (`{ metric: [{ type, help, unit }] }`). `limit` caps the metrics (0 gives none, as in Prometheus),
 * `limit_per_metric` the entries per metric, `metric` selects one family. Names are sorted so that a limit
 * always keeps the same ones.
 */
export function handleMetadata(
  params: MetadataParams,
  metadata: ReadonlyMap<string, readonly MetadataEntry[]>,
): ApiResponse {
  const limit = parseMetadataLimit(params.limit);
  if (limit === null)
    return badData(`limit must be a number; got ${JSON.stringify(params.limit)} (pass e.g. limit=100)`);
  const perMetric = parseMetadataLimit(params.limit_per_metric);
  if (perMetric === null) {
    return badData(
      `limit_per_metric must be a number; got ${JSON.stringify(params.limit_per_metric)} (pass e.g. limit_per_metric=1)`,
    );
  }
  const metric = params.metric ?? '';
  const names = metric === '' ? [...metadata.keys()].sort(compareStrings) : [metric];
  const data: Record<string, { type: string; help: string; unit: string }[]> = {};
  let count = 0;
  for (const name of names) {
    if (limit >= 0 && count >= limit) break;
    const entries = metadata.get(name);
    if (entries === undefined || entries.length === 0) continue;
    const kept = perMetric > 0 ? entries.slice(0, perMetric) : entries;
    data[name] = kept.map((e) => ({ type: apiType(e.type), help: e.help, unit: e.unit }));
    count++;
  }
  return { status: 200, body: { status: 'success', data } };
}

/** Prometheus's parsers report the text format's `untyped` as `unknown`; clients only know the latter. */
function apiType(type: string): string {
  return type === 'untyped' ? 'unknown' : type;
}
