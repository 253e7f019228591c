/**
 * docs/writing-a-connector.md teaches with a sixth connector whose code is docs/examples/greynoise/src.
 * The page must show exactly that code, the code must stay under 100 lines, type-check, and run: against
 * the stand-in platform, the real broker and a fake GreyNoise API, as a real connector does.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { identityId } from '@cti/connector-sdk';
import {
  type FakeVendor,
  type RunningConnector,
  runCli,
  startConnector,
  startFakeVendor,
  startTestPlatform,
  type TestPlatform,
  TLP_MARKING_IDS,
} from '@cti/connector-testkit';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import greynoise from '../docs/examples/greynoise/src/index.js';
import { REPO_ROOT } from './paths.js';

const EXAMPLES = join(REPO_ROOT, 'docs', 'examples');
const EXAMPLE = join(EXAMPLES, 'greynoise');
const PAGE = join(REPO_ROOT, 'docs', 'writing-a-connector.md');
const KEY = 'greynoise-key-for-the-docs-example';

/** The page's ```ts <path> blocks (path relative to docs/examples; GitHub does not show it): path → code. */
function shownFiles(markdown: string): Map<string, string> {
  const files = new Map<string, string>();
  const fence = /^```ts (\S+)\n([\s\S]*?)^```$/gm;
  for (const match of markdown.matchAll(fence)) files.set(match[1] ?? '', match[2] ?? '');
  return files;
}

describe('the worked example of docs/writing-a-connector.md', () => {
  const sources = readdirSync(join(EXAMPLE, 'src')).filter((f) => f.endsWith('.ts'));
  const examples = [...sources.map((f) => `greynoise/src/${f}`), 'import-skeleton.ts'];

  it('is shown in full on the page, file by file, exactly as it is tested (and the import skeleton too)', () => {
    const shown = shownFiles(readFileSync(PAGE, 'utf8'));
    expect([...shown.keys()].sort()).toEqual([...examples].sort());
    for (const file of examples) expect(shown.get(file), file).toBe(readFileSync(join(EXAMPLES, file), 'utf8'));
  });

  it('is a connector in under 100 lines', () => {
    const lines = sources
      .flatMap((f) => readFileSync(join(EXAMPLE, 'src', f), 'utf8').split('\n'))
      .filter((l) => l.trim() !== '');
    expect(lines.length).toBeLessThan(100);
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
});

describe('the GreyNoise example connector, running', () => {
  let platform: TestPlatform;
  let vendor: FakeVendor;
  let daemon: RunningConnector | null = null;

  beforeAll(async () => {
    platform = await startTestPlatform();
    vendor = await startFakeVendor({
      'GET /v3/community/:ip': (req) => {
        if (req.headers.key !== KEY) return { status: 401, body: { message: 'unauthorized' } };
        const ip = req.path.split('/').pop();
        if (ip === '203.0.113.66') {
          return {
            body: {
              ip,
              noise: true,
              riot: false,
              classification: 'malicious',
              name: 'unknown',
              link: `https://viz.greynoise.io/ip/${ip}`,
              last_seen: '2026-11-20',
              message: 'Success',
            },
          };
        }
        return { status: 404, body: { ip, noise: false, riot: false, message: 'IP not observed' } };
      },
    });
  });
  afterEach(async () => {
    await daemon?.stop();
    daemon = null;
  });
  afterAll(async () => {
    await vendor?.close();
    await platform?.close();
  });

  async function start() {
    daemon = startConnector(greynoise, {
      OPENCTI_URL: platform.url,
      OPENCTI_TOKEN: platform.token,
      GREYNOISE_API_KEY: KEY,
      GREYNOISE_API_URL: vendor.url,
    });
    await daemon.waitForLog('listening for enrichment requests');
    return daemon;
  }

  it('enriches a malicious IP: labels, link, an Indicator based on the observable, all marked as the entity', async () => {
    const d = await start();
    // Labelled already: the platform's copy keeps its labels in its extension, where the importer reads them first.
    const ip = platform.addEntity({
      entity_type: 'IPv4-Addr',
      value: '203.0.113.66',
      markings: ['TLP:GREEN'],
      labels: ['watched'],
    });
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
    expect(vendor.requests).toHaveLength(1);
  });

  it('ends an enrichment of an IP GreyNoise has not seen without error, and sends nothing', async () => {
    const d = await start();
    const ip = platform.addEntity({ entity_type: 'IPv4-Addr', value: '198.51.100.1' });
    const work = await platform.waitForWork(await platform.askEnrichment(d.connectorId, ip.standard_id));
    expect(work.status).toBe('complete');
    expect(work.errors).toEqual([]);
    expect(work.messages.map((m) => m.message).join()).toContain('GreyNoise has not seen 198.51.100.1');
    expect(platform.objects({ workId: work.id })).toEqual([]);
  });

  it('refuses a TLP:RED entity without calling GreyNoise', async () => {
    const d = await start();
    const before = vendor.requests.length;
    const ip = platform.addEntity({ entity_type: 'IPv4-Addr', value: '203.0.113.66', markings: ['TLP:RED'] });
    const work = await platform.waitForWork(await platform.askEnrichment(d.connectorId, ip.standard_id));
    expect(work.errors.map((e) => e.message).join()).toMatch(/TLP:RED.*above the connector's maximum \(TLP:AMBER\)/);
    expect(vendor.requests.length).toBe(before);
  });

  it('prints its bundle in a dry run, without OpenCTI', async () => {
    const result = await runCli(greynoise, ['enrich', '203.0.113.66'], {
      GREYNOISE_API_KEY: KEY,
      GREYNOISE_API_URL: vendor.url,
    });
    expect(result.code, result.stderr).toBe(0);
    const bundle = JSON.parse(result.stdout) as { objects: { type: string }[] };
    expect(bundle.objects.map((o) => o.type).sort()).toEqual(['identity', 'indicator', 'ipv4-addr', 'relationship']);
  });
});
