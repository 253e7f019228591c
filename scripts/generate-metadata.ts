/**
 * `pnpm metadata`: writes every file derived from the connector folders (the list is in scripts/catalog.ts):
 * the catalog files (manifests, config schemas, logos, the root manifest.json), the configuration pages, the compose files, tsconfig.json, the images workflow's
 * matrix and the README's table. `pnpm docs` writes the docs/configuration pages only. `--check` writes
 * nothing and exits 1 when a committed file differs from what would be generated.
 *
 * A connector folder that cannot be read (a placeholder src/index.ts, no catalog.ts...) is reported with what
 * is wrong and the command exits 1 once everything else is written.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import { isCurrentImage, planGeneration } from './catalog.js';
import { REPO_ROOT } from './paths.js';

async function main(): Promise<number> {
  const { values } = parseArgs({ options: { check: { type: 'boolean' }, 'docs-only': { type: 'boolean' } } });
  const plan = await planGeneration({ docsOnly: values['docs-only'] ?? false });
  let stale = 0;
  const write = (path: string, isCurrent: (current: Buffer | null) => boolean, content: string | Buffer) => {
    const target = join(REPO_ROOT, path);
    const current = existsSync(target) ? readFileSync(target) : null;
    if (isCurrent(current)) return;
    if (values.check) {
      console.error(`${path}: ${current === null ? 'missing' : 'differs from the generated file'}`);
      stale++;
      return;
    }
    mkdirSync(dirname(target), { recursive: true });
    writeFileSync(target, content);
    console.log(`wrote ${path}`);
  };
  for (const [path, content] of plan.files) write(path, (current) => current?.toString('utf8') === content, content);
  for (const [path, png] of plan.images) write(path, (current) => isCurrentImage(current, png), png);
  for (const m of plan.missing) console.error(`missing: ${m.slug}: ${m.missing}`);
  if (values.check && stale > 0) console.error(`${stale} generated file(s) out of date: run \`pnpm metadata\``);
  console.log(
    `${plan.connectors.length} connector(s) generated${plan.missing.length ? `, ${plan.missing.length} missing` : ''}`,
  );
  return stale > 0 || plan.missing.length > 0 ? 1 : 0;
}

process.exitCode = await main();
