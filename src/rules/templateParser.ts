import { lexTemplate, TemplateSyntaxError, type TemplateToken } from './templateLexer.js';

/** An operand of a command; `pos`/`end` are offsets in the template text (for error messages). */
export type TemplateOperand = { readonly pos: number; readonly end: number } & (
  | { readonly kind: 'func'; readonly name: string }
  | { readonly kind: 'dot' }
  | { readonly kind: 'nil' }
  | { readonly kind: 'bool'; readonly value: boolean }
  | { readonly kind: 'number'; readonly value: number | bigint }
  | { readonly kind: 'string'; readonly value: string }
  | { readonly kind: 'variable'; readonly name: string; readonly fields: readonly string[] }
  | { readonly kind: 'field'; readonly fields: readonly string[] }
  | { readonly kind: 'chain'; readonly node: TemplateOperand; readonly fields: readonly string[] }
  | { readonly kind: 'pipeline'; readonly pipe: TemplatePipeline }
);

/** One stage of a pipeline: a function call, a field/method access, or a value. */
export interface TemplateCommand {
  readonly pos: number;
  readonly end: number;
  readonly args: readonly TemplateOperand[];
}

/** `[$x :=] cmd | cmd …`; `assign` is true for `$x = …` (changing a declared variable). */
export interface TemplatePipeline {
  readonly pos: number;
  readonly end: number;
  readonly decl: readonly string[];
  readonly assign: boolean;
  readonly cmds: readonly TemplateCommand[];
}

/** A node of a parsed template. */
export type TemplateNode =
  | { readonly kind: 'text'; readonly text: string; readonly pos: number; readonly end: number }
  | { readonly kind: 'action'; readonly pipe: TemplatePipeline }
  | TemplateControlNode<'if' | 'with'>
  | TemplateControlNode<'range'>
  | { readonly kind: 'break' | 'continue'; readonly pos: number };

/** `{{if}}`, `{{with}}` or `{{range}}` with its body and optional `{{else}}` part. */
export interface TemplateControlNode<K extends 'if' | 'with' | 'range'> {
  readonly kind: K;
  readonly pipe: TemplatePipeline;
  readonly list: readonly TemplateNode[];
  readonly elseList: readonly TemplateNode[] | null;
}

const PREDECLARED = ['$', '$labels', '$externalLabels', '$externalURL', '$value'];
const UNSUPPORTED = new Set(['define', 'template', 'block']);
const LITERALS = new Set(['dot', 'nil', 'bool', 'number', 'string']);

/** Parses a template into nodes; unknown functions and undefined variables are errors, as in Go. */
export function parseTemplateNodes(src: string, functions: ReadonlySet<string>): TemplateNode[] {
  return new Parser(lexTemplate(src), functions, src.length).parseTop();
}

class Parser {
  private i = 0;
  private readonly vars: string[] = [...PREDECLARED];
  private rangeDepth = 0;

  constructor(
    private readonly tokens: readonly TemplateToken[],
    private readonly functions: ReadonlySet<string>,
    private readonly length: number,
  ) {}

  parseTop(): TemplateNode[] {
    const { list, stop } = this.parseList();
    if (stop !== null) throw new TemplateSyntaxError(stop.pos, `unexpected {{${stop.word}}}`);
    return list;
  }

  private peek(offset = 0): TemplateToken | undefined {
    return this.tokens[this.i + offset];
  }

  private next(): TemplateToken {
    const t = this.tokens[this.i++];
    if (t === undefined) throw new TemplateSyntaxError(this.length, 'unexpected EOF');
    return t;
  }

  private expect(kind: TemplateToken['kind'], context: string): TemplateToken {
    const t = this.next();
    if (t.kind !== kind) throw new TemplateSyntaxError(t.pos, `unexpected "${t.text}" in ${context}`);
    return t;
  }

  /** Parses nodes until EOF or an `{{else…}}`/`{{end}}`, which it consumes up to the keyword and returns. */
  private parseList(): { list: TemplateNode[]; stop: { word: 'else' | 'end'; pos: number } | null } {
    const list: TemplateNode[] = [];
    for (;;) {
      const t = this.peek();
      if (t === undefined) return { list, stop: null };
      this.i++;
      if (t.kind === 'text') {
        list.push({ kind: 'text', text: t.text, pos: t.pos, end: t.end });
        continue;
      }
      const word = this.peek();
      const keyword = word?.kind === 'ident' ? word.text : '';
      if (keyword === 'end' || keyword === 'else') {
        this.i++;
        return { list, stop: { word: keyword, pos: word?.pos ?? t.pos } };
      }
      list.push(this.parseAction(keyword, word ?? t));
    }
  }

  private parseAction(keyword: string, word: TemplateToken): TemplateNode {
    if (keyword === 'if' || keyword === 'with' || keyword === 'range') {
      this.i++;
      return this.parseControl(keyword, word.pos);
    }
    if (keyword === 'break' || keyword === 'continue') {
      this.i++;
      if (this.rangeDepth === 0) throw new TemplateSyntaxError(word.pos, `{{${keyword}}} outside {{range}}`);
      this.expect('right', `{{${keyword}}}`);
      return { kind: keyword, pos: word.pos };
    }
    if (UNSUPPORTED.has(keyword)) {
      throw new TemplateSyntaxError(
        word.pos,
        `{{${keyword}}} is not supported in alert templates; write the text inline`,
      );
    }
    return { kind: 'action', pipe: this.parsePipeline('command', 'right') };
  }

  private parseControl(kind: 'if' | 'with' | 'range', pos: number): TemplateNode {
    const mark = this.vars.length;
    const pipe = this.parsePipeline(kind, 'right');
    if (pipe.cmds.length === 0) throw new TemplateSyntaxError(pos, `missing value for ${kind}`);
    if (kind === 'range') this.rangeDepth++;
    const body = this.parseList();
    if (kind === 'range') this.rangeDepth--;
    let elseList: TemplateNode[] | null = null;
    if (body.stop === null)
      throw new TemplateSyntaxError(this.length, `unexpected EOF: {{${kind}}} has no {{end}}`);
    if (body.stop.word === 'else') {
      const chained = this.peek();
      if (
        chained?.kind === 'ident' &&
        (chained.text === 'if' || chained.text === 'with') &&
        kind !== 'range'
      ) {
        // `{{else if …}}` is `{{else}}{{if …}}…{{end}}{{end}}` sharing the outer {{end}}.
        this.i++;
        elseList = [this.parseControl(chained.text, chained.pos)];
      } else {
        this.expect('right', '{{else}}');
        const rest = this.parseList();
        if (rest.stop?.word !== 'end') {
          throw new TemplateSyntaxError(
            rest.stop?.pos ?? this.length,
            rest.stop ? 'expected {{end}}; found {{else}}' : `unexpected EOF: {{${kind}}} has no {{end}}`,
          );
        }
        this.expect('right', '{{end}}');
        elseList = rest.list;
      }
    } else {
      this.expect('right', '{{end}}');
    }
    this.vars.length = mark;
    return { kind, pipe, list: body.list, elseList };
  }

  private parsePipeline(context: string, endKind: 'right' | 'rparen'): TemplatePipeline {
    const start = this.peek()?.pos ?? this.length;
    const decl = this.parseDeclarations(context);
    const cmds: TemplateCommand[] = [];
    for (;;) {
      const t = this.peek();
      if (t === undefined) throw new TemplateSyntaxError(this.length, 'unclosed action');
      if (t.kind === endKind) {
        this.i++;
        break;
      }
      if (t.kind === 'pipe' && cmds.length > 0) {
        this.i++;
        continue;
      }
      cmds.push(this.parseCommand(context, cmds.length, endKind));
    }
    if (cmds.length === 0 && (decl.names.length > 0 || context === 'command' || endKind === 'rparen')) {
      throw new TemplateSyntaxError(start, `missing value for ${context}`);
    }
    return {
      pos: start,
      end: cmds[cmds.length - 1]?.end ?? start,
      decl: decl.names,
      assign: decl.assign,
      cmds,
    };
  }

  private parseDeclarations(context: string): { names: string[]; assign: boolean } {
    const first = this.peek();
    if (first?.kind !== 'variable') return { names: [], assign: false };
    const op = this.peek(1);
    const second = this.peek(2);
    if (context === 'range' && op?.kind === 'comma' && second?.kind === 'variable') {
      const op2 = this.peek(3);
      if (op2?.kind === 'declare' || op2?.kind === 'assign') {
        this.i += 4;
        return this.declare([first, second], op2.kind === 'assign');
      }
    }
    if (op?.kind === 'comma') throw new TemplateSyntaxError(op.pos, `too many declarations in ${context}`);
    if (op?.kind !== 'declare' && op?.kind !== 'assign') return { names: [], assign: false };
    this.i += 2;
    return this.declare([first], op.kind === 'assign');
  }

  private declare(tokens: TemplateToken[], assign: boolean): { names: string[]; assign: boolean } {
    const names = tokens.map((t) => {
      if (assign) this.checkVariable(t);
      else this.vars.push(t.text);
      return t.text;
    });
    return { names, assign };
  }

  private checkVariable(t: TemplateToken): void {
    if (!this.vars.includes(t.text)) throw new TemplateSyntaxError(t.pos, `undefined variable "${t.text}"`);
  }

  private parseCommand(context: string, stage: number, endKind: 'right' | 'rparen'): TemplateCommand {
    const args: TemplateOperand[] = [];
    for (;;) {
      const t = this.peek();
      if (t === undefined || t.kind === 'pipe' || t.kind === endKind) break;
      if (t.kind === 'right' || t.kind === 'rparen')
        throw new TemplateSyntaxError(t.pos, `unexpected "${t.text}" in ${context}`);
      if (args.length > 0 && !t.spaced && t.kind !== 'lparen') {
        throw new TemplateSyntaxError(t.pos, `missing space before "${t.text}" in ${context}`);
      }
      args.push(this.parseOperand(context));
    }
    const first = args[0];
    const last = args[args.length - 1];
    if (first === undefined || last === undefined) {
      throw new TemplateSyntaxError(this.peek()?.pos ?? this.length, `missing value for ${context}`);
    }
    if (first.kind === 'nil') throw new TemplateSyntaxError(first.pos, 'nil is not a command');
    if (stage > 0 && LITERALS.has(first.kind)) {
      throw new TemplateSyntaxError(first.pos, `non executable command in pipeline stage ${stage + 1}`);
    }
    return { pos: first.pos, end: last.end, args };
  }

  private parseOperand(context: string): TemplateOperand {
    const term = this.parseTerm(context);
    const fields: string[] = [];
    let end = term.end;
    for (let t = this.peek(); t?.kind === 'field' && !t.spaced; t = this.peek()) {
      this.i++;
      fields.push(t.text.slice(1));
      end = t.end;
    }
    if (fields.length === 0) return term;
    if (term.kind === 'variable' && term.fields.length === 0) return { ...term, fields, end };
    if (term.kind === 'field') return { ...term, fields: [...term.fields, ...fields], end };
    if (LITERALS.has(term.kind) && term.kind !== 'dot') {
      throw new TemplateSyntaxError(term.pos, `unexpected . after term "${this.textOf(term)}"`);
    }
    return { kind: 'chain', node: term, fields, pos: term.pos, end };
  }

  private textOf(op: TemplateOperand): string {
    return 'value' in op ? String(op.value) : op.kind;
  }

  private parseTerm(context: string): TemplateOperand {
    const t = this.next();
    const at = { pos: t.pos, end: t.end };
    switch (t.kind) {
      case 'dot':
        return { kind: 'dot', ...at };
      case 'field':
        return { kind: 'field', fields: [t.text.slice(1)], ...at };
      case 'variable':
        this.checkVariable(t);
        return { kind: 'variable', name: t.text, fields: [], ...at };
      case 'string':
        return { kind: 'string', value: String(t.value), ...at };
      case 'number':
        return { kind: 'number', value: t.value as number | bigint, ...at };
      case 'lparen': {
        const pipe = this.parsePipeline('parenthesized pipeline', 'rparen');
        return { kind: 'pipeline', pipe, pos: t.pos, end: this.tokens[this.i - 1]?.end ?? t.end };
      }
      case 'ident':
        if (t.text === 'true' || t.text === 'false') return { kind: 'bool', value: t.text === 'true', ...at };
        if (t.text === 'nil') return { kind: 'nil', ...at };
        if (!this.functions.has(t.text)) {
          throw new TemplateSyntaxError(t.pos, `function "${t.text}" not defined`);
        }
        return { kind: 'func', name: t.text, ...at };
      default:
        throw new TemplateSyntaxError(t.pos, `unexpected "${t.text}" in ${context}`);
    }
  }
}
