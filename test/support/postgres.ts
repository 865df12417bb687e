import { randomBytes } from 'node:crypto';
import pg from 'pg';

/** The local PostgreSQL every integration test uses (trust auth, user postgres). */
const ADMIN_URL = 'postgres://postgres@127.0.0.1:5432/postgres';
const START_COMMAND = 'pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start';

async function withAdmin<T>(work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: ADMIN_URL, connectionTimeoutMillis: 5000 });
  try {
    await client.connect();
  } catch (error) {
    await client.end().catch(() => {});
    const reason = error instanceof Error ? error.message : String(error);
    throw new Error(
      `PostgreSQL is not reachable at ${ADMIN_URL} (${reason}); the store tests need it. Start it with: ${START_COMMAND}`,
      { cause: error },
    );
  }
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

/** Creates a fresh, uniquely named database; `drop` disconnects everyone from it and drops it. */
export async function createTestDatabase(prefix: string): Promise<{ url: string; drop(): Promise<void> }> {
  const safePrefix = prefix
    .toLowerCase()
    .replace(/[^a-z0-9_]/g, '_')
    .slice(0, 30);
  const name = `swas_test_${safePrefix}_${process.pid}_${randomBytes(4).toString('hex')}`;
  await withAdmin((client) => client.query(`create database "${name}"`));
  let dropped = false;
  return {
    url: `postgres://postgres@127.0.0.1:5432/${name}`,
    async drop(): Promise<void> {
      if (dropped) return;
      dropped = true;
      await withAdmin(async (client) => {
        await client.query('select pg_terminate_backend(pid) from pg_stat_activity where datname = $1', [
          name,
        ]);
        await client.query(`drop database if exists "${name}" with (force)`);
      });
    },
  };
}
