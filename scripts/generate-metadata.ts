/**
 * `pnpm metadata`: writes every generated file from the connectors' definitions and the seed READMEs.
 *   connectors/<slug>/__metadata__/connector_manifest.json, connector_config_schema.json
 *   docs/configuration/<slug>.md and docs/configuration/README.md
 *   docker/test/seed-settings.json (the seeds' env names, for clones that do not have ../shared/seeds)
 * `pnpm docs` writes the docs/configuration pages only. `--check` writes nothing and exits 1 when a
 * committed file differs from what would be generated.
 *
 * A connector folder whose src/index.ts has no definition yet (a placeholder) is reported as missing and
 * the command exits 1 once everything else is written.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { parseArgs } from 'node:util';
import { planGeneration } from './catalog.js';
import { REPO_ROOT, SEED_SETTINGS_FILE, SEEDS_DIR } from './paths.js';

async function main(): Promise<number> {
  const { values } = parseArgs({ options: { check: { type: 'boolean' }, 'docs-only': { type: 'boolean' } } });
  const plan = await planGeneration({ docsOnly: values['docs-only'] ?? false });
  let stale = 0;
  for (const [path, content] of plan.files) {
    const target = join(REPO_ROOT, path);
    const current = existsSync(target) ? readFileSync(target, 'utf8') : null;
    if (current === content) continue;
    if (values.check) {
      console.error(`${path}: ${current === null ? 'missing' : 'differs from the generated file'}`);
      stale++;
      continue;
    }
    mkdirSync(dirname(target), { recursive: true });
    writeFileSync(target, content);
    console.log(`wrote ${path}`);
  }
  for (const m of plan.missing) console.error(`missing: ${m.slug}: ${m.missing}`);
  if (!existsSync(SEEDS_DIR) && !values['docs-only']) {
    console.error(`note: ${SEEDS_DIR} not found; ${relative(REPO_ROOT, SEED_SETTINGS_FILE)} left as it is`);
  }
  if (values.check && stale > 0) console.error(`${stale} generated file(s) out of date: run \`pnpm metadata\``);
  console.log(
    `${plan.connectors.length} connector(s) generated${plan.missing.length ? `, ${plan.missing.length} missing` : ''}`,
  );
  return stale > 0 || plan.missing.length > 0 ? 1 : 0;
}

process.exitCode = await main();
