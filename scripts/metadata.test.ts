/**
 * The generated files (catalog manifests and config schemas, configuration docs, the seeds' env names)
 * are committed; this test fails when one differs from what `pnpm metadata` would write now, or when a
 * connector folder has no definition to generate from.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { CATALOG_FACTS, connectorSlugs, type GenerationPlan, loadConnector, planGeneration } from './catalog.js';
import { REPO_ROOT } from './paths.js';

const slugs = connectorSlugs();
let plan: GenerationPlan;

beforeAll(async () => {
  plan = await planGeneration();
});

function committed(path: string): string | null {
  const file = join(REPO_ROOT, path);
  return existsSync(file) ? readFileSync(file, 'utf8') : null;
}

describe.each(slugs)('%s', (slug) => {
  it('has a definition to generate from (src/index.ts exports defineEnrichment/defineImport)', () => {
    const missing = plan.missing.find((m) => m.slug === slug);
    expect(missing?.missing).toBeUndefined();
    expect(Object.keys(CATALOG_FACTS)).toContain(slug);
  });

  it.each([
    `connectors/${slug}/__metadata__/connector_manifest.json`,
    `connectors/${slug}/__metadata__/connector_config_schema.json`,
    `docs/configuration/${slug}.md`,
  ])('%s is committed as generated (else run `pnpm metadata`)', (path) => {
    const generated = plan.files.get(path);
    expect(generated, `nothing generated for ${path}`).toBeDefined();
    const current = committed(path);
    expect(current, `${path} is missing: run pnpm metadata`).not.toBeNull();
    expect(current, `${path} is out of date: run pnpm metadata`).toBe(generated);
  });
});

describe('shared generated files', () => {
  it.each(['docs/configuration/README.md', 'docker/test/seed-settings.json'])(
    '%s is committed as generated (else run `pnpm metadata`)',
    (path) => {
      const generated = plan.files.get(path);
      // seed-settings.json is generated only where ../shared/seeds exists.
      if (generated === undefined && path.endsWith('seed-settings.json')) return;
      expect(committed(path), `${path} is out of date: run pnpm metadata`).toBe(generated);
    },
  );
});

describe('what the generator writes (CrowdSec, whose facts are known independently)', () => {
  const read = (path: string) => JSON.parse(plan.files.get(path) ?? 'null') as Record<string, unknown>;

  it('the manifest: image, type, version, and playbooks because CrowdSec answers them', () => {
    const manifest = read('connectors/crowdsec/__metadata__/connector_manifest.json');
    const pkg = JSON.parse(readFileSync(join(REPO_ROOT, 'connectors/crowdsec/package.json'), 'utf8')) as {
      version: string;
    };
    expect(manifest).toMatchObject({
      title: 'CrowdSec',
      slug: 'crowdsec',
      container_image: 'cti/connector-crowdsec',
      container_type: 'INTERNAL_ENRICHMENT',
      container_version: pkg.version,
      playbook_supported: true,
      verified: false,
      manager_supported: false,
      max_confidence_level: 80,
    });
    expect(Object.keys(manifest)).toEqual(
      expect.arrayContaining(['description', 'short_description', 'use_cases', 'solution_categories', 'license_type']),
    );
  });

  it('the config schema: env names as properties, secrets writeOnly passwords, what is required', () => {
    const schema = read('connectors/crowdsec/__metadata__/connector_config_schema.json') as {
      properties: Record<string, Record<string, unknown>>;
      required: string[];
    };
    expect(schema.properties.CROWDSEC_KEY).toMatchObject({ writeOnly: true, format: 'password', type: 'string' });
    expect(schema.properties.OPENCTI_TOKEN).toMatchObject({ writeOnly: true, format: 'password' });
    expect(schema.properties.CROWDSEC_MAX_TLP).toMatchObject({ default: 'TLP:AMBER' });
    expect(schema.properties.CROWDSEC_MAX_TLP?.writeOnly).toBeUndefined();
    expect(schema.properties.CROWDSEC_VERSION?.['x-aliases']).toEqual(['CROWDSEC_API_VERSION']);
    const writeOnly = Object.entries(schema.properties)
      .filter(([, p]) => p.writeOnly === true)
      .map(([k]) => k)
      .sort();
    expect(writeOnly).toEqual([
      'CROWDSEC_KEY',
      'MQ_PASS',
      'MQ_USE_SSL_KEY',
      'MQ_USE_SSL_PASSPHRASE',
      'OPENCTI_CUSTOM_HEADERS',
      'OPENCTI_TOKEN',
    ]);
    expect(schema.required).toEqual(expect.arrayContaining(['OPENCTI_URL', 'OPENCTI_TOKEN', 'CROWDSEC_KEY']));
    expect(schema.required).not.toContain('CROWDSEC_MAX_TLP');
  });

  it('the configuration page lists every setting once, with its aliases and secrets marked', () => {
    const page = plan.files.get('docs/configuration/crowdsec.md') ?? '';
    const schema = read('connectors/crowdsec/__metadata__/connector_config_schema.json') as {
      properties: Record<string, unknown>;
    };
    for (const name of Object.keys(schema.properties)) {
      expect(page.match(new RegExp(`^\\| \`${name}\``, 'gm')), name).toHaveLength(1);
    }
    expect(page).toMatch(/\| `CROWDSEC_VERSION` \(or `CROWDSEC_API_VERSION`\) +\| `v2` +\|/);
    expect(page).toMatch(/\| `CROWDSEC_KEY` +\| \*\*required\*\*, secret +\|/);
  });
});

describe('connector folders without a definition', () => {
  it('are reported as missing, whatever else the folder holds', async () => {
    const root = mkdtempSync(join(tmpdir(), 'cti-metadata-'));
    const folder = (slug: string, index: string | null) => {
      mkdirSync(join(root, 'connectors', slug, 'src'), { recursive: true });
      writeFileSync(join(root, 'connectors', slug, 'package.json'), JSON.stringify({ name: slug, version: '1.0.0' }));
      if (index !== null) writeFileSync(join(root, 'connectors', slug, 'src', 'index.ts'), index);
    };
    folder('placeholder', '// placeholder until the connector lands\nexport {};\n');
    folder('no-index', null);
    folder('not-a-definition', "export default { name: 'x' };\n");
    folder('wrong-slug', "export default { kind: 'import', slug: 'other', name: 'X', config: {} };\n");
    mkdirSync(join(root, 'connectors', 'not-a-package'));

    expect(connectorSlugs(root)).toEqual(['no-index', 'not-a-definition', 'placeholder', 'wrong-slug']);
    const results = await Promise.all(connectorSlugs(root).map((s) => loadConnector(s, root)));
    expect(results.map((r) => ('missing' in r ? r.missing : 'loaded'))).toEqual([
      expect.stringMatching(/src\/index\.ts does not exist/),
      expect.stringMatching(/no default export made with defineEnrichment or defineImport/),
      expect.stringMatching(/placeholder/),
      expect.stringMatching(/says slug "other"/),
    ]);
    const generation = await planGeneration({ root });
    expect(generation.missing).toHaveLength(4);
    expect([...generation.files.keys()].filter((k) => k.startsWith('connectors/'))).toEqual([]);
  });
});
