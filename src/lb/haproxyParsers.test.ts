import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  adminStateFromFlags,
  buildPoolMembers,
  classifyRuntimeReply,
  describeAdminFlags,
  isInheritedState,
  operationalStateFromCode,
  parseServersState,
  parseStatCsv,
  splitCsvLine,
  summarizePools,
  type ParseResult,
  type RuntimeReplyErrorKind,
} from './haproxyParsers.js';

const fixture = (name: string): string =>
  readFileSync(new URL(`./fixtures/${name}`, import.meta.url), 'utf8');

function value<T>(result: ParseResult<T>): T {
  if (!result.ok) throw new Error(`expected a parse, got: ${result.error}`);
  return result.value;
}

function error<T>(result: ParseResult<T>): string {
  if (result.ok) throw new Error('expected a parse error');
  return result.error;
}

const STATE_HEADER =
  '# be_id be_name srv_id srv_name srv_addr srv_op_state srv_admin_state srv_uweight srv_iweight ' +
  'srv_time_since_last_change srv_check_status srv_check_result srv_check_health srv_check_state srv_agent_state ' +
  'bk_f_forced_id srv_f_forced_id srv_fqdn srv_port srvrecord srv_use_ssl srv_check_port srv_check_addr ' +
  'srv_agent_addr srv_agent_port';
const STATE_ROW = '3 web 1 web1 127.0.0.1 2 0 1 1 3 15 3 4 6 0 0 0 - 18081 - 0 0 - - 0';

describe('parseServersState', () => {
  it('reads every server of the captured `show servers state`', () => {
    const rows = value(parseServersState(fixture('servers-state-all.txt')));
    expect(rows.map((row) => `${row.backend}/${row.server}`)).toEqual([
      'web/web1',
      'web/web2',
      'web/web3',
      'web/web4',
      'web/web5',
      'tracked/t1',
      'tracked/t2',
      'lst/l1',
      'lst/l2',
    ]);
    expect(rows[0]).toEqual({
      backendId: 3,
      backend: 'web',
      server: 'web1',
      address: '127.0.0.1',
      port: 18081,
      opState: 1,
      adminFlags: 0,
      userWeight: 1,
      initialWeight: 1,
    });
    expect(rows.find((row) => row.server === 'web5')).toMatchObject({ userWeight: 7, initialWeight: 1 });
    expect(rows.find((row) => row.server === 't2')).toMatchObject({ adminFlags: 5, address: '127.0.0.1' });
    expect(rows.find((row) => row.server === 'l2')).toMatchObject({ port: null, userWeight: 0 });
  });

  it('reads one backend, and a backend without servers as no rows', () => {
    expect(value(parseServersState(fixture('servers-state-web.txt')))).toHaveLength(5);
    expect(value(parseServersState(`1\n${STATE_HEADER}\n\n`))).toEqual([]);
  });

  it('shows the FQDN when a server has no address yet', () => {
    const row = STATE_ROW.replace('127.0.0.1', '-').replace(' - 18081', ' db.example 18081');
    expect(value(parseServersState(`1\n${STATE_HEADER}\n${row}\n`))[0]?.address).toBe('db.example');
  });

  it.each([
    ['an empty reply', '', /format version "1" on line 1/],
    ['an error reply', "Can't find backend.\n\n", /format version "1".*Can't find backend/],
    ['an unknown version', `2\n${STATE_HEADER}\n`, /got "2"/],
    ['a missing header', `1\n${STATE_ROW}\n`, /header on line 2/],
    [
      'a header without srv_admin_state',
      `1\n${STATE_HEADER.replace(' srv_admin_state', '')}\n`,
      /no srv_admin_state/,
    ],
    ['a short row', `1\n${STATE_HEADER}\n3 web 1 web1\n`, /line 3 .* 4 fields, the header 25/],
    [
      'a word where a number goes',
      `1\n${STATE_HEADER}\n${STATE_ROW.replace(' 2 0 1 1 ', ' up 0 1 1 ')}\n`,
      /srv_op_state is "up"/,
    ],
  ])('rejects %s with a clear error', (_name, text, message) => {
    expect(error(parseServersState(text))).toMatch(message);
  });
});

describe('parseStatCsv', () => {
  it('reads servers and backends of the captured `show stat -1 6 -1`', () => {
    const rows = value(parseStatCsv(fixture('stat-all.txt')));
    expect(rows).toHaveLength(13);
    expect(rows.find((row) => row.service === 'web5')).toEqual({
      proxy: 'web',
      service: 'web5',
      status: 'UP',
      activeSessions: 4,
      totalSessions: 15,
      throttlePercent: 25,
      checkStatus: 'L7OK',
    });
    expect(rows.find((row) => row.service === 'web2')).toMatchObject({
      status: 'DRAIN',
      throttlePercent: null,
    });
    expect(rows.find((row) => row.service === 'web3')).toMatchObject({
      status: 'DOWN',
      checkStatus: 'L4CON',
    });
    expect(rows.find((row) => row.service === 'web4')).toMatchObject({ status: 'MAINT', checkStatus: null });
    expect(rows.find((row) => row.service === 't1')?.status).toBe('MAINT (via web/web4)');
    expect(rows.find((row) => row.service === 'l1')?.status).toBe('no check');
  });

  it('strips the in-progress marker from check_status', () => {
    const text = '# pxname,svname,scur,stot,status,throttle,check_status,\nweb,web1,0,3,UP,,* L7OK,\n';
    expect(value(parseStatCsv(text))[0]?.checkStatus).toBe('L7OK');
  });

  it('reads quoted fields that contain commas', () => {
    const text =
      '# pxname,svname,scur,stot,status,throttle,check_status,check_desc\nweb,web1,0,3,UP,,L7STS,"bad, very ""bad"""\n';
    expect(value(parseStatCsv(text))[0]).toMatchObject({ service: 'web1', checkStatus: 'L7STS' });
  });

  it.each([
    ['an empty reply', '', /CSV header/],
    ['an error reply', 'No such proxy.\n\n', /CSV header, got "No such proxy."/],
    ['a header without throttle', '# pxname,svname,scur,stot,status,check_status\n', /no throttle column/],
    [
      'a row with missing fields',
      '# pxname,svname,scur,stot,status,throttle,check_status\nweb,web1,0\n',
      /line 2 .* 3 fields, the header 7/,
    ],
    [
      'a word where a number goes',
      '# pxname,svname,scur,stot,status,throttle,check_status\nweb,web1,many,0,UP,,\n',
      /scur is "many"/,
    ],
    [
      'an unterminated quote',
      '# pxname,svname,scur,stot,status,throttle,check_status\nweb,"web1,0,0,UP,,\n',
      /line 2 .*unterminated quoted field at column 2/,
    ],
  ])('rejects %s with a clear error', (_name, text, message) => {
    expect(error(parseStatCsv(text))).toMatch(message);
  });
});

describe('splitCsvLine', () => {
  it.each([
    ['a,b,c', ['a', 'b', 'c']],
    ['a,,c,', ['a', '', 'c', '']],
    ['', ['']],
    ['"x,y",z', ['x,y', 'z']],
    ['"say ""hi"""', ['say "hi"']],
  ])('splits %j', (line, fields) => {
    expect(value(splitCsvLine(line))).toEqual(fields);
  });

  it('rejects text after a closing quote', () => {
    expect(error(splitCsvLine('"a"b,c'))).toMatch(/after a closing quote at column 1/);
  });
});

describe('admin and operational states', () => {
  it.each([
    [0x00, 'ready'],
    [0x01, 'maint'], // forced maint
    [0x02, 'maint'], // inherited from a tracked server
    [0x04, 'ready'], // `disabled` in the config, cleared by `state ready` (HAProxy keeps the bit)
    [0x05, 'maint'], // `disabled` in the config, as HAProxy starts it
    [0x08, 'drain'], // forced drain
    [0x10, 'drain'], // inherited drain
    [0x09, 'maint'], // maint wins over drain
    [0x12, 'maint'],
    [0x20, 'maint'], // DNS resolution failed
    [0x40, 'ready'], // FQDN set from the CLI: not a maintenance state
    [0x48, 'drain'],
  ] as const)('flags %i map to %s', (flags, state) => {
    expect(adminStateFromFlags(flags)).toBe(state);
  });

  it('names the flags for messages', () => {
    expect(describeAdminFlags(0x05)).toEqual(['maint set by command', 'disabled in the config file']);
    expect(describeAdminFlags(0)).toEqual([]);
  });

  it('knows when a state only comes from a tracked server', () => {
    expect(isInheritedState(0x02, 'maint')).toBe(true);
    expect(isInheritedState(0x03, 'maint')).toBe(false);
    expect(isInheritedState(0x10, 'drain')).toBe(true);
    expect(isInheritedState(0x18, 'drain')).toBe(false);
    expect(isInheritedState(0x00, 'ready')).toBe(false);
  });

  it('maps srv_op_state and refuses unknown codes', () => {
    expect([0, 1, 2, 3].map(operationalStateFromCode)).toEqual(['down', 'starting', 'up', 'stopping']);
    expect(operationalStateFromCode(4)).toBeNull();
    expect(operationalStateFromCode(-1)).toBeNull();
  });
});

describe('buildPoolMembers', () => {
  const states = value(parseServersState(fixture('servers-state-web.txt')));
  const stats = value(parseStatCsv(fixture('stat-web-servers.txt')));

  it('joins the two readings into members', () => {
    const members = value(buildPoolMembers(states, stats));
    expect(
      members.map((member) => [member.name, member.admin, member.operational, member.statusText]),
    ).toEqual([
      ['web1', 'ready', 'starting', 'UP'],
      ['web2', 'drain', 'starting', 'DRAIN'],
      ['web3', 'ready', 'down', 'DOWN'],
      ['web4', 'maint', 'down', 'MAINT'],
      ['web5', 'ready', 'starting', 'UP'],
    ]);
    expect(members[4]).toEqual({
      pool: 'web',
      name: 'web5',
      address: '127.0.0.1',
      port: 18082,
      admin: 'ready',
      operational: 'starting',
      weight: 7,
      initialWeight: 1,
      activeSessions: 4,
      totalSessions: 15,
      throttlePercent: 25,
      checkStatus: 'L7OK',
      statusText: 'UP',
    });
  });

  it('names a server that only one reading has', () => {
    expect(error(buildPoolMembers(states, stats.slice(1)))).toMatch(
      /web\/web1 is in "show servers state" but not/,
    );
  });

  it('refuses an unknown operational state', () => {
    const odd = states.map((row) => ({ ...row, opState: 9 }));
    expect(error(buildPoolMembers(odd, stats))).toMatch(/unknown srv_op_state 9/);
  });
});

describe('summarizePools', () => {
  it('counts members and healthy members per backend, empty backends included', () => {
    const states = value(parseServersState(fixture('servers-state-all.txt')));
    const backends = value(parseStatCsv(fixture('stat-backends.txt')));
    expect(summarizePools(states, backends)).toEqual([
      { name: 'web', members: 5, up: 3, status: 'UP' },
      { name: 'tracked', members: 2, up: 0, status: 'DOWN' },
      { name: 'empty', members: 0, up: 0, status: 'UP' },
      { name: 'lst', members: 2, up: 2, status: 'UP' },
    ]);
  });
});

describe('classifyRuntimeReply over real HAProxy 2.6 replies', () => {
  const captured = JSON.parse(fixture('runtime-replies.json')) as {
    replies: { level: string; command: string; reply: string }[];
  };
  const expected: Record<string, RuntimeReplyErrorKind | null> = {
    'admin set server web/web3 state ready': null,
    'admin set server web/web3 weight 1': null,
    'admin set server web/nope state drain': 'no_such_member',
    'admin set server nope/web1 state drain': 'no_such_pool',
    'admin set server nope/web1 weight 3': 'no_such_pool',
    'admin set server web/web1 state bogus': 'invalid_argument',
    'admin set server web state drain': 'invalid_argument',
    'admin set server web/web1 weight 300': 'invalid_argument',
    'admin set server web/web1 weight abc': 'invalid_argument',
    'admin set server web/web1 weight': 'invalid_argument',
    // A static algorithm is the pool's config, not a bad argument: the caller reads HAProxy's text.
    'admin set server tracked/t1 weight 5': null,
    'admin show servers state nope': 'no_such_pool',
    'admin show servers state fe': 'no_such_pool',
    'admin show stat nope 4 -1': 'no_such_pool',
    'admin bogus command': 'command_failed',
    'operator set server web/web1 state drain': 'permission_denied',
    'operator set server web/web1 weight 1': 'permission_denied',
    'user set server web/web1 state drain': 'permission_denied',
    'user set server web/web1 weight 1': 'permission_denied',
    'user bogus command': 'command_failed',
  };

  it('covers every captured reply', () => {
    expect(captured.replies.map((r) => `${r.level} ${r.command}`).sort()).toEqual(
      Object.keys(expected).sort(),
    );
  });

  it.each(captured.replies.map((r) => [`${r.level} ${r.command}`, r.reply] as const))('%s', (key, reply) => {
    expect(classifyRuntimeReply(reply)?.kind ?? null).toBe(expected[key]);
  });

  it('does not mistake data for an error', () => {
    expect(classifyRuntimeReply(fixture('servers-state-all.txt'))).toBeNull();
    expect(classifyRuntimeReply(fixture('stat-all.txt'))).toBeNull();
  });

  it('recognises the level message other HAProxy versions print', () => {
    expect(classifyRuntimeReply("Require 'operator' level.\n")?.kind).toBe('permission_denied');
  });
});
