import { formatGoValue } from './templateFormat.js';
import {
  callTimeMethod,
  templateFunctions,
  type ParamKind,
  type TemplateCallContext,
} from './templateFunctions.js';
import { TemplateFuncError } from './templateHelpers.js';
import type {
  TemplateCommand,
  TemplateControlNode,
  TemplateNode,
  TemplateOperand,
  TemplatePipeline,
} from './templateParser.js';
import {
  GoMap,
  GoStruct,
  GoTime,
  goTypeName,
  isQueryResult,
  isSample,
  isTrue,
  sortedKeys,
  type GoValue,
} from './templateValues.js';

/** An execution failure at an offset of the template; `at` is the source text of the failing node. */
export class TemplateExecError extends Error {
  constructor(
    readonly pos: number,
    readonly at: string,
    message: string,
  ) {
    super(message);
    this.name = 'TemplateExecError';
  }
}

class LoopSignal extends Error {
  constructor(readonly kind: 'break' | 'continue') {
    super(`{{${kind}}}`);
  }
}

const NO_FINAL = Symbol('no piped value');
type Final = GoValue | typeof NO_FINAL;

/** Bounds on one execution, so a runaway `range` cannot stall the rule group or exhaust memory. */
export interface TemplateLimits {
  /** performance.now() value after which execution stops. */
  readonly deadline: number;
  readonly maxOutputChars: number;
}

/** Runs a parsed template against `dot` (the alert data) with `vars` predeclared; returns the output. */
export async function executeTemplate(
  src: string,
  nodes: readonly TemplateNode[],
  dot: GoValue,
  vars: ReadonlyMap<string, GoValue>,
  ctx: TemplateCallContext,
  limits: TemplateLimits,
): Promise<string> {
  const exec = new Executor(
    src,
    ctx,
    [...vars].map(([name, value]) => ({ name, value })),
    limits,
  );
  await exec.walkList(nodes, dot);
  return exec.out;
}

class Executor {
  out = '';
  private steps = 0;

  constructor(
    private readonly src: string,
    private readonly ctx: TemplateCallContext,
    private readonly vars: { name: string; value: GoValue }[],
    private readonly limits: TemplateLimits,
  ) {}

  private emit(text: string, node: { pos: number; end: number }): void {
    this.out += text;
    if (this.out.length > this.limits.maxOutputChars) {
      this.fail(node, `template output is longer than ${this.limits.maxOutputChars} characters`);
    }
  }

  private tick(node: { pos: number; end: number }): void {
    if (++this.steps % 1000 === 0 && performance.now() > this.limits.deadline) {
      this.fail(node, 'template took too long to execute (a range over too many items?)');
    }
  }

  private fail(node: { pos: number; end: number }, message: string): never {
    throw new TemplateExecError(node.pos, this.src.slice(node.pos, node.end), message);
  }

  async walkList(nodes: readonly TemplateNode[], dot: GoValue): Promise<void> {
    for (const node of nodes) await this.walk(node, dot);
  }

  private async walk(node: TemplateNode, dot: GoValue): Promise<void> {
    switch (node.kind) {
      case 'text':
        this.emit(node.text, node);
        return;
      case 'action': {
        const value = await this.evalPipeline(dot, node.pipe);
        if (node.pipe.decl.length === 0) this.emit(formatGoValue(value, '<no value>'), node.pipe);
        return;
      }
      case 'break':
      case 'continue':
        throw new LoopSignal(node.kind);
      case 'range':
        return this.walkRange(node, dot);
      default: {
        const mark = this.vars.length;
        const value = await this.evalPipeline(dot, node.pipe);
        const truth = isTrue(value);
        if (truth) await this.walkList(node.list, node.kind === 'with' ? value : dot);
        else if (node.elseList !== null) await this.walkList(node.elseList, dot);
        this.vars.length = mark;
      }
    }
  }

  private async walkRange(node: TemplateControlNode<'range'>, dot: GoValue): Promise<void> {
    const mark = this.vars.length;
    const pipe = { ...node.pipe, decl: [] };
    const value = await this.evalPipeline(dot, pipe);
    const items = this.rangeItems(node, value);
    const [first, second] = node.pipe.decl;
    let count = 0;
    for (const [key, elem] of items) {
      count++;
      this.tick(node.pipe);
      this.vars.length = mark;
      if (second !== undefined && first !== undefined) {
        this.vars.push({ name: first, value: key }, { name: second, value: elem });
      } else if (first !== undefined) this.vars.push({ name: first, value: elem });
      try {
        await this.walkList(node.list, elem);
      } catch (signal) {
        if (!(signal instanceof LoopSignal)) throw signal;
        if (signal.kind === 'break') break;
      }
    }
    this.vars.length = mark;
    if (count === 0 && node.elseList !== null) await this.walkList(node.elseList, dot);
  }

  /** What `range` iterates: slices by index, maps in key order, integers 0…n-1 (lazily), nil as nothing. */
  private *rangeItems(node: TemplateControlNode<'range'>, value: GoValue): Generator<[GoValue, GoValue]> {
    if (Array.isArray(value))
      yield* (value as readonly GoValue[]).map((v, i): [GoValue, GoValue] => [BigInt(i), v]);
    else if (value instanceof GoMap) {
      for (const k of sortedKeys(value)) yield [k, value.entries.get(k) ?? null];
    } else if (typeof value === 'bigint') {
      for (let i = 0n; i < value; i++) yield [i, i];
    } else if (value !== null) {
      this.fail(
        node.pipe.cmds[0] ?? { pos: node.pipe.pos, end: node.pipe.pos },
        `range can't iterate over ${formatGoValue(value)}`,
      );
    }
  }

  private async evalPipeline(dot: GoValue, pipe: TemplatePipeline): Promise<GoValue> {
    let value: Final = NO_FINAL;
    for (const cmd of pipe.cmds) value = await this.evalCommand(dot, cmd, value);
    const result = value === NO_FINAL ? null : value;
    for (const name of pipe.decl) {
      if (pipe.assign) {
        const v = [...this.vars].reverse().find((x) => x.name === name);
        if (v !== undefined) v.value = result;
      } else this.vars.push({ name, value: result });
    }
    return result;
  }

  private lookup(name: string): GoValue {
    for (let i = this.vars.length - 1; i >= 0; i--)
      if (this.vars[i]?.name === name) return this.vars[i]?.value ?? null;
    return null;
  }

  private async evalCommand(dot: GoValue, cmd: TemplateCommand, final: Final): Promise<GoValue> {
    const [first, ...rest] = cmd.args;
    if (first === undefined) return null;
    switch (first.kind) {
      case 'func':
        return this.evalFunction(dot, first, rest, final);
      case 'field':
        return this.evalFields(dot, dot, first, first.fields, rest, final);
      case 'variable':
        if (first.fields.length > 0)
          return this.evalFields(dot, this.lookup(first.name), first, first.fields, rest, final);
        break;
      case 'chain':
        return this.evalFields(dot, await this.evalValue(dot, first.node), first, first.fields, rest, final);
      default:
        break;
    }
    if (rest.length > 0 || final !== NO_FINAL)
      this.fail(first, `can't give argument to non-function ${this.src.slice(first.pos, first.end)}`);
    return this.evalValue(dot, first);
  }

  private async evalValue(dot: GoValue, op: TemplateOperand): Promise<GoValue> {
    switch (op.kind) {
      case 'dot':
        return dot;
      case 'nil':
        return null;
      case 'bool':
      case 'number':
      case 'string':
        return op.value;
      case 'variable':
        return this.evalFields(dot, this.lookup(op.name), op, op.fields, [], NO_FINAL);
      case 'field':
        return this.evalFields(dot, dot, op, op.fields, [], NO_FINAL);
      case 'chain':
        return this.evalFields(dot, await this.evalValue(dot, op.node), op, op.fields, [], NO_FINAL);
      case 'pipeline':
        return this.evalPipeline(dot, op.pipe);
      case 'func':
        return this.evalFunction(dot, op, [], NO_FINAL);
    }
  }

  private async evalFields(
    dot: GoValue,
    receiver: GoValue,
    node: TemplateOperand,
    fields: readonly string[],
    args: readonly TemplateOperand[],
    final: Final,
  ): Promise<GoValue> {
    let value = receiver;
    for (const [i, name] of fields.entries()) {
      const last = i === fields.length - 1;
      const hasArgs = last && (args.length > 0 || final !== NO_FINAL);
      if (value instanceof GoTime) {
        const argValues = hasArgs ? await this.evalArgs(dot, args, final, ['any'], 'any') : [];
        value = this.guard(node, name, () => callTimeMethod(value as GoTime, name, argValues));
        continue;
      }
      if (hasArgs) this.fail(node, `${name} has arguments but cannot be invoked as function`);
      if (value instanceof GoMap) value = value.entries.get(name) ?? value.zero;
      else if (value instanceof GoStruct && value.fields.has(name)) value = value.fields.get(name) ?? null;
      else if (value === null) this.fail(node, `nil pointer evaluating interface {}.${name}`);
      else this.fail(node, `can't evaluate field ${name} in type ${goTypeName(value)}`);
    }
    return value;
  }

  private guard<T>(node: { pos: number; end: number }, name: string, body: () => T): T {
    try {
      return body();
    } catch (err) {
      if (err instanceof TemplateExecError) throw err;
      this.fail(node, `error calling ${name}: ${err instanceof Error ? err.message : String(err)}`);
    }
  }

  private async evalFunction(
    dot: GoValue,
    node: Extract<TemplateOperand, { kind: 'func' }>,
    args: readonly TemplateOperand[],
    final: Final,
  ): Promise<GoValue> {
    const fn = templateFunctions.get(node.name);
    const at = { pos: node.pos, end: args[args.length - 1]?.end ?? node.end };
    if (fn === undefined) this.fail(at, `function "${node.name}" not defined`);
    if (node.name === 'and' || node.name === 'or') return this.evalAndOr(dot, node.name, at, args, final);
    const count = args.length + (final === NO_FINAL ? 0 : 1);
    const wanted = fn.params.length;
    if (fn.variadic === undefined ? count !== wanted : count < wanted) {
      const want = fn.variadic === undefined ? `${wanted}` : `at least ${wanted}`;
      this.fail(at, `wrong number of args for ${node.name}: want ${want} got ${count}`);
    }
    const values = await this.evalArgs(dot, args, final, fn.params, fn.variadic ?? 'any', at);
    try {
      return await fn.call(values, this.ctx);
    } catch (err) {
      if (err instanceof TemplateExecError) throw err;
      const message = err instanceof TemplateFuncError || err instanceof Error ? err.message : String(err);
      return this.fail(at, `error calling ${node.name}: ${message}`);
    }
  }

  private async evalAndOr(
    dot: GoValue,
    name: 'and' | 'or',
    at: { pos: number; end: number },
    args: readonly TemplateOperand[],
    final: Final,
  ): Promise<GoValue> {
    const count = args.length + (final === NO_FINAL ? 0 : 1);
    if (count < 1) this.fail(at, `wrong number of args for ${name}: want at least 1 got 0`);
    let value: GoValue = null;
    for (const [i, arg] of [...args, null].entries()) {
      if (arg === null && final === NO_FINAL) break;
      value = arg === null ? (final as GoValue) : await this.evalValue(dot, arg);
      const stop = name === 'and' ? !isTrue(value) : isTrue(value);
      if (stop || i === count - 1) return value;
    }
    return value;
  }

  private async evalArgs(
    dot: GoValue,
    args: readonly TemplateOperand[],
    final: Final,
    params: readonly ParamKind[],
    variadic: ParamKind,
    at?: { pos: number; end: number },
  ): Promise<GoValue[]> {
    const values: GoValue[] = [];
    for (const [i, arg] of args.entries()) {
      const kind = params[i] ?? variadic;
      const raw = await this.evalValue(dot, arg);
      values.push(this.convert(arg.kind === 'number' ? 'literal' : 'value', raw, kind, arg));
    }
    if (final !== NO_FINAL) {
      const kind = params[values.length] ?? variadic;
      values.push(this.convert('value', final, kind, at ?? args[args.length - 1] ?? { pos: 0, end: 0 }));
    }
    return values;
  }

  /** Checks an argument against a declared Go parameter type; number literals convert like Go constants. */
  private convert(
    origin: 'literal' | 'value',
    v: GoValue,
    kind: ParamKind,
    node: { pos: number; end: number },
  ): GoValue {
    if (kind === 'any') return v;
    if (origin === 'literal' && kind === 'float' && typeof v === 'bigint') return Number(v);
    const ok =
      (kind === 'string' && typeof v === 'string') ||
      (kind === 'float' && typeof v === 'number') ||
      (kind === 'int' && typeof v === 'bigint') ||
      (kind === 'sample' && (v === null || isSample(v))) ||
      (kind === 'queryResult' && (v === null || isQueryResult(v)));
    if (ok) return v;
    const expected = {
      string: 'string',
      float: 'float64',
      int: 'int',
      sample: '*template.sample',
      queryResult: 'template.queryResult',
    }[kind];
    return this.fail(
      node,
      `wrong type for value; expected ${expected}; got ${v === null ? 'nil' : goTypeName(v)}`,
    );
  }
}
