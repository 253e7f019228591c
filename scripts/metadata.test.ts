/**
 * The files derived from the connector folders (catalog manifests and config schemas, configuration docs,
 * compose files, tsconfig.json, the images workflow, the README's table) are committed; this test fails when
 * one differs from what `pnpm metadata` would write now, or when a connector folder cannot be read.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { type GenerationPlan, isCurrentImage, planGeneration } from './catalog.js';
import { connectorSlugs } from './folder.js';
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
  it('has a definition and catalog facts to generate from', () => {
    const missing = plan.missing.find((m) => m.slug === slug);
    expect(missing?.missing).toBeUndefined();
    expect(plan.connectors.map((c) => c.slug)).toContain(slug);
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

  it(`connectors/${slug}/__metadata__/logo.png is committed as generated: the same picture`, () => {
    const path = `connectors/${slug}/__metadata__/logo.png`;
    const generated = plan.images.get(path);
    expect(generated, `nothing generated for ${path}`).toBeDefined();
    const file = join(REPO_ROOT, path);
    const current = existsSync(file) ? readFileSync(file) : null;
    expect(isCurrentImage(current, generated ?? Buffer.alloc(0)), `${path} is out of date: run pnpm metadata`).toBe(
      true,
    );
  });
});

describe('files that list every connector', () => {
  it.each([
    'docs/configuration/README.md',
    'docker/docker-compose.yml',
    'docker/docker-compose.attach.yml',
    'tsconfig.json',
    '.github/workflows/images.yml',
    'README.md',
    'manifest.json',
  ])('%s is committed as generated (else run `pnpm metadata`)', (path) => {
    const generated = plan.files.get(path);
    expect(generated, `nothing generated for ${path}`).toBeDefined();
    for (const slug of slugs) expect(generated, `${path} does not name ${slug}`).toContain(slug);
    expect(committed(path), `${path} is out of date: run pnpm metadata`).toBe(generated);
  });
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
      logo: 'connectors/crowdsec/__metadata__/logo.png',
      container_image: 'ghcr.io/cti/connector-crowdsec',
      container_type: 'INTERNAL_ENRICHMENT',
      container_version: pkg.version,
      playbook_supported: true,
      verified: false,
      manager_supported: true,
      max_confidence_level: 80,
      source_code: 'https://github.com/cti/cti-connector-suite/tree/main/connectors/crowdsec',
      contact: 'https://github.com/cti/cti-connector-suite/issues',
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
    expect(schema.properties.CROWDSEC_MAX_TLP).toMatchObject({ default: 'amber' });
    expect(schema.properties.CROWDSEC_MAX_TLP?.writeOnly).toBeUndefined();
    expect(schema.properties.CROWDSEC_VERSION?.description).toMatch(/Also read from CROWDSEC_API_VERSION\.$/);
    expect(schema.properties.CONNECTOR_ID).toBeUndefined();
    expect(schema.properties.CONNECTOR_TYPE).toMatchObject({ const: 'INTERNAL_ENRICHMENT' });
    const writeOnly = Object.entries(schema.properties)
      .filter(([, p]) => p.writeOnly === true)
      .map(([k]) => k)
      .sort();
    expect(writeOnly).toEqual([
      'CROWDSEC_KEY',
      'LISTEN_PROTOCOL_API_SSL_KEY',
      'LISTEN_PROTOCOL_API_SSL_PASSPHRASE',
      'MQ_PASS',
      'MQ_USE_SSL_KEY',
      'MQ_USE_SSL_PASSPHRASE',
      'OPENCTI_CUSTOM_HEADERS',
      'OPENCTI_TOKEN',
    ]);
    expect(schema.required).toEqual(['OPENCTI_URL', 'OPENCTI_TOKEN', 'CROWDSEC_KEY']);
    expect(schema.required).not.toContain('CROWDSEC_MAX_TLP');
  });

  it('the configuration page lists every setting once, with its aliases, config.yml keys and secrets marked', () => {
    const page = plan.files.get('docs/configuration/crowdsec.md') ?? '';
    const schema = read('connectors/crowdsec/__metadata__/connector_config_schema.json') as {
      properties: Record<string, unknown>;
    };
    for (const name of Object.keys(schema.properties)) {
      expect(page.match(new RegExp(`^\\| \`${name}\``, 'gm')), name).toHaveLength(1);
    }
    expect(page).toMatch(
      /\| `CROWDSEC_VERSION` \(or `CROWDSEC_API_VERSION`\) +\| `crowdsec.api_version` \(or `crowdsec.version`\) +\| `v2` +\|/,
    );
    expect(page).toMatch(/\| `CROWDSEC_KEY` +\| `crowdsec.key` +\| \*\*required\*\*, secret +\|/);
    expect(page).toMatch(/\| `OPENCTI_URL` +\| `opencti.url` +\|/);
  });
});
