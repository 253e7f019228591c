/**
 * `pnpm env-contract <README.md> --source "<repository, path, commit, date>"`: prints a draft
 * connectors/<slug>/env-contract.json for a port, from the Python connector's README (its environment
 * variables and example values). Review it: give a compose `value` where the README has only a placeholder,
 * move names that are not settings under `notSettings` with the reason, and add `note`s for the compose file.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { draftEnvContract } from './readme-settings.js';

async function main(): Promise<number> {
  const { values, positionals } = parseArgs({ allowPositionals: true, options: { source: { type: 'string' } } });
  const [readme] = positionals;
  if (readme === undefined || values.source === undefined) {
    console.error('usage: pnpm env-contract <README.md> --source "<repository, path, commit, date>"');
    return 2;
  }
  process.stdout.write(`${JSON.stringify(draftEnvContract(readFileSync(readme, 'utf8'), values.source), null, 2)}\n`);
  return 0;
}

process.exitCode = await main();
