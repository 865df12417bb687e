import { isAbsolute, resolve } from 'node:path';
import { StoreUrlError } from './errors.js';

/** Where the state database lives, resolved from `store.url` and the data directory. */
export type StoreLocation =
  | { readonly dialect: 'sqlite'; readonly path: string }
  | { readonly dialect: 'postgres'; readonly url: string };

/** The SQLite file used when `store.url` is not set. */
export const DEFAULT_SQLITE_FILE = 'swas.db';

/**
 * Resolves `store.url`: undefined → `<dataDir>/swas.db`; `sqlite:<path>` (relative to dataDir);
 * `sqlite::memory:`; `postgres://…` / `postgresql://…`. Anything else throws StoreUrlError.
 */
export function resolveStoreLocation(url: string | undefined, dataDir: string): StoreLocation {
  if (url === undefined) return { dialect: 'sqlite', path: resolve(dataDir, DEFAULT_SQLITE_FILE) };
  const trimmed = url.trim();
  if (/^postgres(ql)?:\/\//i.test(trimmed)) return { dialect: 'postgres', url: trimmed };
  if (/^sqlite:/i.test(trimmed)) {
    // `sqlite:///abs/file.db` is the URL spelling people copy from other tools; accept it too.
    let path = trimmed.slice('sqlite:'.length);
    if (path.startsWith('//')) path = path.slice(2);
    if (path === '') {
      throw new StoreUrlError(
        `store.url "${url}" names no file; use sqlite:<path>, e.g. sqlite:swas.db (relative to the data directory)`,
      );
    }
    if (path === ':memory:') return { dialect: 'sqlite', path };
    return { dialect: 'sqlite', path: isAbsolute(path) ? path : resolve(dataDir, path) };
  }
  throw new StoreUrlError(
    `store.url "${redactUrl(trimmed)}" is not supported; use sqlite:<path> or postgres://…`,
  );
}

/** Hides the password in a URL so it can appear in errors and logs (store.url is a secret). */
export function redactUrl(url: string): string {
  const scheme = /^[a-z][a-z0-9+.-]*:\/\//i.exec(url);
  if (scheme === null) return url;
  const start = scheme[0].length;
  const slash = url.indexOf('/', start);
  const authority = url.slice(start, slash === -1 ? undefined : slash);
  // The last '@' ends the credentials: a password may itself contain '@'.
  const at = authority.lastIndexOf('@');
  const colon = authority.indexOf(':');
  if (at === -1 || colon === -1 || colon > at) return url;
  return `${url.slice(0, start + colon)}:***${url.slice(start + at)}`;
}
