/**
 * The connector folder contract (scripts/folder.ts, scripts/conformance.ts): every folder of the repository
 * reads, its slug is not OpenCTI's name for another kind of connector, and a folder that is incomplete or
 * wrong is reported naming the file and the field.
 */
import { copyFileSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defineEnrichment, env } from '@cti/connector-sdk';
import { PNG } from 'pngjs';
import { describe, expect, it } from 'vitest';
import { catalogLogo, planGeneration } from './catalog.js';
import { conformanceProblems, connectorCases } from './conformance.js';
import { connectorSlugs, loadConnector, slugClash, upstreamCatalog } from './folder.js';
import { drawLogo, samePixels } from './logo.js';
import { REPO_ROOT } from './paths.js';

const CATALOG = `export default {
  description: 'A test connector.',
  shortDescription: 'A test connector.',
  useCases: ['Detection & Response Enablement'],
  solutionCategories: ['Enrichment & Reputation'],
  licenseType: 'Free',
  maxConfidenceLevel: 50,
  subscriptionLink: null,
};
`;
const definitionOf = (slug: string, kind = 'enrichment') =>
  `export default { kind: '${kind}', slug: '${slug}', name: 'Test', scope: ['IPv4-Addr'], config: {} };\n`;

function tempRoot(): string {
  const root = mkdtempSync(join(tmpdir(), 'cti-folders-'));
  mkdirSync(join(root, 'connectors'));
  // Where the suite is published: the repository's root package.json.
  copyFileSync(join(REPO_ROOT, 'package.json'), join(root, 'package.json'));
  return root;
}

interface FolderFiles {
  pkgName?: string;
  index?: string | null;
  catalog?: string | null;
  envContract?: unknown;
  logo?: Buffer;
}

/** A PNG of the given size, one colour. */
function png(width: number, height: number): Buffer {
  const image = new PNG({ width, height });
  image.data.fill(0x80);
  return PNG.sync.write(image);
}

function folder(root: string, slug: string, files: FolderFiles = {}): void {
  const dir = join(root, 'connectors', slug);
  mkdirSync(join(dir, 'src'), { recursive: true });
  const name = files.pkgName ?? `@cti/connector-${slug}`;
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name, version: '1.0.0' }));
  const index = files.index === undefined ? definitionOf(slug) : files.index;
  if (index !== null) writeFileSync(join(dir, 'src', 'index.ts'), index);
  const catalog = files.catalog === undefined ? CATALOG : files.catalog;
  if (catalog !== null) writeFileSync(join(dir, 'catalog.ts'), catalog);
  if (files.envContract !== undefined) writeFileSync(join(dir, 'env-contract.json'), JSON.stringify(files.envContract));
  if (files.logo !== undefined) writeFileSync(join(dir, 'logo.png'), files.logo);
}

describe('the connector folders of the repository', () => {
  it.each(connectorSlugs())('%s reads: definition, catalog facts, env contract, conformance case', async (slug) => {
    const loaded = await loadConnector(slug);
    expect('missing' in loaded ? loaded.missing : null).toBeNull();
  });

  it('each has a conformance case the suites can drive, in the order of the generated lists', async () => {
    const cases = await connectorCases();
    expect(cases.map((c) => c.slug).sort()).toEqual(connectorSlugs());
    const kinds = cases.map((c) => c.kind);
    expect(kinds).toEqual([...kinds].sort());
  });

  it("has slugs that are not OpenCTI's name for a connector of another kind", async () => {
    for (const slug of connectorSlugs()) {
      const loaded = await loadConnector(slug);
      if ('missing' in loaded) throw new Error(loaded.missing);
      expect(slugClash(slug, loaded.definition.kind), slug).toBeNull();
    }
  });
});

describe('slugClash, against OpenCTI-Platform/connectors (reference/upstream-catalog-slugs.json)', () => {
  it('refuses upstream\'s slug of another kind: "urlscan" is its external-import feed', () => {
    expect(upstreamCatalog().length).toBeGreaterThan(250);
    expect(slugClash('urlscan', 'enrichment')).toMatch(/"urlscan" is upstream's EXTERNAL_IMPORT connector/);
    expect(slugClash('crowdsec', 'import')).toMatch(/INTERNAL_ENRICHMENT connector internal-enrichment\/crowdsec/);
  });

  it('accepts the slug of the upstream connector of the same kind it replaces, and a new one', () => {
    expect(slugClash('urlscan', 'import')).toBeNull();
    expect(slugClash('crowdsec', 'enrichment')).toBeNull();
    expect(slugClash('greynoise-example', 'enrichment')).toBeNull();
  });
});

describe('a folder that cannot be read is reported, naming the file and what to do', () => {
  it.each<[string, FolderFiles, RegExp]>([
    ['placeholder', { index: '// placeholder until the connector lands\nexport {};\n' }, /placeholder/],
    ['Grey_Noise', {}, /a slug is lowercase letters and digits in words joined by "-"/],
    ['no-index', { index: null }, /src\/index\.ts does not exist/],
    ['not-a-definition', { index: "export default { name: 'x' };\n" }, /no default export made with defineEnrichment/],
    ['wrong-slug', { index: definitionOf('other') }, /says slug "other", but its folder is .*connectors\/wrong-slug/],
    ['wrong-name', { pkgName: '@cti/something-else' }, /package\.json is named "@cti\/something-else"/],
    ['urlscan', {}, /connectors\/urlscan: the slug "urlscan" is upstream's EXTERNAL_IMPORT connector/],
    ['no-catalog', { catalog: null }, /connectors\/no-catalog\/catalog\.ts does not exist/],
    [
      'bad-catalog',
      { catalog: "export default { description: '' };\n" },
      /catalog\.ts: description: .*shortDescription/,
    ],
    [
      'unknown-use-case',
      { catalog: CATALOG.replace("'Detection & Response Enablement'", "'Threat hunting'") },
      /catalog\.ts: useCases\.0: .*Adversary & Campaign Insights/,
    ],
    [
      'four-categories',
      {
        catalog: CATALOG.replace(
          "['Enrichment & Reputation']",
          "['Enrichment & Reputation', 'Network Security', 'Email Security', 'Cloud Security']",
        ),
      },
      /catalog\.ts: solutionCategories: .*3/,
    ],
    [
      'long-short-description',
      { catalog: CATALOG.replace("shortDescription: 'A test connector.'", `shortDescription: '${'x'.repeat(251)}'`) },
      /catalog\.ts: shortDescription: .*250/,
    ],
    ['not-a-png', { logo: Buffer.from('GIF89a not a png') }, /connectors\/not-a-png\/logo\.png is not a PNG image/],
    ['huge-logo', { logo: png(512, 256) }, /logo\.png is 512x256 pixels; .* at most 256x256/],
    [
      'heavy-logo',
      { logo: Buffer.concat([png(16, 16), Buffer.alloc(200 * 1024)]) },
      /logo\.png is \d+ bytes; the catalog embeds it: at most 131072/,
    ],
    [
      'bad-contract',
      { envContract: { source: 'x', settings: [{ name: 'A' }, { name: 'A' }] } },
      /env-contract\.json: settings\.1\.name: A twice/,
    ],
    [
      'unread-contract',
      { envContract: { source: 'x', settings: [{ name: 'OPENCTI_URL' }, { name: 'NOT_READ' }] } },
      /documents NOT_READ, which the connector does not read/,
    ],
  ])('%s', async (slug, files, problem) => {
    const root = tempRoot();
    folder(root, slug, files);
    const loaded = await loadConnector(slug, root);
    expect('missing' in loaded ? loaded.missing : 'loaded').toMatch(problem);
    // Nothing is generated from it, and it is reported: `pnpm metadata` exits 1.
    const plan = await planGeneration({ root, docsOnly: true });
    expect(plan.missing.map((m) => m.slug)).toEqual([slug]);
    expect([...plan.files.keys()].filter((k) => k.includes(slug))).toEqual([]);
  });

  it("a folder's own logo.png is the catalog's, as it is; without one, one is drawn from the slug", async () => {
    const root = tempRoot();
    const own = png(200, 120);
    folder(root, 'with-logo', { logo: own });
    folder(root, 'without-logo');
    const [withLogo, withoutLogo] = await Promise.all([
      loadConnector('with-logo', root),
      loadConnector('without-logo', root),
    ]);
    if ('missing' in withLogo || 'missing' in withoutLogo) throw new Error('the folders should read');
    expect(catalogLogo(withLogo).equals(own)).toBe(true);
    expect(samePixels(catalogLogo(withoutLogo), drawLogo('without-logo'))).toBe(true);
    expect(samePixels(drawLogo('without-logo'), drawLogo('with-logo'))).toBe(false);
  });

  it('a directory without package.json is not a connector folder', () => {
    const root = tempRoot();
    mkdirSync(join(root, 'connectors', 'notes'));
    folder(root, 'real');
    expect(connectorSlugs(root)).toEqual(['real']);
  });
});

describe('conformanceProblems: a conformance case the suites could not drive', () => {
  const definition = defineEnrichment({
    name: 'Test',
    slug: 'test',
    scope: ['IPv4-Addr'],
    config: { TEST_KEY: env.secret({}), TEST_MAX_TLP: env.tlp('TLP:AMBER'), TEST_URL: env.url({}) },
    maxTlp: (c) => c.TEST_MAX_TLP,
    setup: () => null,
    enrich: async () => ({ message: 'done' }),
  });
  const valid = {
    vendor: 'Test',
    secrets: { TEST_KEY: 'k' },
    env: () => ({}),
    answer: () => undefined,
    maxTlpVariable: 'TEST_MAX_TLP',
    observable: { entity_type: 'IPv4-Addr', value: '203.0.113.1' },
    nextObservable: { entity_type: 'IPv4-Addr', value: '203.0.113.2' },
    endState: { author: 'identity--00000000-0000-5000-8000-000000000000', observable: { createdBy: null } },
  };

  it('none for a complete case', () => {
    expect(conformanceProblems(definition, valid)).toEqual([]);
  });

  it.each<[string, Record<string, unknown>, RegExp]>([
    ['no default export', {}, /no default export made with defineConformance/],
    ['a secret that is not secret', { secrets: { TEST_URL: 'u' } }, /secrets\.TEST_URL: not a secret setting/],
    ['an unknown secret', { secrets: { NOPE: 'u' } }, /secrets\.NOPE/],
    ['no max-TLP setting', { maxTlpVariable: undefined }, /maxTlpVariable/],
    ['an observable out of scope', { observable: { entity_type: 'Url', value: 'x' } }, /Url is not in the/],
    ['no next observable', { nextObservable: undefined }, /nextObservable/],
    ['no end state', { endState: undefined }, /endState\.author/],
    ['an enrichment end state without the observable', { endState: { author: 'identity--x' } }, /endState\.observable/],
    ['an unknown free-text setting', { freeTextSettings: ['NOPE'] }, /freeTextSettings: NOPE/],
    [
      'an unknown setting in a combination',
      { invalidCombinations: [{ label: 'l', variable: 'NOPE', set: {} }] },
      /invalidCombinations \(l\): NOPE/,
    ],
  ])('%s', (_label, change, problem) => {
    const value = Object.keys(change).length === 0 ? null : { ...valid, ...change };
    expect(conformanceProblems(definition, value).join('; ')).toMatch(problem);
  });
});
