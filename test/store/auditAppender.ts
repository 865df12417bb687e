// A separate process appending to the audit log, so tests can prove appends from several
// processes (several swas servers) interleave into one valid chain.
// Usage: node --import tsx test/store/auditAppender.ts '<StateStoreOptions JSON>' <count> <actor>
// It opens the store, prints "ready", waits for a line on stdin, then appends: the parent releases
// all children at once so their appends really contend.
import { createInterface } from 'node:readline';
import { openStateStore } from '../../src/store/index.js';
import type { StateStoreOptions } from '../../src/store/index.js';

const [optionsJson = '{}', countText = '0', actor = 'child'] = process.argv.slice(2);
const store = await openStateStore(JSON.parse(optionsJson) as StateStoreOptions);
try {
  const lines = createInterface({ input: process.stdin });
  const go = new Promise<void>((resolve) => lines.once('line', () => resolve()));
  process.stdout.write('ready\n');
  await go;
  lines.close();
  await Promise.all(
    Array.from({ length: Number(countText) }, (_, i) =>
      store.audit.append({
        at: i,
        actor,
        action: 'test.append',
        target: `item-${i}`,
        reason: null,
        before: null,
        after: { i },
        result: 'ok',
      }),
    ),
  );
} finally {
  await store.close();
}
