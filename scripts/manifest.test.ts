/**
 * The catalog as Filigran's tooling and OpenCTI read it (reference/catalog/README.md): each connector folder's
 * committed catalog files make a manifest fragment that validates against Filigran's JSON schema; the catalog
 * file, manifest.json, loads as the platform loads a custom catalog and lists every connector folder; and no
 * slug or image of the suite is one of upstream's other connectors'.
 */
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadCatalog, SOLUTION_CATEGORIES, USE_CASES } from '@cti/connector-testkit';
import { Ajv2020 } from 'ajv/dist/2020.js';
import * as formatsModule from 'ajv-formats';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { type LoadedConnector, requireConnectors, upstreamCatalog } from './folder.js';
import { decodePng } from './logo.js';
import { fragmentOfFolder, MANIFEST_KEYS, minVersion, type SuiteCatalog } from './manifest.js';
import { REPO_ROOT } from './paths.js';

const addFormats = ((formatsModule as { default?: unknown }).default ?? formatsModule) as (ajv: Ajv2020) => Ajv2020;
const filigranSchema = JSON.parse(
  readFileSync(join(REPO_ROOT, 'reference', 'catalog', 'connector_manifest_schema.json'), 'utf8'),
) as { properties: Record<string, { items?: { enum?: string[] } }> };
const validateFragment = addFormats(new Ajv2020({ allErrors: true })).compile(filigranSchema);
const catalogText = readFileSync(join(REPO_ROOT, 'manifest.json'), 'utf8');

let connectors: LoadedConnector[];
beforeAll(async () => {
  connectors = await requireConnectors();
});

describe('each connector folder, as a manifest fragment checked against Filigran’s schema', () => {
  it('has a manifest with every key of upstream’s, in its order', () => {
    for (const c of connectors) {
      const manifest = JSON.parse(readFileSync(join(c.dir, '__metadata__', 'connector_manifest.json'), 'utf8'));
      expect(Object.keys(manifest), c.slug).toEqual([...MANIFEST_KEYS]);
    }
  });

  it('makes a fragment that validates, with its logo, config schema and version embedded', () => {
    for (const c of connectors) {
      const fragment = fragmentOfFolder(c.dir, c.pkg.version);
      const valid = validateFragment(fragment);
      expect(validateFragment.errors ?? [], c.slug).toEqual([]);
      expect(valid).toBe(true);
      expect(fragment).toMatchObject({ id: `${c.slug}-${c.pkg.version}`, min_version: '6.8.0', platform: 'OpenCTI' });
      const logo = decodePng(Buffer.from(fragment.logo.replace(/^data:image\/png;base64,/, ''), 'base64'));
      expect(logo.width, c.slug).toBeLessThanOrEqual(256);
    }
  });

  it('refuses a manifest without source_code, naming it, where upstream’s builder stops on a KeyError', () => {
    const c = connectors[0] as LoadedConnector;
    const copy = mkdtempSync(join(tmpdir(), 'cti-fragment-'));
    cpSync(join(c.dir, '__metadata__'), join(copy, '__metadata__'), { recursive: true });
    const file = join(copy, '__metadata__', 'connector_manifest.json');
    const { source_code: _dropped, ...manifest } = JSON.parse(readFileSync(file, 'utf8'));
    writeFileSync(file, JSON.stringify(manifest));
    expect(() => fragmentOfFolder(copy, '1.0.0')).toThrow(/connector_manifest\.json has no source_code$/);
    rmSync(copy, { recursive: true, force: true });
  });

  it('lists the use cases and categories of Filigran’s schema, which catalog.ts is checked against', () => {
    expect([...USE_CASES]).toEqual(filigranSchema.properties.use_cases?.items?.enum);
    expect([...SOLUTION_CATEGORIES]).toEqual(filigranSchema.properties.solution_categories?.items?.enum);
  });
});

describe('manifest.json, the catalog an admin adds to OpenCTI', () => {
  const catalog = JSON.parse(catalogText) as SuiteCatalog;

  it('loads as the platform loads a custom catalog: every deployable contract’s schema compiles', () => {
    expect(() => loadCatalog(catalogText)).not.toThrow();
    expect(catalog.contracts.every((c) => c.manager_supported)).toBe(true);
  });

  it('lists every connector folder once, with its logo as a data URL and its config schema', () => {
    expect(catalog.contracts.map((c) => c.slug)).toEqual(connectors.map((c) => c.slug));
    for (const contract of catalog.contracts) {
      expect(contract.logo).toMatch(/^data:image\/png;base64,[A-Za-z0-9+/]+=*$/);
      expect(contract.config_schema.properties, contract.slug).toBeDefined();
    }
    expect(catalog.version).toBe(connectors[0]?.pkg.version);
  });

  it('has slugs and images of its own: unique, no image of upstream’s, no slug of an upstream connector of another kind', () => {
    const slugs = catalog.contracts.map((c) => c.slug);
    const images = catalog.contracts.map((c) => c.container_image);
    expect(new Set(slugs).size).toBe(slugs.length);
    expect(new Set(images).size).toBe(images.length);
    const upstream = upstreamCatalog();
    expect(upstream.length).toBeGreaterThan(250);
    for (const contract of catalog.contracts) {
      expect(upstream.filter((u) => u.container_image === contract.container_image)).toEqual([]);
      const sameSlug = upstream.filter((u) => u.slug === contract.slug);
      expect(
        sameSlug.filter((u) => u.container_type !== contract.container_type),
        contract.slug,
      ).toEqual([]);
    }
  });
});

describe('minVersion, the fragment’s min_version from a support_version constraint', () => {
  it('takes the first x.y[.z], whatever surrounds it', () => {
    expect(minVersion('>=6.8.0')).toBe('6.8.0');
    expect(minVersion('>= 6.5.1')).toBe('6.5.1');
    expect(minVersion('>=7.260601')).toBe('7.260601');
    expect(minVersion('rolling')).toBe('');
    const version = fc.tuple(fc.nat(99), fc.nat(999_999), fc.nat(99)).map((p) => p.join('.'));
    fc.assert(
      fc.property(
        fc.constantFrom('', '>=', '>= ', '^', '~', '=='),
        version,
        fc.constantFrom('', ' ', ',<8'),
        (op, v, tail) => {
          const out = minVersion(`${op}${v}${tail}`);
          expect(out).toBe(v);
          expect(out).toMatch(/^[0-9]+\.[0-9]{1,6}\.?[0-9]*$/);
        },
      ),
    );
  });
});
