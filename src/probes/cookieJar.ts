interface StoredCookie {
  readonly name: string;
  readonly value: string;
  /** The host it was set by (host-only) or the Domain attribute (then subdomains match too). */
  readonly domain: string;
  readonly hostOnly: boolean;
  readonly path: string;
  readonly secure: boolean;
  /** Epoch ms, or null for a session cookie (kept for the whole scenario). */
  readonly expiresAt: number | null;
}

/**
 * A small browser-like cookie jar for one HTTP scenario run: stores `Set-Cookie` responses per host
 * and sends matching cookies back. Honours Domain, Path (prefix match), Secure, Max-Age and Expires,
 * including deletion by `Max-Age=0` or a past `Expires`. No public-suffix list: scenarios talk to
 * the hosts their author names.
 */
export class CookieJar {
  readonly #cookies = new Map<string, StoredCookie>();
  readonly #now: () => number;

  /** @param now epoch ms clock used for Max-Age and Expires */
  constructor(now: () => number) {
    this.#now = now;
  }

  /** Records the `Set-Cookie` header values a response from `url` carried. */
  store(url: URL, setCookies: readonly string[]): void {
    for (const line of setCookies) {
      const cookie = parseSetCookie(line, url, this.#now());
      if (cookie === null) continue;
      const id = `${cookie.domain};${cookie.path};${cookie.name}`;
      if (cookie.expiresAt !== null && cookie.expiresAt <= this.#now()) this.#cookies.delete(id);
      else this.#cookies.set(id, cookie);
    }
  }

  /** The `Cookie` header a browser would send to `url`, or null when no cookie applies. */
  header(url: URL): string | null {
    const now = this.#now();
    const host = url.hostname.toLowerCase();
    const pairs: string[] = [];
    for (const [id, cookie] of this.#cookies) {
      if (cookie.expiresAt !== null && cookie.expiresAt <= now) {
        this.#cookies.delete(id);
        continue;
      }
      if (!domainMatches(host, cookie) || !pathMatches(url.pathname, cookie.path)) continue;
      if (cookie.secure && url.protocol !== 'https:') continue;
      pairs.push(`${cookie.name}=${cookie.value}`);
    }
    return pairs.length === 0 ? null : pairs.join('; ');
  }

  /** How many cookies are held (expired ones included until next use). */
  get size(): number {
    return this.#cookies.size;
  }
}

function domainMatches(host: string, cookie: StoredCookie): boolean {
  if (cookie.hostOnly) return host === cookie.domain;
  return host === cookie.domain || host.endsWith(`.${cookie.domain}`);
}

function pathMatches(requestPath: string, cookiePath: string): boolean {
  if (requestPath === cookiePath) return true;
  if (!requestPath.startsWith(cookiePath)) return false;
  return cookiePath.endsWith('/') || requestPath[cookiePath.length] === '/';
}

/** The default cookie path of RFC 6265 §5.1.4: the request path up to its last `/`. */
function defaultPath(url: URL): string {
  const path = url.pathname;
  const last = path.lastIndexOf('/');
  return last <= 0 ? '/' : path.slice(0, last);
}

function parseSetCookie(line: string, url: URL, now: number): StoredCookie | null {
  const [pair = '', ...attributes] = line.split(';');
  const eq = pair.indexOf('=');
  if (eq <= 0) return null;
  const host = url.hostname.toLowerCase();
  let domain = host;
  let hostOnly = true;
  let path = defaultPath(url);
  let secure = false;
  let expiresAt: number | null = null;
  let maxAgeSeen = false;
  for (const attribute of attributes) {
    const [rawName = '', ...valueParts] = attribute.split('=');
    const attrName = rawName.trim().toLowerCase();
    const value = valueParts.join('=').trim();
    if (attrName === 'domain' && value !== '') {
      const wanted = value.replace(/^\./, '').toLowerCase();
      // A host may only set cookies for itself or a parent domain, as browsers enforce.
      if (host !== wanted && !host.endsWith(`.${wanted}`)) return null;
      domain = wanted;
      hostOnly = false;
    } else if (attrName === 'path' && value.startsWith('/')) path = value;
    else if (attrName === 'secure') secure = true;
    else if (attrName === 'max-age' && /^-?\d+$/.test(value)) {
      maxAgeSeen = true;
      expiresAt = now + Number(value) * 1000;
    } else if (attrName === 'expires' && !maxAgeSeen) {
      const at = Date.parse(value);
      if (!Number.isNaN(at)) expiresAt = at;
    }
  }
  return {
    name: pair.slice(0, eq).trim(),
    value: pair.slice(eq + 1).trim(),
    domain,
    hostOnly,
    path,
    secure,
    expiresAt,
  };
}
