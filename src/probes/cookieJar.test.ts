import { describe, expect, it } from 'vitest';
import { CookieJar } from './cookieJar.js';

const at = (text: string) => new URL(text);

describe('CookieJar', () => {
  it('sends a cookie back to the host that set it, not to others', () => {
    const jar = new CookieJar(() => 0);
    jar.store(at('http://app.test/login'), ['session=abc; Path=/; HttpOnly', 'theme=dark']);
    expect(jar.header(at('http://app.test/profile'))).toBe('session=abc; theme=dark');
    expect(jar.header(at('http://other.test/'))).toBeNull();
    expect(jar.header(at('http://sub.app.test/'))).toBeNull();
  });

  it('replaces a cookie of the same name and deletes it on Max-Age=0', () => {
    const jar = new CookieJar(() => 0);
    jar.store(at('http://app.test/'), ['session=one; Path=/']);
    jar.store(at('http://app.test/'), ['session=two; Path=/']);
    expect(jar.header(at('http://app.test/'))).toBe('session=two');
    jar.store(at('http://app.test/'), ['session=two; Path=/; Max-Age=0']);
    expect(jar.header(at('http://app.test/'))).toBeNull();
    expect(jar.size).toBe(0);
  });

  it('expires cookies by Max-Age and by Expires on its clock', () => {
    let now = Date.parse('2026-01-01T00:00:00Z');
    const jar = new CookieJar(() => now);
    jar.store(at('http://app.test/'), [
      'short=1; Max-Age=60',
      'dated=1; Expires=Thu, 01 Jan 2026 00:30:00 GMT',
    ]);
    expect(jar.header(at('http://app.test/'))).toBe('short=1; dated=1');
    now += 120_000;
    expect(jar.header(at('http://app.test/'))).toBe('dated=1');
    now += 3_600_000;
    expect(jar.header(at('http://app.test/'))).toBeNull();
    jar.store(at('http://app.test/'), ['gone=1; Expires=Thu, 01 Jan 1970 00:00:00 GMT']);
    expect(jar.size).toBe(0);
  });

  it('applies Path as a prefix on segment boundaries, defaulting to the request directory', () => {
    const jar = new CookieJar(() => 0);
    jar.store(at('http://app.test/admin/login'), ['a=1; Path=/admin', 'b=2']);
    expect(jar.header(at('http://app.test/admin'))).toBe('a=1; b=2');
    expect(jar.header(at('http://app.test/admin/users'))).toBe('a=1; b=2');
    expect(jar.header(at('http://app.test/administrator'))).toBeNull();
    expect(jar.header(at('http://app.test/'))).toBeNull();
  });

  it('honours Domain for subdomains, refuses foreign domains, keeps Secure cookies to https', () => {
    const jar = new CookieJar(() => 0);
    jar.store(at('https://login.app.test/'), [
      'wide=1; Domain=.app.test; Path=/',
      'evil=1; Domain=other.test',
      's=1; Secure',
    ]);
    expect(jar.header(at('http://www.app.test/'))).toBe('wide=1');
    expect(jar.header(at('https://login.app.test/'))).toBe('wide=1; s=1');
    expect(jar.header(at('http://login.app.test/'))).toBe('wide=1');
    expect(jar.header(at('http://other.test/'))).toBeNull();
  });
});
