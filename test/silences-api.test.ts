import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Incident } from '../src/store/index.js';
import { eventually, startTestServer, type TestServer } from './support/swasServer.js';
import { makeTempDir } from './support/tmp.js';

interface SilenceView {
  id: number;
  matchers: { name: string; type: string; value: string }[];
  matchersText: string;
  startsAt: number;
  endsAt: number;
  createdBy: string;
  comment: string;
  expiredAt: number | null;
  state: string;
  duration: string;
}

interface ErrorBody {
  error: { code: string; message: string };
}

describe('silences and incident filtering over the HTTP API', () => {
  let tmp: Awaited<ReturnType<typeof makeTempDir>>;
  let swas: TestServer;
  let viewer: string;
  let operator: string;

  const call = async (method: string, path: string, token: string | null, body?: unknown) => {
    const headers: Record<string, string> = token ? { authorization: `Bearer ${token}` } : {};
    if (body !== undefined) headers['content-type'] = 'application/json';
    const response = await fetch(`${swas.url}${path}`, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: response.status, body: (await response.json()) as unknown };
  };
  const create = async (body: unknown) => {
    const r = await call('POST', '/api/v1/silences', operator, body);
    if (r.status !== 201) throw new Error(`creating a silence failed: ${JSON.stringify(r.body)}`);
    return (r.body as { silence: SilenceView }).silence;
  };
  const refusal = async (body: unknown) => {
    const r = await call('POST', '/api/v1/silences', operator, body);
    expect(r.status).toBe(400);
    return (r.body as ErrorBody).error;
  };
  const valid = { matchers: 'alertname="HostDown"', duration: '2h', comment: 'planned maintenance' };

  beforeAll(async () => {
    tmp = await makeTempDir('silences-api');
    swas = await startTestServer(tmp.dir, `incidents:\n  group_by: [alertname, instance]\n`);
    viewer = await swas.token('viewer');
    operator = await swas.token('operator');
  });

  afterAll(async () => {
    await swas.stop();
    await tmp.remove();
  });

  it('creates a silence from a matcher string and a duration, as the token, and audits it', async () => {
    const before = Date.now();
    const silence = await create({
      matchers: 'alertname="HostDown", instance=~"web-.*"',
      duration: '2h',
      comment: 'planned maintenance',
    });
    expect(silence).toMatchObject({
      matchers: [
        { name: 'alertname', type: '=', value: 'HostDown' },
        { name: 'instance', type: '=~', value: 'web-.*' },
      ],
      matchersText: 'alertname="HostDown", instance=~"web-.*"',
      createdBy: 'test-operator',
      comment: 'planned maintenance',
      expiredAt: null,
      state: 'active',
      duration: '2h',
    });
    expect(silence.startsAt).toBeGreaterThanOrEqual(before);
    expect(silence.endsAt - silence.startsAt).toBe(7_200_000);

    const got = await call('GET', `/api/v1/silences/${silence.id}`, viewer);
    expect(got).toEqual({ status: 200, body: { silence } });

    const audit = (await call('GET', '/api/v1/audit?limit=1000', viewer)).body as {
      entries: { action: string; target: string; actor: string; reason: string | null }[];
    };
    expect(audit.entries).toContainEqual(
      expect.objectContaining({
        action: 'silence.create',
        target: `silence:${silence.id}`,
        actor: 'test-operator',
        reason: 'planned maintenance',
      }),
    );
  });

  it('creates a silence from a matcher list with start and end times; a future start is pending', async () => {
    const startsAt = Date.now() + 3_600_000;
    const silence = await create({
      matchers: [
        { name: 'job', type: '!~', value: 'batch|cron' },
        { name: 'alertname', type: '=', value: 'X' },
      ],
      startsAt: new Date(startsAt).toISOString(),
      endsAt: startsAt + 60_000,
      comment: 'later',
    });
    expect(silence).toMatchObject({ startsAt, endsAt: startsAt + 60_000, state: 'pending', duration: '1m' });
  });

  it('lets only operators create and expire silences', async () => {
    expect((await call('POST', '/api/v1/silences', viewer, valid)).status).toBe(403);
    expect((await call('POST', '/api/v1/silences', null, valid)).status).toBe(401);
    const silence = await create(valid);
    expect((await call('DELETE', `/api/v1/silences/${silence.id}`, viewer)).status).toBe(403);
    expect((await call('GET', '/api/v1/silences', null)).status).toBe(401);
  });

  it.each([
    [{ ...valid, matchers: 'instance=~"web-("' }, /invalid body: matchers\[0\]\.value: error parsing regexp/],
    [
      { ...valid, matchers: [{ name: 'alertname', type: '==', value: 'X' }] },
      /invalid body: matchers\[0\]\.type: "==" is not a match type; use one of =, !=, =~, !~/,
    ],
    [
      {
        ...valid,
        matchers: [
          { name: 'alertname', type: '=', value: 'X' },
          { name: 'bad-name', type: '=', value: 'x' },
        ],
      },
      /matchers\[1\]\.name: "bad-name" is not a label name/,
    ],
    [
      { ...valid, matchers: 'alertname="X' },
      /invalid body: matchers: at character 13: the value of "alertname" has no closing quote/,
    ],
    [{ ...valid, matchers: '' }, /invalid body: matchers: no matchers given/],
    [{ ...valid, matchers: [] }, /invalid body: matchers: no matchers given/],
    [
      { ...valid, matchers: 'instance=~".*"' },
      /invalid body: matchers: every matcher also matches alerts without/,
    ],
    [{ ...valid, matchers: 42 }, /invalid body: matchers: must be a matcher string/],
    [{ matchers: valid.matchers, duration: '2h' }, /invalid body: comment: is required/],
    [{ ...valid, comment: ' ' }, /invalid body: comment: is empty/],
    [
      { ...valid, duration: undefined, endsAt: '2001-01-01T00:00:00Z' },
      /invalid body: endsAt: 2001-01-01T00:00:00.000Z is in the past/,
    ],
    [
      { ...valid, endsAt: Date.now() + 60_000 },
      /invalid body: duration: give either endsAt or duration, not both/,
    ],
    [{ ...valid, duration: undefined }, /invalid body: endsAt: say when the silence ends/],
    [{ ...valid, duration: 'two hours' }, /invalid body: duration: "two hours" is not a positive duration/],
    [{ ...valid, duration: '0s' }, /invalid body: duration: "0s" is not a positive duration/],
    [{ ...valid, startsAt: 'tomorrow' }, /invalid body: startsAt: "tomorrow" is not a time; write RFC 3339/],
    [
      { ...valid, duration: undefined, startsAt: Date.now() + 7_200_000, endsAt: Date.now() + 3_600_000 },
      /invalid body: endsAt: ends at .* not after it starts/,
    ],
    [{ ...valid, createdBy: 'mallory' }, /invalid body: .*createdBy/],
  ])('refuses a bad silence %#', async (body, message) => {
    const error = await refusal(body);
    expect(error.code).toBe('SWAS-API-001');
    expect(error.message).toMatch(message);
  });

  it('lists silences newest first, filtered by whether they are active now, and expires them once', async () => {
    const active = await create({ ...valid, comment: 'active one' });
    const pending = await create({
      matchers: 'alertname="Later"',
      startsAt: Date.now() + 3_600_000,
      duration: '1h',
      comment: 'pending one',
    });
    const ids = async (query: string) =>
      (
        (await call('GET', `/api/v1/silences${query}`, viewer)).body as { silences: SilenceView[] }
      ).silences.map((s) => s.id);
    expect((await ids('?active=true')).slice(0, 1)).toEqual([active.id]);
    expect(await ids('?active=true')).not.toContain(pending.id);
    expect((await ids('?active=false')).slice(0, 1)).toEqual([pending.id]);
    expect(await ids('?active=false')).not.toContain(active.id);
    expect(await ids('?limit=2')).toEqual([pending.id, active.id]);

    const expired = await call('DELETE', `/api/v1/silences/${active.id}`, operator);
    expect(expired.status).toBe(200);
    const view = (expired.body as { silence: SilenceView }).silence;
    expect(view).toMatchObject({ id: active.id, state: 'expired' });
    expect(view.expiredAt).not.toBeNull();
    expect(view.endsAt).toBe(view.expiredAt);
    expect(await ids('?active=true')).not.toContain(active.id);
    expect(await ids('?active=false')).toContain(active.id);
    expect(await ids('')).toContain(active.id);

    const again = await call('DELETE', `/api/v1/silences/${active.id}`, operator);
    expect(again).toEqual({ status: 200, body: { silence: view } });
    const audit = (await call('GET', '/api/v1/audit?limit=1000', viewer)).body as {
      entries: { action: string; target: string }[];
    };
    expect(
      audit.entries.filter((e) => e.action === 'silence.expire' && e.target === `silence:${active.id}`),
    ).toHaveLength(1);
  });

  it('answers 404 for unknown silences and 400 for bad ids and list parameters', async () => {
    expect((await call('GET', '/api/v1/silences/999999', viewer)).status).toBe(404);
    expect((await call('DELETE', '/api/v1/silences/999999', operator)).status).toBe(404);
    const badId = await call('GET', '/api/v1/silences/abc', viewer);
    expect(badId.status).toBe(400);
    expect((badId.body as ErrorBody).error.message).toMatch(/id: must be a positive silence id/);
    const badActive = await call('GET', '/api/v1/silences?active=yes', viewer);
    expect(badActive.status).toBe(400);
    expect((badActive.body as ErrorBody).error.message).toMatch(/active: must be true or false/);
    const badLimit = await call('GET', '/api/v1/silences?limit=0', viewer);
    expect(badLimit.status).toBe(400);
    expect((badLimit.body as ErrorBody).error.message).toMatch(/limit/);
  });

  describe('GET /api/v1/incidents', () => {
    const made: Incident[] = [];
    const list = async (query: string) => {
      const r = await call('GET', `/api/v1/incidents${query}`, viewer);
      if (r.status !== 200) throw new Error(`listing incidents failed: ${JSON.stringify(r.body)}`);
      return r.body as { incidents: Incident[]; next: number | null; nextUrl: string | null };
    };
    const ids = async (query: string) => (await list(query)).incidents.map((i) => i.id);

    beforeAll(async () => {
      const store = swas.server.parts.store;
      const specs = [
        { alertname: 'HostDown', instance: 'web-1', severity: 'critical', at: 1_000 },
        { alertname: 'HostDown', instance: 'web-2', severity: 'critical', at: 2_000 },
        { alertname: 'DiskFull', instance: 'db-1', severity: 'warning', at: 3_000 },
        { alertname: 'HostDown', instance: 'db-1', severity: 'critical', at: 4_000 },
        { alertname: 'SlowQueries', instance: 'db-2', severity: 'info', at: 5_000 },
      ];
      for (const s of specs) {
        const labels = { alertname: s.alertname, instance: s.instance };
        made.push(
          await store.incidents.open(
            { key: `${s.alertname}/${s.instance}`, title: s.alertname, severity: s.severity, labels },
            s.at,
          ),
        );
      }
      await store.incidents.update(made[1]?.id ?? 0, { status: 'acknowledged' }, 6_000);
      await store.incidents.update(made[2]?.id ?? 0, { status: 'resolved' }, 6_000);
    });

    it('filters by status, severity, label matchers and opened time, newest first', async () => {
      const [a, b, c, d, e] = made.map((i) => i.id);
      expect(await ids('?status=open')).toEqual([e, d, a]);
      expect(await ids('?status=unresolved')).toEqual([e, d, b, a]);
      expect(await ids('?status=resolved,acknowledged')).toEqual([c, b]);
      expect(await ids('?status=resolved&status=acknowledged')).toEqual([c, b]);
      expect(await ids('?severity=critical')).toEqual([d, b, a]);
      expect(await ids('?severity=warning,info')).toEqual([e, c]);
      expect(await ids(`?match=${encodeURIComponent('alertname="HostDown"')}`)).toEqual([d, b, a]);
      expect(
        await ids(`?match=${encodeURIComponent('alertname="HostDown", instance=~"web-.*"')}&status=open`),
      ).toEqual([a]);
      expect(
        await ids(
          `?match=${encodeURIComponent('instance=~"db-.*"')}&match=${encodeURIComponent('alertname!="DiskFull"')}`,
        ),
      ).toEqual([e, d]);
      expect(await ids('?since=2000&until=4000')).toEqual([c, b]);
      expect(await ids(`?until=${encodeURIComponent(new Date(2_500).toISOString())}`)).toEqual([b, a]);
      // Relative times count back from now; these incidents were opened in 1970.
      expect(await ids('?since=24h')).toEqual([]);
    });

    it('pages in a stable order with a next cursor and link that end on the last page', async () => {
      const [a, b, c, d, e] = made.map((i) => i.id);
      const page1 = await list('?limit=2&severity=critical,warning,info');
      expect(page1.incidents.map((i) => i.id)).toEqual([e, d]);
      expect(page1.next).toBe(d);
      expect(page1.nextUrl).toBe(`/api/v1/incidents?limit=2&severity=critical%2Cwarning%2Cinfo&before=${d}`);
      const page2 = await list(page1.nextUrl?.replace('/api/v1/incidents', '') ?? '');
      expect(page2.incidents.map((i) => i.id)).toEqual([c, b]);
      const page3 = await list(`?limit=2&severity=critical,warning,info&before=${page2.next}`);
      expect(page3).toEqual({ incidents: [made[0]], next: null, nextUrl: null });
      expect(page3.incidents[0]?.id).toBe(a);
      // A full last page has no next either.
      expect((await list(`?limit=5&before=${(e ?? 0) + 1}`)).next).toBeNull();
      // Paging through a label filter skips non-matching rows without losing matching ones.
      const m = `match=${encodeURIComponent('alertname="HostDown"')}`;
      const first = await list(`?${m}&limit=1`);
      const second = await list(`?${m}&limit=1&before=${first.next}`);
      const third = await list(`?${m}&limit=1&before=${second.next}`);
      expect([first, second, third].map((p) => p.incidents.map((i) => i.id))).toEqual([[d], [b], [a]]);
      expect(third.next).toBeNull();
    });

    it.each([
      [
        '?status=closed',
        /invalid query: status: "closed" is unknown; use open, acknowledged, resolved or unresolved/,
      ],
      ['?since=yesterday', /invalid query: since: "yesterday" is not a time/],
      ['?until=2026-13-45T00:00:00Z', /invalid query: until: .* is not a time/],
      ['?since=5000&until=1000', /invalid query: until: is not after since/],
      [
        `?match=${encodeURIComponent('alertname=~"("')}`,
        /invalid query: match: alertname=~"\(": error parsing regexp/,
      ],
      [`?match=${encodeURIComponent('alertname')}`, /invalid query: match: "alertname": at character 10/],
      ['?before=0', /invalid query: before: must be the `next` value/],
      ['?limit=501', /invalid query: limit/],
      ['?colour=red', /invalid query: .*colour/],
    ])('refuses %s with the parameter name', async (query, message) => {
      const r = await call('GET', `/api/v1/incidents${query}`, viewer);
      expect(r.status).toBe(400);
      expect((r.body as ErrorBody).error.message).toMatch(message);
    });
  });

  it('notes on an open incident that its alert is now silenced, once the silence is created', async () => {
    const labels = { alertname: 'SilenceMe', instance: 'web-9:9100', severity: 'page' };
    const alert = {
      status: 'firing',
      labels,
      annotations: { summary: 'web-9 is slow' },
      startsAt: new Date().toISOString(),
      endsAt: '0001-01-01T00:00:00Z',
      generatorURL: 'http://prometheus.example:9090/graph',
      fingerprint: 'abc123',
    };
    const intake = await call('POST', '/api/v1/intake/alertmanager', operator, {
      receiver: 'swas',
      status: 'firing',
      alerts: [alert],
      groupLabels: { alertname: 'SilenceMe' },
      commonLabels: labels,
      commonAnnotations: {},
      externalURL: 'http://alertmanager.example:9093',
      version: '4',
      groupKey: '{}:{alertname="SilenceMe"}',
      truncatedAlerts: 0,
    });
    expect(intake.status).toBe(200);
    const incident = await eventually('the alert to open an incident', async () => {
      const { body } = await call(
        'GET',
        `/api/v1/incidents?match=${encodeURIComponent('alertname="SilenceMe"')}`,
        viewer,
      );
      return (body as { incidents: Incident[] }).incidents[0];
    });
    const silence = await create({
      matchers: 'alertname="SilenceMe"',
      duration: '1h',
      comment: 'known slow',
    });
    await eventually('the incident timeline to note the silence', async () => {
      const { body } = await call('GET', `/api/v1/incidents/${incident.id}`, viewer);
      const timeline = (body as { timeline: { message: string }[] }).timeline;
      return timeline.some((t) => t.message.includes(`silence #${silence.id}`));
    });
  });
});
