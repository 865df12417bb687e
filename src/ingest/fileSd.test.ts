import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { makeTempDir } from '../../test/support/tmp.js';
import { FileServiceDiscovery } from './fileSd.js';
import { listFileSdFiles, parseTargetGroups } from './fileSdFormat.js';
import type { TargetGroup } from './relabelTargets.js';

let tmp: { dir: string; remove: () => Promise<void> };
const running: FileServiceDiscovery[] = [];

beforeAll(async () => {
  tmp = await makeTempDir('filesd');
});
afterEach(() => {
  for (const sd of running.splice(0)) sd.stop();
});
afterAll(async () => {
  await tmp.remove();
});

/** Retries `check` until it passes or 5 s have gone by. */
const eventually = (check: () => void): Promise<void> => vi.waitFor(check, { timeout: 5000, interval: 20 });

/** Writes through a temporary name and a rename, as config management tools do. */
async function replaceFile(file: string, text: string): Promise<void> {
  await writeFile(`${file}.tmp`, text);
  await rename(`${file}.tmp`, file);
}

describe('parseTargetGroups', () => {
  it('reads the JSON format, adding __meta_filepath and a source per group', () => {
    const text = JSON.stringify([
      { targets: ['a:1', 'b:2'], labels: { env: 'prod' } },
      { targets: ['c:3'], extra: 'ignored in JSON, as Prometheus does' },
    ]);
    expect(parseTargetGroups('/sd/t.json', text)).toEqual({
      ok: true,
      groups: [
        {
          source: '/sd/t.json:0',
          targets: ['a:1', 'b:2'],
          labels: { env: 'prod', __meta_filepath: '/sd/t.json' },
        },
        { source: '/sd/t.json:1', targets: ['c:3'], labels: { __meta_filepath: '/sd/t.json' } },
      ],
    });
  });

  it('reads the YAML format; an empty YAML file has no groups', () => {
    const yaml = '- targets: [web:80]\n  labels:\n    pool: web\n';
    const read = parseTargetGroups('/sd/t.yml', yaml);
    expect(read.ok && read.groups.map((g) => [g.targets, g.labels.pool])).toEqual([[['web:80'], 'web']]);
    expect(parseTargetGroups('/sd/t.yaml', '\n')).toEqual({ ok: true, groups: [] });
  });

  it('reports problems with file, line and field', () => {
    expect(parseTargetGroups('/sd/t.yml', '- targets: [a:1]\n  labels:\n    bad-name: x\n')).toEqual({
      ok: false,
      errors: [
        '/sd/t.yml:3:5: [0].labels.bad-name: a label name starts with a letter or _ and holds only letters, digits and _',
      ],
    });
    const unknown = parseTargetGroups('/sd/t.yml', '- targets: [a:1]\n  lables: {}\n');
    expect(unknown.ok ? [] : unknown.errors).toEqual([
      '/sd/t.yml:2:3: [0].lables: unknown field "lables"; check the spelling against docs/configuration.md',
    ]);
    const syntax = parseTargetGroups('/sd/t.json', '[{"targets": ["a:1"]');
    expect(syntax.ok ? [] : syntax.errors[0]).toMatch(/^\/sd\/t\.json:1:\d+: /);
    const shape = parseTargetGroups('/sd/t.json', '{"targets": ["a:1"]}');
    expect(shape.ok ? [] : shape.errors).toEqual([
      '/sd/t.json:1:1: expected a list of target groups: [{targets: [host:port, …], labels: {…}}]',
    ]);
  });
});

describe('listFileSdFiles', () => {
  it('expands * in the last segment, sorted and without duplicates; a missing directory lists nothing', async () => {
    const dir = join(tmp.dir, 'list');
    await mkdir(dir, { recursive: true });
    for (const name of ['b.json', 'a.json', 'c.yml', 'notes.txt']) await writeFile(join(dir, name), '[]');
    expect(await listFileSdFiles([join(dir, '*.json'), join(dir, 'a.json'), join(dir, 'c.yml')])).toEqual([
      join(dir, 'a.json'),
      join(dir, 'b.json'),
      join(dir, 'c.yml'),
    ]);
    expect(await listFileSdFiles([join(tmp.dir, 'nope', '*.json')])).toEqual([]);
  });
});

describe('FileServiceDiscovery', () => {
  function start(dir: string, refreshIntervalMs = 60_000) {
    const updates: TargetGroup[][] = [];
    const errors: string[] = [];
    const sd = FileServiceDiscovery.create({
      files: [join(dir, '*.json'), join(dir, 'static.yml')],
      refreshIntervalMs,
      onUpdate: (groups) => updates.push([...groups]),
      onError: (_file, lines) => errors.push(...lines),
    });
    running.push(sd);
    const targets = () => sd.groups().flatMap((g) => g.targets);
    return { sd, updates, errors, targets };
  }

  it('reads targets, follows changes, keeps the last good targets of a broken file and reports it', async () => {
    const dir = join(tmp.dir, 'watch');
    await mkdir(dir, { recursive: true });
    const file = join(dir, 'web.json');
    await writeFile(file, JSON.stringify([{ targets: ['web-1:80'], labels: { pool: 'web' } }]));
    const { sd, updates, errors, targets } = start(dir);
    await sd.start();
    expect(sd.lifecycle).toBe('running');
    expect(targets()).toEqual(['web-1:80']);
    expect(updates).toHaveLength(1);

    await replaceFile(file, JSON.stringify([{ targets: ['web-1:80', 'web-2:80'], labels: { pool: 'web' } }]));
    await eventually(() => expect(targets()).toEqual(['web-1:80', 'web-2:80']));

    await replaceFile(file, '[{"targets": ["web-3:80"], "labels": {"pool": 7}}]');
    await eventually(() => expect(errors).toHaveLength(1));
    expect(errors[0]).toMatch(/web\.json:1:\d+: \[0\]\.labels\.pool: /);
    expect(targets()).toEqual(['web-1:80', 'web-2:80']);
    expect([...sd.errors().keys()]).toEqual([file]);

    await writeFile(join(dir, 'db.json'), JSON.stringify([{ targets: ['db-1:5432'] }]));
    await eventually(() => expect(targets()).toEqual(['db-1:5432', 'web-1:80', 'web-2:80']));

    await replaceFile(file, JSON.stringify([{ targets: ['web-3:80'] }]));
    await eventually(() => expect(targets()).toEqual(['db-1:5432', 'web-3:80']));
    expect(sd.errors().size).toBe(0);

    await rm(join(dir, 'db.json'));
    await eventually(() => expect(targets()).toEqual(['web-3:80']));
    const emitted = updates.length;
    await sd.refresh();
    expect(updates).toHaveLength(emitted);
  });

  it('a file that is broken from the start gives no targets until it is fixed', async () => {
    const dir = join(tmp.dir, 'broken');
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, 'static.yml'), '- targets: [a:1\n');
    const { sd, errors, targets } = start(dir);
    await sd.start();
    expect(targets()).toEqual([]);
    expect(errors[0]).toMatch(/static\.yml:\d+:\d+: /);
    await replaceFile(join(dir, 'static.yml'), '- targets: [a:1]\n');
    await eventually(() => expect(targets()).toEqual(['a:1']));
  });

  it('the refresh interval picks up changes when no notification arrives (a directory created later)', async () => {
    const dir = join(tmp.dir, 'later');
    const { sd, errors, targets } = start(dir, 100);
    await sd.start();
    expect(targets()).toEqual([]);
    expect(errors.join('\n')).toContain('cannot watch');
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, 'x.json'), JSON.stringify([{ targets: ['x:1'] }]));
    await eventually(() => expect(targets()).toEqual(['x:1']));
    sd.stop();
    expect(sd.lifecycle).toBe('stopped');
  });
});
