/**
 * `pnpm dev <slug> [-- <connector arguments>]`: one connector from its TypeScript sources with tsx in watch
 * mode (the SDK's sources too, through the `@cti/source` export condition), reading connectors/<slug>/.env,
 * with readable log lines instead of JSON unless OPENCTI_JSON_LOGGING says otherwise.
 *   pnpm dev crowdsec                     the daemon, restarted on every save
 *   pnpm dev crowdsec -- enrich 1.2.3.4   a dry run, re-run on every save
 *   pnpm dev crowdsec --once -- --help    once, without watching
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { devPlan } from './dev-plan.js';
import { connectorSlugs } from './folder.js';
import { REPO_ROOT } from './paths.js';

function usage(slugs: readonly string[]): string {
  return [
    'usage: pnpm dev <connector> [--once] [-- <connector arguments>]',
    `connectors: ${slugs.join(', ')}`,
    'examples: pnpm dev crowdsec | pnpm dev urlscan-enrichment -- enrich https://example.com/ --type Url',
  ].join('\n');
}

async function main(): Promise<number> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: { once: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
  });
  const slugs = connectorSlugs();
  const [slug, ...connectorArgs] = positionals;
  if (values.help || slug === undefined) {
    (values.help ? console.log : console.error)(usage(slugs));
    return values.help ? 0 : 2;
  }
  if (!slugs.includes(slug)) {
    console.error(`dev: no connector "${slug}"\n${usage(slugs)}`);
    return 2;
  }
  if (!existsSync(join(REPO_ROOT, 'connectors', slug, 'src', 'main.ts'))) {
    console.error(`dev: connectors/${slug}/src/main.ts does not exist yet`);
    return 1;
  }
  const plan = devPlan(slug, connectorArgs, { once: values.once ?? false });
  for (const note of plan.notes) console.error(note);
  const child = spawn(plan.command, plan.args, { cwd: plan.cwd, env: plan.env, stdio: 'inherit' });
  // The child gets the terminal's Ctrl-C itself; a SIGTERM sent to this process is passed on.
  const forward = (signal: NodeJS.Signals) => child.kill(signal);
  process.on('SIGTERM', forward);
  process.on('SIGINT', () => undefined);
  return new Promise((resolve) => {
    child.on('exit', (code) => resolve(code ?? 1));
    child.on('error', (err) => {
      console.error(`dev: could not start tsx: ${err.message}`);
      resolve(1);
    });
  });
}

process.exitCode = await main();
