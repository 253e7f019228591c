/**
 * Registration as pycti 7 does it, end to end: the five connectors' daemons register with the stand-in
 * platform, whose `RegisterConnectorInput` follows the version it reports (a field its version lacks fails
 * the registration, as on the real platform), and the testkit records what was registered.
 *
 * - version and slug (the connector's manifest `container_version` and `slug`) go to a platform whose
 *   schema declares them, which pycti 7 finds out through introspection; never to one that does not or
 *   will not say, never a version the platform would refuse;
 * - CONNECTOR_AUTO_UPDATE and CONNECTOR_ENRICHMENT_RESOLUTION are registered from 6.8.9, left out before.
 */
import { readFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import {
  type FakeVendor,
  type RunningConnector,
  startConnector,
  startTestPlatform,
  type TestPlatform,
} from '../../src/index.js';
import { CASES, type ConnectorCase, caseOf } from './cases.js';
import { startCaseVendor } from './harness.js';

const manifest = (c: ConnectorCase) =>
  JSON.parse(
    readFileSync(
      new URL(`../../../../connectors/${c.slug}/__metadata__/connector_manifest.json`, import.meta.url),
      'utf8',
    ),
  ) as { slug: string; container_version: string };

const platforms: TestPlatform[] = [];
const daemons: RunningConnector[] = [];
const vendors: FakeVendor[] = [];

afterAll(async () => {
  await Promise.all(daemons.map((d) => d.stop()));
  await Promise.all(vendors.map((v) => v.close()));
  await Promise.all(platforms.map((p) => p.close()));
});

async function platformOf(options: Parameters<typeof startTestPlatform>[0]): Promise<TestPlatform> {
  const platform = await startTestPlatform(options);
  platforms.push(platform);
  return platform;
}

/** Starts the case's daemon and returns what it registered, once it has. */
async function registration(platform: TestPlatform, c: ConnectorCase, env: Record<string, string> = {}) {
  // A healthy vendor: TeamT5 gets its token before it registers, as upstream does.
  const vendor = await startCaseVendor(c);
  vendors.push(vendor);
  const daemon = startConnector(c.definition, {
    OPENCTI_URL: platform.url,
    OPENCTI_TOKEN: platform.token,
    CONNECTOR_DURATION_PERIOD: 'PT1H',
    ...c.env(vendor.url),
    ...env,
  });
  daemons.push(daemon);
  const snapshot = await platform.waitFor(
    () => {
      const connector = platform.connector(daemon.connectorId);
      return connector !== undefined && connector.registrations.length > 0 ? connector : undefined;
    },
    { timeoutMs: 30_000, message: `${c.slug} to register` },
  );
  return { daemon, snapshot, input: snapshot.registrations[0]?.input as unknown as Record<string, unknown> };
}

describe('on a platform whose registration declares version and slug', () => {
  it.each(CASES)('$slug registers its manifest version and slug, stored on the connector', async (c) => {
    const platform = await platformOf({ version: '7.260901.0', connectorMetadata: true });
    const { input, snapshot } = await registration(platform, c);
    const { slug, container_version } = manifest(c);
    expect(container_version).toMatch(/^\d+\.\d+\.\d+$/);
    expect(input).toMatchObject({
      version: container_version,
      slug,
      auto_update: false,
      enrichment_resolution: 'none',
    });
    expect(snapshot).toMatchObject({ version: container_version, slug });
    expect(platform.requests('RegisterConnectorInputFields')).toHaveLength(1);
  });

  it('leaves out a version the platform would refuse, and says why', async () => {
    const platform = await platformOf({ version: '7.260901.0', connectorMetadata: true });
    const c = CASES[0] as ConnectorCase;
    const { input, daemon } = await registration(platform, {
      ...c,
      definition: { ...c.definition, version: 'latest' },
    });
    expect(input).not.toHaveProperty('version');
    expect(input.slug).toBe(c.slug);
    await daemon.waitForLog(/the connector version .+latest.+ is not semantic versioning/);
  });

  it('sends neither when the platform refuses introspection, and registers all the same', async () => {
    const platform = await platformOf({ version: '7.260901.0', connectorMetadata: true, introspection: false });
    const { input, daemon } = await registration(platform, CASES[0] as ConnectorCase);
    expect(input).not.toHaveProperty('version');
    expect(input).not.toHaveProperty('slug');
    await daemon.waitForLog('schema introspection refused');
  });
});

describe('on 7.260318.0, whose registration has no version nor slug', () => {
  it('registers without them (sending them would fail the registration)', async () => {
    const platform = await platformOf({ version: '7.260318.0' });
    const { input, daemon, snapshot } = await registration(platform, CASES[3] as ConnectorCase);
    expect(Object.keys(input)).not.toEqual(expect.arrayContaining(['version']));
    expect(input).not.toHaveProperty('slug');
    expect(snapshot).toMatchObject({ version: null, slug: null });
    await daemon.waitForLog('does not support version: it is not sent');
  });
});

describe('CONNECTOR_AUTO_UPDATE and CONNECTOR_ENRICHMENT_RESOLUTION', () => {
  const crowdsec = caseOf('crowdsec');
  const settings = { CONNECTOR_AUTO_UPDATE: 'true', CONNECTOR_ENRICHMENT_RESOLUTION: 'stix_bundle' };

  it('are registered with a 6.8.9 platform', async () => {
    const platform = await platformOf({ version: '6.8.9' });
    const { input, snapshot } = await registration(platform, crowdsec, settings);
    expect(input).toMatchObject({ auto_update: true, enrichment_resolution: 'stix_bundle' });
    expect(snapshot).toMatchObject({ auto_update: true, enrichment_resolution: 'stix_bundle' });
  });

  it('are left out, with a warning, by a connector registering with 6.8.8, which would refuse them', async () => {
    const platform = await platformOf({ version: '6.8.8' });
    const { input, daemon } = await registration(platform, crowdsec, settings);
    expect(input).not.toHaveProperty('auto_update');
    expect(input).not.toHaveProperty('enrichment_resolution');
    await daemon.waitForLog('does not support auto_update: it is not sent');
    await daemon.waitForLog('listening for enrichment requests');
  });

  it('refuse a resolution OpenCTI does not know, naming the setting', async () => {
    const platform = await platformOf({ version: '6.8.10' });
    const daemon = startConnector(crowdsec.definition, {
      OPENCTI_URL: platform.url,
      OPENCTI_TOKEN: platform.token,
      ...crowdsec.env('http://127.0.0.1:9'),
      CONNECTOR_ENRICHMENT_RESOLUTION: 'full',
    });
    expect(await daemon.exited).not.toBe(0);
    expect(daemon.logs.join('\n')).toMatch(/CONNECTOR_ENRICHMENT_RESOLUTION.*expected one of none, stix_bundle/);
    expect(platform.requests('RegisterConnector')).toEqual([]);
  });
});
