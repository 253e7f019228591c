/**
 * docs/writing-a-connector.md teaches with a sixth connector whose folder is docs/examples/greynoise. The
 * page must show exactly that code; the connector must stay under 100 lines, type-check, read as a connector
 * folder through the same discovery as the real ones (what `pnpm metadata` derives from it included), and run
 * through its own conformance case: against the stand-in platform, the real broker and a fake GreyNoise API.
 * scripts/new-connector.test.ts drops the folder into connectors/ and runs the suites on it.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { identityId } from '@cti/connector-sdk';
import {
  runCli,
  startTestPlatform,
  type TestPlatform,
  TLP_MARKING_IDS,
  type WorkSnapshot,
} from '@cti/connector-testkit';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  type CaseDaemon,
  type CaseVendor,
  enrichOnce,
  startCaseDaemon,
  startCaseVendor,
} from '../packages/testkit/test/suites/harness.js';
import { generatedFiles } from './catalog.js';
import { composeEnvironment } from './compose-file.js';
import { type ConnectorCase, loadConnectorCase } from './conformance.js';
import { type LoadedConnector, loadConnectorFolder } from './folder.js';
import { REPO_ROOT } from './paths.js';
import { imageName } from './publishing.js';

const EXAMPLES = join(REPO_ROOT, 'docs', 'examples');
const EXAMPLE = join(EXAMPLES, 'greynoise');
const PAGE = join(REPO_ROOT, 'docs', 'writing-a-connector.md');

/** The page's ```ts <path> blocks (path relative to docs/examples; GitHub does not show it): path → code. */
function shownFiles(markdown: string): Map<string, string> {
  const files = new Map<string, string>();
  const fence = /^```ts (\S+)\n([\s\S]*?)^```$/gm;
  for (const match of markdown.matchAll(fence)) files.set(match[1] ?? '', match[2] ?? '');
  return files;
}

/** The folder's TypeScript files, relative to docs/examples. */
function exampleSources(dir = EXAMPLE): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory()) return exampleSources(path);
    return e.name.endsWith('.ts') ? [relative(EXAMPLES, path)] : [];
  });
}

const nonBlankLines = (files: readonly string[]) =>
  files.flatMap((f) => readFileSync(join(EXAMPLES, f), 'utf8').split('\n')).filter((l) => l.trim() !== '').length;

async function loadExample(): Promise<LoadedConnector> {
  const loaded = await loadConnectorFolder(EXAMPLE);
  if ('missing' in loaded) throw new Error(loaded.missing);
  return loaded;
}

describe('the worked example of docs/writing-a-connector.md', () => {
  const examples = [...exampleSources(), 'import-skeleton.ts'];

  it('is shown in full on the page, file by file, exactly as it is tested (and the import skeleton too)', () => {
    const shown = shownFiles(readFileSync(PAGE, 'utf8'));
    expect([...shown.keys()].sort()).toEqual([...examples].sort());
    for (const file of examples) expect(shown.get(file), file).toBe(readFileSync(join(EXAMPLES, file), 'utf8'));
  });

  it('is a connector in under 100 lines (src/), and its catalog facts and conformance case in under 50 more', () => {
    const sources = exampleSources().filter((f) => f.startsWith('greynoise/src/'));
    expect(sources).toHaveLength(5);
    expect(nonBlankLines(sources)).toBeLessThan(100);
    expect(nonBlankLines(exampleSources().filter((f) => !f.startsWith('greynoise/src/')))).toBeLessThan(50);
  });

  it('type-checks, skeleton included, with the suite settings (strict, noUncheckedIndexedAccess...)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cti-docs-example-'));
    const tsconfig = join(dir, 'tsconfig.json');
    writeFileSync(
      tsconfig,
      JSON.stringify({
        extends: join(REPO_ROOT, 'tsconfig.test.json'),
        compilerOptions: { rootDir: REPO_ROOT, typeRoots: [join(REPO_ROOT, 'node_modules', '@types')] },
        include: [join(EXAMPLES, '**', '*.ts')],
      }),
    );
    const tsc = spawnSync(join(REPO_ROOT, 'node_modules', '.bin', 'tsc'), ['-p', tsconfig], {
      cwd: REPO_ROOT,
      encoding: 'utf8',
      timeout: 120_000,
    });
    expect(`${tsc.stdout}${tsc.stderr}`).toBe('');
    expect(tsc.status).toBe(0);
  });

  it('reads as a connector folder, and pnpm metadata would derive its catalog entry and compose service', async () => {
    const greynoise = await loadExample();
    expect(greynoise.envContract).toBeNull();
    const files = generatedFiles(greynoise);
    expect(JSON.parse(files.get('connectors/greynoise/__metadata__/connector_manifest.json') ?? '{}')).toMatchObject({
      title: 'GreyNoise',
      slug: 'greynoise',
      container_image: imageName('greynoise'),
      manager_supported: true,
      container_type: 'INTERNAL_ENRICHMENT',
      playbook_supported: true,
      short_description: 'Internet scanner context for IPv4 addresses from GreyNoise.',
    });
    const schema = JSON.parse(files.get('connectors/greynoise/__metadata__/connector_config_schema.json') ?? '{}');
    expect(schema.properties.GREYNOISE_API_KEY).toMatchObject({ writeOnly: true, format: 'password' });
    // Not a port: the compose service sets the required settings, the secret as ChangeMe.
    expect(Object.fromEntries(composeEnvironment(greynoise).map((s) => [s.name, s.value]))).toEqual({
      OPENCTI_URL: 'http://opencti:8080',
      OPENCTI_TOKEN: 'ChangeMe',
      CONNECTOR_ID: expect.stringMatching(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-/),
      GREYNOISE_API_KEY: 'ChangeMe',
    });
  });
});

describe('the GreyNoise example connector, running through its conformance case', () => {
  let c: ConnectorCase;
  let platform: TestPlatform;
  let vendor: CaseVendor;
  let daemon: CaseDaemon | null = null;

  beforeAll(async () => {
    c = await loadConnectorCase(await loadExample());
    platform = await startTestPlatform();
    vendor = await startCaseVendor(c);
  });
  afterEach(async () => {
    await daemon?.d.stop();
    daemon = null;
  });
  afterAll(async () => {
    await vendor?.close();
    await platform?.close();
  });

  async function start() {
    daemon = startCaseDaemon(c, platform, vendor, { CONNECTOR_LOG_LEVEL: 'info' });
    await daemon.d.waitForLog('listening for enrichment requests');
    return daemon.d;
  }

  it('enriches a malicious IP: labels, link, an Indicator based on the observable, all marked as the entity', async () => {
    const d = await start();
    // Labelled already: the platform's copy keeps its labels in its extension, where the importer reads them first.
    const ip = platform.addEntity({ ...c.observable!, markings: ['TLP:GREEN'], labels: ['watched'] });
    const work = await platform.waitForWork(await platform.askEnrichment(d.connectorId, ip.standard_id));
    expect(work.status).toBe('complete');
    expect(work.messages.map((m) => m.message).join()).toContain('GreyNoise: 203.0.113.66 is malicious');
    const objects = platform.objects({ workId: work.id }).map((o) => o.object);
    const indicator = objects.find((o) => o.type === 'indicator');
    expect(indicator).toMatchObject({ pattern: "[ipv4-addr:value = '203.0.113.66']", name: '203.0.113.66' });
    expect(objects.find((o) => o.type === 'relationship')).toMatchObject({
      relationship_type: 'based-on',
      source_ref: indicator?.id,
      target_ref: ip.standard_id,
    });
    // What the platform ends up holding, read as its importer reads the re-sent observable.
    const held = platform.knowledge(ip.standard_id);
    expect(held?.labels).toEqual(['watched', 'greynoise', 'malicious']);
    expect(held?.externalReferences).toEqual([
      { source_name: 'GreyNoise', url: 'https://viz.greynoise.io/ip/203.0.113.66' },
    ]);
    expect(held?.markings).toEqual([TLP_MARKING_IDS['TLP:GREEN']]);
    expect(platform.knowledge(indicator?.id as string)).toMatchObject({
      createdBy: identityId('GreyNoise', 'organization'),
      markings: [TLP_MARKING_IDS['TLP:GREEN']],
    });
    expect(vendor.requests.filter((r) => r.path.endsWith('/203.0.113.66'))).toHaveLength(1);
  });

  it('ends an enrichment of an IP GreyNoise has not seen without error, and sends nothing', async () => {
    const d = await start();
    const work = await enrichOnce(platform, d.connectorId, c.nextObservable!);
    expect(work.status).toBe('complete');
    expect(work.errors).toEqual([]);
    expect(work.messages.map((m) => m.message).join()).toContain('GreyNoise has not seen 203.0.113.67');
    expect(platform.objects({ workId: work.id })).toEqual([]);
  });

  it('refuses a TLP:RED entity without calling GreyNoise: the work completes, with the refusal as its error', async () => {
    const d = await start();
    const before = vendor.requests.length;
    const ip = platform.addEntity({ ...c.observable!, markings: ['TLP:RED'] });
    const work: WorkSnapshot = await platform.waitForWork(await platform.askEnrichment(d.connectorId, ip.standard_id));
    expect(work.status).toBe('complete');
    expect(work.errors.map((e) => e.message)).toEqual([
      expect.stringMatching(/TLP:RED.*above the connector's maximum \(TLP:AMBER\)/),
    ]);
    expect(platform.objects({ workId: work.id })).toEqual([]);
    expect(vendor.requests.length).toBe(before);
  });

  it('prints its bundle in a dry run, without OpenCTI', async () => {
    const result = await runCli(c.definition, ['enrich', '203.0.113.66'], c.env(vendor.url));
    expect(result.code, result.stderr).toBe(0);
    const bundle = JSON.parse(result.stdout) as { objects: { type: string }[] };
    expect(bundle.objects.map((o) => o.type).sort()).toEqual(['identity', 'indicator', 'ipv4-addr', 'relationship']);
  });
});
