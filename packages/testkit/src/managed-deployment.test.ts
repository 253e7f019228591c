import { describe, expect, it } from 'vitest';
import {
  type CatalogContract,
  CatalogRejectedError,
  deploymentForm,
  loadCatalog,
  managedConnector,
  storedConfiguration,
} from './managed-deployment.js';

const contract = (properties: Record<string, Record<string, unknown>>, required: string[] = []): CatalogContract => ({
  title: 'Vendor',
  slug: 'vendor',
  manager_supported: true,
  container_image: 'ghcr.io/acme/connector-vendor',
  container_version: '1.2.3',
  container_type: 'INTERNAL_ENRICHMENT',
  config_schema: { type: 'object', properties, required, additionalProperties: true } as never,
});

const catalogOf = (...contracts: CatalogContract[]) =>
  JSON.stringify({ id: 'c', name: 'c', description: '', contracts });

describe('loadCatalog, as the platform loads a custom catalog', () => {
  it('accepts standard keywords and the formats it knows', () => {
    const ok = contract({
      KEY: { type: 'string', format: 'password', writeOnly: true },
      TYPE: { type: 'string', const: 'INTERNAL_ENRICHMENT', default: 'INTERNAL_ENRICHMENT' },
      URL: { type: 'string', format: 'uri', description: 'd' },
    });
    expect(loadCatalog(catalogOf(ok)).contracts).toHaveLength(1);
  });

  it.each([
    ['an x- keyword (strict mode)', { A: { type: 'string', 'x-aliases': ['B'] } }, /unknown keyword: "x-aliases"/],
    ['an unknown format', { A: { type: 'string', format: 'tlp' } }, /unknown format "tlp"/],
  ])('rejects a deployable contract with %s', (_label, properties, message) => {
    expect(() => loadCatalog(catalogOf(contract(properties)))).toThrow(CatalogRejectedError);
    expect(() => loadCatalog(catalogOf(contract(properties)))).toThrow(message);
  });

  it('does not check a contract that is not deployable, and requires an image of one that is', () => {
    const listed = { ...contract({ A: { type: 'string', 'x-aliases': ['B'] } }), manager_supported: false };
    expect(() => loadCatalog(catalogOf(listed))).not.toThrow();
    const imageless = { ...contract({}), container_image: '' };
    expect(() => loadCatalog(catalogOf(imageless))).toThrow(/no container_image/);
  });
});

describe('storedConfiguration and managedConnector', () => {
  const vendor = contract(
    {
      OPENCTI_URL: { type: 'string' },
      OPENCTI_TOKEN: { type: 'string', format: 'password' },
      CONNECTOR_TYPE: { type: 'string', const: 'INTERNAL_ENRICHMENT' },
      VENDOR_KEY: { type: 'string', format: 'password' },
      VENDOR_SCOPE: { type: 'array', items: { type: 'string' }, default: ['IPv4-Addr', 'IPv6-Addr'] },
      VENDOR_ON: { type: 'boolean', default: false },
      VENDOR_LIMIT: { type: 'integer', default: 30 },
      VENDOR_TLP: { type: 'string', enum: ['clear', 'amber'], default: 'amber' },
      VENDOR_NOTE: { type: 'string' },
    },
    ['OPENCTI_URL', 'OPENCTI_TOKEN', 'VENDOR_KEY'],
  );

  it('offers every property but the four the platform sets', () => {
    expect(deploymentForm(vendor)).toEqual([
      'VENDOR_KEY',
      'VENDOR_SCOPE',
      'VENDOR_ON',
      'VENDOR_LIMIT',
      'VENDOR_TLP',
      'VENDOR_NOTE',
    ]);
  });

  it('stores what was typed and the defaults as text, leaves out what has neither', () => {
    expect(storedConfiguration(vendor, { VENDOR_KEY: 'k', VENDOR_LIMIT: '12abc' })).toEqual({
      VENDOR_KEY: 'k',
      VENDOR_SCOPE: 'IPv4-Addr,IPv6-Addr',
      VENDOR_ON: 'false',
      VENDOR_LIMIT: '12',
      VENDOR_TLP: 'amber',
    });
  });

  it('refuses what the platform refuses: a missing required field, a value outside the enum, a bad boolean', () => {
    expect(() => storedConfiguration(vendor, {})).toThrow(/missing required field "VENDOR_KEY"/);
    expect(() => storedConfiguration(vendor, { VENDOR_KEY: 'k', VENDOR_TLP: 'TLP:AMBER' })).toThrow(/VENDOR_TLP/);
    expect(() => storedConfiguration(vendor, { VENDOR_KEY: 'k', VENDOR_ON: 'yes' })).toThrow(/VENDOR_ON/);
    expect(() => storedConfiguration(vendor, { OPENCTI_URL: 'http://x' })).toThrow(/not a field/);
  });

  it('gives the container the configuration and what the platform and the manager add', () => {
    const deployed = managedConnector(
      vendor,
      { VENDOR_KEY: 'k' },
      { url: 'http://opencti:8080', token: 't', name: 'Vendor EU', connectorId: 'id-1' },
    );
    expect(deployed.image).toBe('ghcr.io/acme/connector-vendor:1.2.3');
    expect(deployed.env).toMatchObject({
      VENDOR_KEY: 'k',
      CONNECTOR_ID: 'id-1',
      CONNECTOR_NAME: 'Vendor EU',
      CONNECTOR_TYPE: 'INTERNAL_ENRICHMENT',
      OPENCTI_TOKEN: 't',
      OPENCTI_URL: 'http://opencti:8080',
      HTTPS_PROXY_REJECT_UNAUTHORIZED: 'false',
    });
    expect(deployed.env.OPENCTI_CONFIG_HASH).toMatch(/^[0-9a-f]{16}$/);
  });
});
