// Writes docs/configuration.md from the config schemas: `npm run docs:config`.
import { writeFile } from 'node:fs/promises';
import { renderConfigReference } from '../src/config/configReference.js';

await writeFile(new URL('../docs/configuration.md', import.meta.url), renderConfigReference());
process.stdout.write('wrote docs/configuration.md\n');
