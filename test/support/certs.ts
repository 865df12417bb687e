import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** A certificate and its key on disk (PEM). */
export interface CertFiles {
  readonly certFile: string;
  readonly keyFile: string;
}

function openssl(args: string[]): void {
  try {
    execFileSync('openssl', args, { stdio: 'pipe' });
  } catch (error) {
    const stderr = (error as { stderr?: Buffer }).stderr?.toString() ?? '';
    throw new Error(
      `openssl ${args[0]} failed (install it: apt-get install openssl): ${String(error)}\n${stderr}`,
    );
  }
}

const EC_KEY = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

/** A self-signed CA named `name`, valid 3 days, in `dir` as `<name>.pem` and `<name>-key.pem`. */
export function makeCa(dir: string, name: string): CertFiles {
  const certFile = join(dir, `${name}.pem`);
  const keyFile = join(dir, `${name}-key.pem`);
  openssl([
    'req',
    '-x509',
    ...EC_KEY,
    '-days',
    '3',
    '-subj',
    `/CN=${name}`,
    '-addext',
    'basicConstraints=critical,CA:TRUE',
    '-addext',
    'keyUsage=critical,keyCertSign,cRLSign',
    '-keyout',
    keyFile,
    '-out',
    certFile,
  ]);
  return { certFile, keyFile };
}

/**
 * A certificate for `name` signed by `ca`: a server certificate for localhost and 127.0.0.1, or a client
 * certificate. `expired` makes one whose validity ended a day ago.
 */
export function makeSignedCert(
  dir: string,
  ca: CertFiles,
  name: string,
  options: { usage?: 'server' | 'client'; expired?: boolean } = {},
): CertFiles {
  const certFile = join(dir, `${name}.pem`);
  const keyFile = join(dir, `${name}-key.pem`);
  const csr = join(dir, `${name}.csr`);
  const ext = join(dir, `${name}.ext`);
  writeFileSync(
    ext,
    options.usage === 'client'
      ? 'extendedKeyUsage=clientAuth\n'
      : 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n',
  );
  openssl(['req', '-new', ...EC_KEY, '-subj', `/CN=${name}`, '-keyout', keyFile, '-out', csr]);
  openssl([
    'x509',
    '-req',
    '-in',
    csr,
    '-CA',
    ca.certFile,
    '-CAkey',
    ca.keyFile,
    '-CAcreateserial',
    '-days',
    options.expired === true ? '-1' : '3',
    '-extfile',
    ext,
    '-out',
    certFile,
  ]);
  return { certFile, keyFile };
}
