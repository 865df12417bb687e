/**
 * The values an alert template works with, modelled on the Go types Prometheus hands to text/template:
 * `string`, `float64` (a JS number), `int` (a bigint, so `1` and `1.0` stay different kinds as in Go), `bool`,
 * nil, slices, `map[string]string`, the alert data struct, query samples and `time.Time`.
 */
export type GoValue =
  string | number | bigint | boolean | null | readonly GoValue[] | GoMap | GoStruct | GoTime;

/** A Go map; a missing key reads as the zero value of the element type (Prometheus sets missingkey=zero). */
export class GoMap {
  constructor(
    readonly entries: ReadonlyMap<string, GoValue>,
    readonly typeName: string,
    readonly zero: GoValue,
  ) {}

  /** A `map[string]string`, what Prometheus uses for label sets. */
  static fromLabels(labels: Readonly<Record<string, string>>): GoMap {
    return new GoMap(new Map(Object.entries(labels)), 'map[string]string', '');
  }
}

/** A Go struct (or pointer to one) with exported fields, such as a query sample (`.Labels`, `.Value`). */
export class GoStruct {
  constructor(
    readonly typeName: string,
    readonly fields: ReadonlyMap<string, GoValue>,
  ) {}
}

/** A `time.Time` in UTC with millisecond precision, as Prometheus's `toTime` returns. */
export class GoTime {
  constructor(readonly ms: number) {}
}

/** The Go type name of a value, as Go's error messages print it. */
export function goTypeName(v: GoValue): string {
  if (v === null) return 'nil';
  if (typeof v === 'string') return 'string';
  if (typeof v === 'number') return 'float64';
  if (typeof v === 'bigint') return 'int';
  if (typeof v === 'boolean') return 'bool';
  if (v instanceof GoMap || v instanceof GoStruct) return v.typeName;
  if (v instanceof GoTime) return 'time.Time';
  return isQueryResult(v) ? 'template.queryResult' : '[]interface {}';
}

/** A query sample as Prometheus's template package defines it: `*template.sample`. */
export function makeSample(labels: Readonly<Record<string, string>>, value: number): GoStruct {
  return new GoStruct(
    '*template.sample',
    new Map<string, GoValue>([
      ['Labels', GoMap.fromLabels(labels)],
      ['Value', value],
    ]),
  );
}

/** True for a sample made by makeSample. */
export function isSample(v: GoValue): v is GoStruct {
  return v instanceof GoStruct && v.typeName === '*template.sample';
}

/** True for a list of samples (what `query` returns); an empty list counts. */
export function isQueryResult(v: GoValue): v is readonly GoStruct[] {
  return Array.isArray(v) && (v as readonly GoValue[]).every(isSample);
}

/** Go's truth: false, 0, nil and empty strings, slices and maps are false; everything else is true. */
export function isTrue(v: GoValue): boolean {
  if (v === null || v === false || v === '' || v === 0 || v === 0n) return false;
  if (Array.isArray(v)) return v.length > 0;
  if (v instanceof GoMap) return v.entries.size > 0;
  return true;
}

/** Map keys in Go's print order (sorted). */
export function sortedKeys(m: GoMap): string[] {
  return [...m.entries.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}
