/**
 * A new connector needs no line outside its folder. In a copy of the repository, two folders are added and
 * nothing else is edited: the guide's GreyNoise example (docs/examples/greynoise, a connector that ports
 * nothing) as connectors/greynoise, and SpyCloud under a new slug (only its package name and definition slug
 * changed, inside the folder). Then, in the copy, as a developer would run them:
 *   - `pnpm metadata` writes every derived file with both (compose services, attach file, images matrix,
 *     tsconfig references, README table, configuration pages, catalog files), and `--check` then agrees;
 *   - the cross-connector suites collect a test for each (vitest list, running the suites' discovery);
 *   - `pnpm demo --list` names both;
 *   - suite cases run for each: the TLP matrix for GreyNoise, bad settings and the end state for both.
 */
import { spawnSync } from 'node:child_process';
import {
  copyFileSync,
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectorCases } from './conformance.js';
import { REPO_ROOT } from './paths.js';
import { imageName } from './publishing.js';

const NEW = { enrichment: 'greynoise', import: 'spycloud-clone' } as const;
const copy = mkdtempSync(join(tmpdir(), 'cti-new-connector-'));

/** Runs a command in the copy with the repository's toolchain; a failure shows its output. */
function inCopy(command: string, args: string[], timeout = 240_000) {
  const run = spawnSync(command, args, {
    cwd: copy,
    encoding: 'utf8',
    timeout,
    env: { ...process.env, CTI_TEST_JSON_REPORT: '', NO_COLOR: '1' },
  });
  return { code: run.status, out: `${run.stdout ?? ''}${run.stderr ?? ''}` };
}
const tsx = (script: string, ...args: string[]) =>
  inCopy(process.execPath, [join(copy, 'node_modules/tsx/dist/cli.mjs'), '--conditions=@cti/source', script, ...args]);
const vitest = (...args: string[]) =>
  inCopy(process.execPath, [join(copy, 'node_modules/vitest/vitest.mjs'), ...args], 420_000);
const read = (path: string) => readFileSync(join(copy, path), 'utf8');

beforeAll(() => {
  // The repository as a clone has it (tracked and new files, not ignored ones), with its installed packages.
  const listed = spawnSync('git', ['ls-files', '--cached', '--others', '--exclude-standard'], {
    cwd: REPO_ROOT,
    encoding: 'utf8',
  });
  for (const file of listed.stdout.split('\n').filter(Boolean)) {
    if (!existsSync(join(REPO_ROOT, file))) continue;
    mkdirSync(dirname(join(copy, file)), { recursive: true });
    copyFileSync(join(REPO_ROOT, file), join(copy, file));
  }
  // The installed packages, entry by entry: the copy keeps its own caches (node_modules/.vite...).
  mkdirSync(join(copy, 'node_modules'));
  for (const entry of readdirSync(join(REPO_ROOT, 'node_modules'))) {
    if (!entry.startsWith('.') || entry === '.bin' || entry === '.pnpm') {
      symlinkSync(join(REPO_ROOT, 'node_modules', entry), join(copy, 'node_modules', entry));
    }
  }
  for (const workspace of ['packages', 'connectors']) {
    for (const name of readdirSync(join(REPO_ROOT, workspace))) {
      const modules = join(REPO_ROOT, workspace, name, 'node_modules');
      if (existsSync(modules) && existsSync(join(copy, workspace, name))) {
        symlinkSync(modules, join(copy, workspace, name, 'node_modules'));
      }
    }
  }

  // The only edits: two new folders.
  cpSync(join(copy, 'docs', 'examples', 'greynoise'), join(copy, 'connectors', NEW.enrichment), { recursive: true });
  const clone = join(copy, 'connectors', NEW.import);
  cpSync(join(copy, 'connectors', 'spycloud'), clone, { recursive: true });
  const edit = (file: string, from: string, to: string) =>
    writeFileSync(file, readFileSync(file, 'utf8').replace(from, to));
  edit(join(clone, 'package.json'), '"@cti/connector-spycloud"', `"@cti/connector-${NEW.import}"`);
  edit(join(clone, 'src', 'index.ts'), "slug: 'spycloud'", `slug: '${NEW.import}'`);
}, 120_000);
afterAll(() => rmSync(copy, { recursive: true, force: true }));

describe('two new connector folders, and no edit outside them', () => {
  it('are found by the discovery every suite, the demo and the bench use', async () => {
    const slugs = (await connectorCases(copy)).map((c) => `${c.slug}:${c.kind}`);
    expect(slugs).toEqual(expect.arrayContaining([`${NEW.enrichment}:enrichment`, `${NEW.import}:import`]));
  });

  it('pnpm metadata writes every derived file with them, and then finds nothing stale', () => {
    const first = tsx('scripts/generate-metadata.ts');
    expect(first.code, first.out).toBe(0);
    for (const slug of Object.values(NEW)) {
      for (const file of [
        'tsconfig.json',
        '__metadata__/connector_manifest.json',
        '__metadata__/connector_config_schema.json',
        '__metadata__/logo.png',
      ]) {
        expect(existsSync(join(copy, 'connectors', slug, file)), `${slug}/${file}`).toBe(true);
      }
      expect(read(`docs/configuration/${slug}.md`)).toContain(`connectors/${slug}/src`);
      expect(read('docs/configuration/README.md')).toContain(`[${slug}.md](${slug}.md)`);
      expect(read('docker/docker-compose.yml')).toContain(`  connector-${slug}:\n    image: ${imageName(slug)}:`);
      expect(JSON.parse(read('manifest.json')).contracts.map((c: { slug: string }) => c.slug)).toContain(slug);
      expect(read('docker/docker-compose.yml')).toContain(`        CONNECTOR: ${slug}\n`);
      expect(read('docker/docker-compose.attach.yml')).toContain(`  connector-${slug}:\n`);
      expect(JSON.parse(read('tsconfig.json')).references).toContainEqual({ path: `connectors/${slug}` });
      expect(read('.github/workflows/images.yml')).toMatch(new RegExp(`connector: \\[[^\\]]*\\b${slug}\\b`));
      expect(read('README.md')).toMatch(new RegExp(`\\]\\(connectors/${slug}\\) +\\|`));
    }
    // A port keeps its README's names; a new connector sets its required settings, secrets as ChangeMe.
    expect(read('docker/docker-compose.yml')).toMatch(/connector-greynoise:[\s\S]*?- GREYNOISE_API_KEY=ChangeMe\n/);
    expect(read('docker/docker-compose.yml')).toMatch(/connector-spycloud-clone:[\s\S]*?- SPYCLOUD_API_KEY=ChangeMe\n/);
    const check = tsx('scripts/generate-metadata.ts', '--check');
    expect(check.code, check.out).toBe(0);
  });

  it('every cross-connector suite collects a test for each, by kind', () => {
    const report = join(copy, 'suites.json');
    const list = vitest('list', '--no-staticParse', `--json=${report}`, 'packages/testkit/test/suites');
    expect(list.code, list.out).toBe(0);
    const tests = (JSON.parse(readFileSync(report, 'utf8')) as Array<{ name: string; file: string }>).map(
      (t) => `${t.file.split('/').pop()} | ${t.name}`,
    );
    const forSlug = (file: string, slug: string) =>
      tests.filter((t) => t.startsWith(`${file} |`) && t.includes(` ${slug}: `));
    for (const file of [
      'secrets.test.ts',
      'vendor-faults.test.ts',
      'token-hosts.test.ts',
      'bad-env.test.ts',
      'managed-deployment.test.ts',
    ]) {
      for (const slug of Object.values(NEW)) expect(forSlug(file, slug), `${file}, ${slug}`).not.toEqual([]);
    }
    expect(forSlug('tlp-matrix.test.ts', NEW.enrichment)).not.toEqual([]);
    expect(forSlug('tlp-matrix.test.ts', NEW.import)).toEqual([]);
  });

  it('the demo runs both', () => {
    const demo = tsx('demo/run.ts', '--list');
    expect(demo.code, demo.out).toBe(0);
    expect(demo.out).toMatch(new RegExp(`^${NEW.enrichment}\\tenrichment\\t`, 'm'));
    expect(demo.out).toMatch(new RegExp(`^${NEW.import}\\timport\\t`, 'm'));
  });

  it("suite cases run for each: GreyNoise's TLP matrix, and bad settings and end state for both", () => {
    const suites = 'packages/testkit/test/suites';
    const run = vitest(
      'run',
      '--reporter=verbose',
      `${suites}/tlp-matrix.test.ts`,
      `${suites}/bad-env.test.ts`,
      `${suites}/end-state.test.ts`,
      '-t',
      `(${NEW.enrichment}|${NEW.import}): `,
    );
    expect(run.code, run.out).toBe(0);
    for (const protocol of ['AMQP', 'API']) {
      expect(run.out).toMatch(
        new RegExp(`✓ .*> ${NEW.enrichment}: every max-TLP setting × every TLP level, listen protocol ${protocol}`),
      );
    }
    for (const slug of Object.values(NEW)) {
      expect(run.out).toMatch(new RegExp(`✓ .*> ${slug}: every setting with a wrong value`));
    }
    expect(run.out).toMatch(
      new RegExp(`✓ .*> ${NEW.enrichment}: the enriched observable .*> holds what it held before`),
    );
    expect(run.out).toMatch(new RegExp(`✓ .*> ${NEW.import}: every imported object > carries the connector’s author`));
    // GreyNoise's TLP matrix and end state run on both listen protocols: 2 + 2 (bad settings) + 3 × 2 + 2.
    expect(run.out).toMatch(/Tests\s+12 passed/);
  });
});
