import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { renderConfigReference } from './configReference.js';

describe('docs/configuration.md', () => {
  it('matches the config schema (run `npm run docs:config` after changing the schema)', async () => {
    const committed = await readFile(new URL('../../docs/configuration.md', import.meta.url), 'utf8');
    expect(committed).toBe(renderConfigReference());
  });

  it('documents every top-level key with its default', () => {
    const text = renderConfigReference();
    for (const key of [
      'server.listen',
      'scrape_configs[].job_name',
      'load_balancers[].socket',
      'notify.webhooks[].retries',
      'services.<name>.restart',
      'steps[].action',
    ]) {
      expect(text).toContain(`\`${key}\``);
    }
    expect(text).toMatch(/\| `server.listen` \| string \| `"127.0.0.1:7927"` \|/);
    expect(text).toMatch(/\| `rules.evaluation_interval` \| duration \| `"15s"` \|/);
  });
});
