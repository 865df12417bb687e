import { describe, expect, it } from 'vitest';
import { labelsEqual, labelsHash, LabelsMap, type Labels } from './labels.js';

describe('labelsHash and labelsEqual', () => {
  it('ignore insertion order and tell different sets apart', () => {
    const a = { __name__: 'up', job: 'api', instance: 'h:1' };
    const b = { instance: 'h:1', __name__: 'up', job: 'api' };
    expect(labelsHash(a)).toBe(labelsHash(b));
    expect(labelsEqual(a, b)).toBe(true);
    expect(labelsHash(a)).toBeGreaterThanOrEqual(0);
    expect(labelsHash(a)).toBeLessThan(2 ** 31);
    // A value moved to another name, a missing label and an extra one are all different sets.
    expect(labelsEqual(a, { __name__: 'up', job: 'h:1', instance: 'api' })).toBe(false);
    expect(labelsEqual(a, { __name__: 'up', job: 'api' })).toBe(false);
    expect(labelsEqual(a, { ...a, zone: 'x' })).toBe(false);
    expect(labelsHash({ a: 'bc' })).not.toBe(labelsHash({ ab: 'c' }));
  });

  it('treat a label named __proto__ as a label', () => {
    const withProto: Record<string, string> = {};
    Object.defineProperty(withProto, '__proto__', { value: 'x', enumerable: true });
    expect(labelsEqual(withProto, {})).toBe(false);
    expect(labelsEqual({}, withProto)).toBe(false);
  });
});

describe('LabelsMap', () => {
  interface Item {
    labels: Labels;
  }
  const item = (labels: Labels): Item => ({ labels });

  it('finds items by equal label sets and forgets deleted ones', () => {
    const map = new LabelsMap<Item>((i) => i.labels);
    const x = item({ __name__: 'a', k: '1' });
    const y = item({ __name__: 'a', k: '2' });
    map.add(x);
    map.add(y);
    expect(map.get({ k: '1', __name__: 'a' })).toBe(x);
    expect(map.get({ __name__: 'a', k: '3' })).toBeUndefined();
    expect(map.size).toBe(2);
    expect(map.delete(item({ __name__: 'a', k: '1' }))).toBe(false);
    expect(map.delete(x)).toBe(true);
    expect(map.get(x.labels)).toBeUndefined();
    expect([...map.values()]).toEqual([y]);
  });

  it('keeps colliding sets apart', () => {
    const map = new LabelsMap<Item>((i) => i.labels);
    const items = [item({ n: '1' }), item({ n: '2' }), item({ n: '3' })];
    // Every item under one hash: the map must still tell them apart by their labels.
    for (const i of items) map.add(i, 7);
    for (const i of items) expect(map.get(i.labels, 7)).toBe(i);
    expect(map.get({ n: '4' }, 7)).toBeUndefined();
    expect(map.delete(items[1] as Item, 7)).toBe(true);
    expect(map.get({ n: '2' }, 7)).toBeUndefined();
    expect(map.get({ n: '3' }, 7)).toBe(items[2]);
    expect(map.delete(items[0] as Item, 7)).toBe(true);
    expect([...map.values()]).toEqual([items[2]]);
    expect(map.size).toBe(1);
    map.clear();
    expect(map.size).toBe(0);
  });
});
