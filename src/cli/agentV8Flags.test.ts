import { describe, expect, it } from 'vitest';
import { startsAgent } from './agentV8Flags.js';

describe('the agent’s V8 flags', () => {
  it('are for `swas agent run` and `swas probe run` only', () => {
    expect(startsAgent(['agent', 'run', '--config', 'a.yaml'])).toBe(true);
    expect(startsAgent(['probe', 'run'])).toBe(true);
    expect(startsAgent(['up', '--config', 'swas.yaml'])).toBe(false);
    expect(startsAgent(['agent', 'list'])).toBe(false);
    expect(startsAgent(['agent'])).toBe(false);
    expect(startsAgent([])).toBe(false);
  });
});
