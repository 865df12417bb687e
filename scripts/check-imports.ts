// Checks the module graph of src/: no import cycles, and modules used only through their index.ts (DESIGN §4).
// Run by `npm run lint`; exits 1 listing every problem.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import ts from 'typescript';

const root = resolve(import.meta.dirname, '..');
const src = join(root, 'src');

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return files(path);
    return path.endsWith('.ts') ? [path] : [];
  });
}

function resolveImport(from: string, specifier: string): string | null {
  if (!specifier.startsWith('.')) return null;
  const base = resolve(dirname(from), specifier);
  for (const candidate of [base.replace(/\.js$/, '.ts'), `${base}.ts`, join(base, 'index.ts')]) {
    try {
      if (statSync(candidate).isFile()) return candidate;
    } catch {
      // not this candidate
    }
  }
  return null;
}

const moduleOf = (file: string) => relative(src, file).split('/')[0] ?? '';
const isTest = (file: string) => file.endsWith('.test.ts');
const problems: string[] = [];
const graph = new Map<string, string[]>();

for (const file of files(src)) {
  const info = ts.preProcessFile(readFileSync(file, 'utf8'), true, true);
  const targets: string[] = [];
  for (const imported of info.importedFiles) {
    const target = resolveImport(file, imported.fileName);
    if (target === null) {
      if (imported.fileName.startsWith('.'))
        problems.push(`${relative(root, file)}: cannot resolve "${imported.fileName}"`);
      continue;
    }
    if (!target.startsWith(src)) continue;
    targets.push(target);
    const from = moduleOf(file);
    const to = moduleOf(target);
    if (!isTest(file) && from !== to && relative(src, target) !== `${to}/index.ts`) {
      problems.push(
        `${relative(root, file)}: imports ${relative(root, target)}; use src/${to}/index.ts (modules are used through their index)`,
      );
    }
    if (!isTest(file) && from === 'core' && to !== 'core')
      problems.push(`${relative(root, file)}: core/ must not import other modules (imports src/${to})`);
  }
  graph.set(file, targets);
}

// Depth-first search for cycles among non-test files.
const state = new Map<string, 'visiting' | 'done'>();
const stack: string[] = [];
function visit(file: string): void {
  state.set(file, 'visiting');
  stack.push(file);
  for (const next of graph.get(file) ?? []) {
    if (isTest(next)) continue;
    if (state.get(next) === 'visiting') {
      const cycle = stack
        .slice(stack.indexOf(next))
        .concat(next)
        .map((f) => relative(root, f));
      problems.push(`import cycle: ${cycle.join(' → ')}`);
    } else if (!state.has(next)) visit(next);
  }
  stack.pop();
  state.set(file, 'done');
}
for (const file of graph.keys()) if (!isTest(file) && !state.has(file)) visit(file);

if (problems.length > 0) {
  process.stderr.write(`${problems.join('\n')}\n${problems.length} import problem(s)\n`);
  process.exit(1);
}
process.stdout.write(`imports ok: ${graph.size} files, no cycles, modules used through their index\n`);
