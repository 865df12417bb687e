import type { PosRange } from './ast.js';

/** A place in the query text: 0-based offset, 1-based line and column. */
export interface SourcePosition {
  readonly offset: number;
  readonly line: number;
  readonly column: number;
}

/** Why a query could not be parsed or type-checked, and where. */
export interface ParseErrorInfo {
  readonly message: string;
  readonly position: SourcePosition;
}

/** Converts an offset into line and column as Prometheus reports them (1-based). */
export function positionAt(text: string, offset: number): SourcePosition {
  const clamped = Math.max(0, Math.min(offset, text.length));
  let line = 1;
  let lastBreak = -1;
  for (let i = 0; i < clamped; i++) {
    if (text.charCodeAt(i) === 10) {
      line++;
      lastBreak = i;
    }
  }
  return { offset: clamped, line, column: clamped - lastBreak };
}

/** Thrown inside the parser and checker to abandon the conversion; parseExpr turns it into a value. */
export class ParseFailure extends Error {
  constructor(
    message: string,
    readonly pos: PosRange,
  ) {
    super(message);
    this.name = 'ParseFailure';
  }
}

/** Throws a ParseFailure at pos. */
export function fail(message: string, pos: PosRange): never {
  throw new ParseFailure(message, pos);
}
