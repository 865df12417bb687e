import { formatGoFloat, formatGoTime, goSprint, goSprintf } from './templateFormat.js';
import {
  compileGoRegexp,
  escaperInput,
  floatToTime,
  htmlEscape,
  humanize,
  humanize1024,
  humanizeDuration,
  jsEscape,
  parseDurationSeconds,
  queryEscape,
  replaceAllGo,
  stripDomain,
  stripPort,
  TemplateFuncError,
  titleCase,
  toFloat,
} from './templateHelpers.js';
import { GoMap, GoStruct, goTypeName, isTrue, type GoTime, type GoValue } from './templateValues.js';

/** A string argument (the executor has checked its type). */
const str = (v: GoValue | undefined): string => (typeof v === 'string' ? v : '');

/** The Go parameter type a template function declares; arguments are checked against it before the call. */
export type ParamKind = 'any' | 'string' | 'float' | 'int' | 'sample' | 'queryResult';

/** What a function can reach besides its arguments. */
export interface TemplateCallContext {
  readonly externalURL: string;
  /** Runs a PromQL instant query at the alert's evaluation time. */
  query(expr: string): Promise<GoValue>;
}

/** A template function: its declared parameters and its body (which throws TemplateFuncError on failure). */
export interface TemplateFunction {
  readonly params: readonly ParamKind[];
  readonly variadic?: ParamKind;
  call(args: GoValue[], ctx: TemplateCallContext): GoValue | Promise<GoValue>;
}

const fn = (params: ParamKind[], call: TemplateFunction['call'], variadic?: ParamKind): TemplateFunction =>
  variadic === undefined ? { params, call } : { params, call, variadic };

type Kind = 'bool' | 'int' | 'float' | 'string';

function basicKind(v: GoValue): Kind | null {
  if (typeof v === 'boolean') return 'bool';
  if (typeof v === 'bigint') return 'int';
  if (typeof v === 'number') return 'float';
  if (typeof v === 'string') return 'string';
  return null;
}

function equal(a: GoValue, b: GoValue): boolean {
  if (a === null || b === null) return a === b;
  const ka = basicKind(a);
  const kb = basicKind(b);
  if (ka === null || kb === null)
    throw new TemplateFuncError(`non-comparable type ${goTypeName(ka === null ? a : b)}`);
  if (ka !== kb) throw new TemplateFuncError('incompatible types for comparison');
  return a === b;
}

function less(a: GoValue, b: GoValue): boolean {
  const ka = basicKind(a);
  const kb = basicKind(b);
  if (ka === null || kb === null || ka === 'bool' || kb === 'bool') {
    throw new TemplateFuncError('invalid type for comparison');
  }
  if (ka !== kb) throw new TemplateFuncError('incompatible types for comparison');
  return (a as string | number | bigint) < (b as string | number | bigint);
}

function toIndex(v: GoValue, what: string): number {
  if (typeof v !== 'bigint') {
    throw new TemplateFuncError(`cannot index ${what} with type ${v === null ? 'nil' : goTypeName(v)}`);
  }
  return Number(v);
}

function indexOne(item: GoValue, key: GoValue): GoValue {
  if (item instanceof GoMap) {
    if (typeof key !== 'string')
      throw new TemplateFuncError(`value has type ${goTypeName(key)}; should be string`);
    return item.entries.get(key) ?? item.zero;
  }
  if (Array.isArray(item) || typeof item === 'string') {
    const list = item as readonly GoValue[] | string;
    const i = toIndex(key, typeof item === 'string' ? 'string' : 'slice');
    if (i < 0 || i >= list.length) throw new TemplateFuncError(`index out of range: ${i}`);
    return typeof list === 'string' ? BigInt(Buffer.from(list)[i] ?? 0) : (list[i] ?? null);
  }
  if (item === null) throw new TemplateFuncError('index of untyped nil');
  throw new TemplateFuncError(`can't index item of type ${goTypeName(item)}`);
}

function lengthOf(v: GoValue): bigint {
  if (typeof v === 'string') return BigInt(Buffer.byteLength(v));
  if (Array.isArray(v)) return BigInt(v.length);
  if (v instanceof GoMap) return BigInt(v.entries.size);
  throw new TemplateFuncError(`len of type ${v === null ? 'nil' : goTypeName(v)}`);
}

function sliceOf(item: GoValue, idx: GoValue[]): GoValue {
  if (typeof item !== 'string' && !Array.isArray(item)) {
    throw new TemplateFuncError(`can't slice item of type ${item === null ? 'nil' : goTypeName(item)}`);
  }
  const list = item as string | readonly GoValue[];
  if (idx.length > 2) throw new TemplateFuncError('too many slice indexes: ' + String(idx.length));
  const from = idx[0] === undefined ? 0 : toIndex(idx[0], 'slice');
  const to = idx[1] === undefined ? list.length : toIndex(idx[1], 'slice');
  if (from < 0 || to > list.length || from > to)
    throw new TemplateFuncError(`invalid slice index: ${from} > ${to}`);
  return list.slice(from, to);
}

function sampleField(s: GoValue, name: 'Labels' | 'Value'): GoValue {
  if (!(s instanceof GoStruct))
    throw new TemplateFuncError('invalid memory address or nil pointer dereference');
  return s.fields.get(name) ?? null;
}

function label(name: string, s: GoValue): string {
  const labels = sampleField(s, 'Labels');
  return labels instanceof GoMap ? str(labels.entries.get(name)) : '';
}

function joinURL(base: string, path: string): string {
  return base.replace(/\/+$/, '') + path;
}

/** Go's text/template builtins (`and`/`or` are evaluated lazily by the executor and only named here). */
const builtins: Record<string, TemplateFunction> = {
  and: fn([], () => null, 'any'),
  or: fn([], () => null, 'any'),
  not: fn(['any'], ([v = null]) => !isTrue(v)),
  len: fn(['any'], ([v = null]) => lengthOf(v)),
  index: fn(
    ['any'],
    ([item = null, ...keys]) => keys.reduce<GoValue>((acc, k) => indexOne(acc, k), item),
    'any',
  ),
  slice: fn(['any'], ([item = null, ...idx]) => sliceOf(item, idx), 'any'),
  eq: fn(
    ['any'],
    ([a = null, ...rest]) => {
      if (rest.length === 0) throw new TemplateFuncError('missing argument for comparison');
      return rest.some((b) => equal(a, b));
    },
    'any',
  ),
  ne: fn(['any', 'any'], ([a = null, b = null]) => !equal(a, b)),
  lt: fn(['any', 'any'], ([a = null, b = null]) => less(a, b)),
  le: fn(['any', 'any'], ([a = null, b = null]) => less(a, b) || equal(a, b)),
  gt: fn(['any', 'any'], ([a = null, b = null]) => !less(a, b) && !equal(a, b)),
  ge: fn(['any', 'any'], ([a = null, b = null]) => !less(a, b)),
  print: fn([], (args) => goSprint(args), 'any'),
  println: fn([], (args) => `${args.map((a) => goSprint([a])).join(' ')}\n`, 'any'),
  printf: fn(['string'], ([format, ...args]) => goSprintf(str(format), args), 'any'),
  html: fn([], (args) => htmlEscape(escaperInput(args)), 'any'),
  js: fn([], (args) => jsEscape(escaperInput(args)), 'any'),
  urlquery: fn([], (args) => queryEscape(escaperInput(args)), 'any'),
};

const number = (f: (v: number) => string): TemplateFunction => fn(['any'], ([v = null]) => f(toFloat(v)));

/** Prometheus's template functions for alert annotations and labels (no console-only tmpl/pathPrefix). */
const prometheusFunctions: Record<string, TemplateFunction> = {
  query: fn(['string'], ([expr], ctx) => ctx.query(str(expr))),
  first: fn(['queryResult'], ([v]) => {
    const list = (v ?? []) as readonly GoValue[];
    if (list.length === 0) throw new TemplateFuncError('first() called on vector with no elements');
    return list[0] ?? null;
  }),
  label: fn(['string', 'sample'], ([name, s = null]) => label(str(name), s)),
  value: fn(['sample'], ([s = null]) => sampleField(s, 'Value')),
  strvalue: fn(['sample'], ([s = null]) => label('__value__', s)),
  sortByLabel: fn(['string', 'queryResult'], ([name, v]) =>
    [...((v ?? []) as readonly GoValue[])].sort((a, b) => {
      const x = label(str(name), a);
      const y = label(str(name), b);
      return x < y ? -1 : x > y ? 1 : 0;
    }),
  ),
  args: fn(
    [],
    (args) => new GoMap(new Map(args.map((a, i) => [`arg${i}`, a])), 'map[string]interface {}', null),
    'any',
  ),
  reReplaceAll: fn(['string', 'string', 'string'], ([p, r, t]) => replaceAllGo(str(p), str(r), str(t))),
  match: fn(['string', 'string'], ([p, s]) => compileGoRegexp(str(p)).test(str(s))),
  safeHtml: fn(['string'], ([s]) => str(s)),
  title: fn(['string'], ([s]) => titleCase(str(s))),
  toUpper: fn(['string'], ([s]) => str(s).toUpperCase()),
  toLower: fn(['string'], ([s]) => str(s).toLowerCase()),
  stripPort: fn(['string'], ([s]) => stripPort(str(s))),
  stripDomain: fn(['string'], ([s]) => stripDomain(str(s))),
  graphLink: fn(['string'], ([e], ctx) =>
    joinURL(ctx.externalURL, `/graph?g0.expr=${queryEscape(str(e))}&g0.tab=0`),
  ),
  tableLink: fn(['string'], ([e], ctx) =>
    joinURL(ctx.externalURL, `/graph?g0.expr=${queryEscape(str(e))}&g0.tab=1`),
  ),
  externalURL: fn([], (_args, ctx) => ctx.externalURL),
  humanize: number(humanize),
  humanize1024: number(humanize1024),
  humanizeDuration: number(humanizeDuration),
  humanizePercentage: number((v) => `${formatGoFloat(v * 100, 'g', 4)}%`),
  humanizeTimestamp: number((v) => {
    const t = floatToTime(v);
    return t === null ? formatGoFloat(v, 'g', 4) : formatGoTime(t);
  }),
  toTime: fn(['any'], ([v = null]) => {
    const f = toFloat(v);
    const t = floatToTime(f);
    if (t === null) throw new TemplateFuncError(`${formatGoFloat(f, 'v')} cannot be converted to a time`);
    return t;
  }),
  parseDuration: fn(['string'], ([d]) => parseDurationSeconds(str(d))),
};

/** Every function an alert template may call, by name. */
export const templateFunctions: ReadonlyMap<string, TemplateFunction> = new Map(
  Object.entries({ ...builtins, ...prometheusFunctions }),
);

/** Names for the parser's "function not defined" check. */
export const templateFunctionNames: ReadonlySet<string> = new Set(templateFunctions.keys());

/** Methods of time.Time that templates use (`(toTime $v).Format "2006"`). */
export function callTimeMethod(t: GoTime, name: string, args: GoValue[]): GoValue {
  const want = name === 'Format' ? 1 : 0;
  if (!['Format', 'Unix', 'UnixMilli', 'String', 'Year'].includes(name)) {
    throw new TemplateFuncError(`can't evaluate field ${name} in type time.Time`);
  }
  if (args.length !== want)
    throw new TemplateFuncError(`wrong number of args for ${name}: want ${want} got ${args.length}`);
  if (name === 'Unix') return BigInt(Math.floor(t.ms / 1000));
  if (name === 'UnixMilli') return BigInt(t.ms);
  if (name === 'Year') return BigInt(new Date(t.ms).getUTCFullYear());
  if (name === 'String') return formatGoTime(t);
  const layout = args[0];
  if (typeof layout !== 'string')
    throw new TemplateFuncError(`wrong type for value; expected string; got ${goTypeName(layout ?? null)}`);
  return formatGoLayout(t, layout);
}

const MONTHS = [
  'January',
  'February',
  'March',
  'April',
  'May',
  'June',
  'July',
  'August',
  'September',
  'October',
  'November',
  'December',
];
const DAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];

/** Go's time.Format for UTC times and the common layout elements. */
function formatGoLayout(t: GoTime, layout: string): string {
  const d = new Date(t.ms);
  const p = (n: number, w = 2): string => String(n).padStart(w, '0');
  const h = d.getUTCHours();
  const ms = p(((t.ms % 1000) + 1000) % 1000, 3);
  const tokens: [string, () => string][] = [
    ['January', () => MONTHS[d.getUTCMonth()] ?? ''],
    ['Monday', () => DAYS[d.getUTCDay()] ?? ''],
    ['Jan', () => (MONTHS[d.getUTCMonth()] ?? '').slice(0, 3)],
    ['Mon', () => (DAYS[d.getUTCDay()] ?? '').slice(0, 3)],
    ['MST', () => 'UTC'],
    ['2006', () => p(d.getUTCFullYear(), 4)],
    ['Z07:00', () => 'Z'],
    ['Z0700', () => 'Z'],
    ['-07:00', () => '+00:00'],
    ['-0700', () => '+0000'],
    ['.000', () => `.${ms}`],
    ['.999', () => (ms === '000' ? '' : `.${ms.replace(/0+$/, '')}`)],
    ['01', () => p(d.getUTCMonth() + 1)],
    ['02', () => p(d.getUTCDate())],
    ['_2', () => String(d.getUTCDate()).padStart(2, ' ')],
    ['06', () => p(d.getUTCFullYear() % 100)],
    ['15', () => p(h)],
    ['03', () => p(h % 12 === 0 ? 12 : h % 12)],
    ['04', () => p(d.getUTCMinutes())],
    ['05', () => p(d.getUTCSeconds())],
    ['PM', () => (h >= 12 ? 'PM' : 'AM')],
    ['pm', () => (h >= 12 ? 'pm' : 'am')],
    ['1', () => String(d.getUTCMonth() + 1)],
    ['2', () => String(d.getUTCDate())],
    ['3', () => String(h % 12 === 0 ? 12 : h % 12)],
    ['4', () => String(d.getUTCMinutes())],
    ['5', () => String(d.getUTCSeconds())],
  ];
  let out = '';
  let i = 0;
  outer: while (i < layout.length) {
    for (const [token, render] of tokens) {
      if (layout.startsWith(token, i)) {
        out += render();
        i += token.length;
        continue outer;
      }
    }
    out += layout[i];
    i++;
  }
  return out;
}
