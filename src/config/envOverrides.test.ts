import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readEnvOverrides } from './envOverrides.js';
import { swasConfigSchema } from './swasConfig.js';

describe('readEnvOverrides', () => {
  let dir: string;
  let secret: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'swas-env-'));
    secret = join(dir, 'secret');
    await writeFile(secret, 's3cret\n');
  });
  afterAll(async () => rm(dir, { recursive: true, force: true }));

  const read = (env: NodeJS.ProcessEnv) => readEnvOverrides(env, swasConfigSchema.unwrap());

  it('sets a key that itself ends in _file to the variable’s value, not to a file’s contents', () => {
    const { overrides, issues } = read({
      SWAS_SERVER__TLS__CERT_FILE: '/etc/swas/tls.pem',
      SWAS_SERVER__TLS__KEY_FILE: secret,
      SWAS_SERVER__TLS__CLIENT_CA_FILE: 'clients-ca.pem',
    });
    expect(issues).toEqual([]);
    expect(overrides).toEqual([
      {
        variable: 'SWAS_SERVER__TLS__CERT_FILE',
        path: ['server', 'tls', 'cert_file'],
        value: '/etc/swas/tls.pem',
      },
      {
        variable: 'SWAS_SERVER__TLS__CLIENT_CA_FILE',
        path: ['server', 'tls', 'client_ca_file'],
        value: 'clients-ca.pem',
      },
      { variable: 'SWAS_SERVER__TLS__KEY_FILE', path: ['server', 'tls', 'key_file'], value: secret },
    ]);
  });

  it('keeps reading other keys from the named file, through lists and records', () => {
    const { overrides, issues } = read({
      SWAS_STORE__URL_FILE: secret,
      SWAS_LOAD_BALANCERS__0__PASSWORD_FILE: secret,
      // A record's keys are free: this reads the header's value, it does not set a header named x_file.
      SWAS_NOTIFY__WEBHOOKS__0__HEADERS__X_FILE: secret,
      // A key ending in _file read from a file: the path itself is a secret here.
      SWAS_SERVER__TLS__CERT_FILE_FILE: secret,
    });
    expect(issues).toEqual([]);
    expect(overrides.map((o) => [o.path.join('.'), o.value])).toEqual([
      ['load_balancers.0.password', 's3cret'],
      ['notify.webhooks.0.headers.x', 's3cret'],
      ['server.tls.cert_file', 's3cret'],
      ['store.url', 's3cret'],
    ]);
  });

  it('reads plain values as YAML scalars and ignores variables that are not config', () => {
    const { overrides } = read({
      SWAS_SERVER__LISTEN: '0.0.0.0:7927',
      SWAS_SCRAPE__INTERVAL: '15s',
      SWAS_TOKEN: 'cli-only',
      SWAS_CA_FILE: '/etc/swas/ca.pem',
      HOME: '/root',
    });
    expect(overrides.map((o) => [o.variable, o.value])).toEqual([
      ['SWAS_SCRAPE__INTERVAL', '15s'],
      ['SWAS_SERVER__LISTEN', '0.0.0.0:7927'],
    ]);
    expect(read({ SWAS_RULES__EVALUATION_INTERVAL: '1s', SWAS_X__ENABLED: 'false' }).overrides).toEqual([
      { variable: 'SWAS_RULES__EVALUATION_INTERVAL', path: ['rules', 'evaluation_interval'], value: '1s' },
    ]);
  });

  it('says which variable names an unreadable secret file', () => {
    const { overrides, issues } = read({ SWAS_STORE__URL_FILE: join(dir, 'missing') });
    expect(overrides).toEqual([]);
    expect(issues).toHaveLength(1);
    expect(issues[0]).toMatchObject({
      file: 'environment variable SWAS_STORE__URL_FILE',
      field: 'store.url',
    });
    expect(issues[0]?.message).toMatch(/^cannot read secret file: ENOENT/);
  });
});
