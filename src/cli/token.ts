import type { Command } from 'commander';
import type { StateStore, TokenRole } from '../store/index.js';
import { CliError, configPath, dataDirOf, EXIT, loadConfigOrExit, printRows } from './common.js';

interface StoreOptions {
  config?: string;
  data?: string;
  json?: boolean;
}

async function withStore<T>(options: StoreOptions, work: (store: StateStore) => Promise<T>): Promise<T> {
  const file = configPath(options.config);
  const loaded = file === null ? null : await loadConfigOrExit(file);
  const { openStateStore } = await import('../store/index.js');
  const store = await openStateStore({
    url: loaded?.config.store.url,
    dataDir: dataDirOf(options.data, loaded),
  });
  try {
    return await work(store);
  } finally {
    await store.close();
  }
}

const ROLES: readonly TokenRole[] = ['viewer', 'operator', 'admin'];

/** `swas token create|list|revoke`: API tokens, stored hashed; the secret is printed once. */
export function registerToken(program: Command): void {
  const token = program.command('token').description('manage API tokens (works on the state store directly)');
  const storeOptions = (c: Command) =>
    c
      .option('-c, --config <file>', 'swas.yaml (default ./swas.yaml)')
      .option('--data <dir>', 'data directory')
      .option('--json', 'JSON output');

  storeOptions(token.command('create').description('create a token; its secret is shown only now'))
    .requiredOption('--role <role>', 'viewer | operator | admin')
    .option('--name <name>', 'who or what uses it', 'cli')
    .action(async (options: StoreOptions & { role: string; name: string }) => {
      if (!ROLES.includes(options.role as TokenRole))
        throw new CliError(`--role must be one of ${ROLES.join(', ')}, not "${options.role}"`, EXIT.usage);
      const created = await withStore(options, (store) =>
        store.tokens.create({ name: options.name, role: options.role as TokenRole }, Date.now()),
      );
      if (options.json)
        process.stdout.write(
          `${JSON.stringify({ id: created.id, name: options.name, role: options.role, token: created.token })}\n`,
        );
      else process.stdout.write(`${created.token}\n`);
    });

  storeOptions(token.command('list').description('list tokens (never their secrets)')).action(
    async (options: StoreOptions) => {
      const tokens = await withStore(options, (store) => store.tokens.list());
      printRows(
        tokens.map((t) => ({
          ...t,
          createdAt: iso(t.createdAt),
          lastUsedAt: iso(t.lastUsedAt),
          revokedAt: iso(t.revokedAt),
        })),
        ['id', 'name', 'role', 'createdAt', 'lastUsedAt', 'revokedAt'],
        options.json === true,
      );
    },
  );

  storeOptions(
    token.command('revoke').description('revoke a token by id').argument('<id>', 'token id'),
  ).action(async (id: string, options: StoreOptions) => {
    if (!/^\d+$/.test(id)) throw new CliError(`token id must be a number, not "${id}"`, EXIT.usage);
    const revoked = await withStore(options, (store) => store.tokens.revoke(Number(id), Date.now()));
    if (!revoked) throw new CliError(`no active token with id ${id}`);
    process.stdout.write(`revoked token ${id}\n`);
  });
}

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());
