import { isMap, isNode, isPair, isScalar, LineCounter, parseDocument, type Document, type Node } from 'yaml';
import type { ConfigIssue } from './ConfigError.js';

/** A parsed YAML file that can say where any field came from. */
export interface YamlSource {
  readonly file: string;
  readonly value: unknown;
  /** 1-based line and column of the node at `path`, or of its nearest existing parent. */
  locate(path: readonly PropertyKey[]): { line: number; column: number } | null;
}

/** Parses YAML text; syntax errors come back as located issues, never as a throw. */
export function parseYamlSource(
  file: string,
  text: string,
): { ok: true; source: YamlSource } | { ok: false; issues: ConfigIssue[] } {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length > 0) {
    const issues = doc.errors.map((error) => {
      const pos = lineCounter.linePos(error.pos[0]);
      return { file, line: pos.line, column: pos.col, field: '', message: firstLine(error.message) };
    });
    return { ok: false, issues };
  }
  const value: unknown = doc.toJS({ maxAliasCount: 100 });
  return {
    ok: true,
    source: { file, value: value ?? {}, locate: (path) => locateIn(doc, lineCounter, path) },
  };
}

function locateIn(
  doc: Document,
  lineCounter: LineCounter,
  path: readonly PropertyKey[],
): { line: number; column: number } | null {
  for (let depth = path.length; depth >= 0; depth--) {
    const prefix = path.slice(0, depth);
    const node = prefix.length === 0 ? doc.contents : doc.getIn(prefix as unknown[], true);
    const range = rangeOf(node, doc, prefix);
    if (range !== null) {
      const pos = lineCounter.linePos(range);
      return { line: pos.line, column: pos.col };
    }
  }
  return null;
}

// Prefer the key's position for a mapping value: "field: value" is where a person looks.
function rangeOf(node: unknown, doc: Document, prefix: readonly PropertyKey[]): number | null {
  if (prefix.length > 0) {
    const parent = prefix.length === 1 ? doc.contents : doc.getIn(prefix.slice(0, -1) as unknown[], true);
    if (isMap(parent)) {
      const last = prefix[prefix.length - 1];
      const pair = parent.items.find((p) => isPair(p) && isScalar(p.key) && p.key.value === last);
      const key = pair?.key;
      if (isNode(key) && key.range) return key.range[0];
    }
  }
  if (isNode(node) && (node as Node).range) return (node as Node).range?.[0] ?? null;
  return null;
}

function firstLine(message: string): string {
  return message.split('\n')[0] ?? message;
}
