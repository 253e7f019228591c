import { randomUUID } from 'node:crypto';
import {
  assembleBundle,
  buildAuthor,
  buildIndicator,
  buildObservable,
  defineEnrichment,
  defineImport,
  env,
  runConnector,
  z,
} from '@cti/connector-sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestPlatform, type TestPlatform } from '../../../src/index.js';
import { type FakeVendor, startFakeVendor } from './helpers.js';

const KEY = 'cli-test-key-ABCDEFGH-123';

function lookup(vendorUrl: string) {
  return defineEnrichment({
    name: 'Lookup',
    slug: 'lookup',
    scope: ['IPv4-Addr', 'Domain-Name'],
    config: { LOOKUP_KEY: env.secret({ aliases: ['LOOKUP_API_KEY'] }), LOOKUP_MAX_TLP: env.tlp('TLP:AMBER') },
    maxTlp: (c) => c.LOOKUP_MAX_TLP,
    setup: ({ config, http }) =>
      http({ vendor: 'Lookup', baseURL: vendorUrl, auth: { type: 'bearer', token: config.LOOKUP_KEY } }),
    async enrich(entity, { client, now }) {
      await client.get(`/x/${entity.value}`);
      const author = buildAuthor('Lookup Org');
      const indicator = buildIndicator(
        { pattern: `[domain-name:value = '${entity.value}']` },
        { author, now: now().toISOString() },
      );
      return { bundle: assembleBundle({ objects: [indicator], author }) };
    },
  });
}

const feed = defineImport({
  name: 'Feed',
  slug: 'feed',
  config: {},
  state: z.object({ cursor: z.number() }),
  setup: () => null,
  async *run({ state }) {
    const start = state?.cursor ?? 0;
    for (let i = start; i < start + 2; i++) {
      const author = buildAuthor('Feed Org');
      const ip = buildObservable('ipv4-addr', { value: `10.9.9.${i}` }, { author });
      yield { bundle: assembleBundle({ objects: [ip], author }), state: { cursor: i + 1 } };
    }
  },
});

let vendor: FakeVendor;
beforeAll(async () => {
  vendor = await startFakeVendor({
    'GET *': (req) => ({ status: req.headers.authorization === `Bearer ${KEY}` ? 200 : 403, body: {} }),
  });
});
afterAll(async () => {
  await vendor?.close();
});

async function run(definition: Parameters<typeof runConnector>[0], argv: string[], envVars: Record<string, string>) {
  const out: string[] = [];
  const err: string[] = [];
  const logs: string[] = [];
  const code = await runConnector(definition, {
    argv,
    env: envVars,
    dotenvPath: false,
    handleSignals: false,
    stdout: (t) => void out.push(t),
    stderr: (t) => void err.push(t),
    logDestination: { write: (l: string) => void logs.push(l) },
  });
  return { code, stdout: out.join(''), stderr: err.join(''), logs: logs.join('') };
}

describe('the connector command line', () => {
  it('enrich <value> prints the bundle without OpenCTI or RabbitMQ', async () => {
    const r = await run(lookup(vendor.url), ['enrich', 'example.com'], {
      LOOKUP_API_KEY: KEY,
      CONNECTOR_LOG_LEVEL: 'debug',
    });
    expect(r.code).toBe(0);
    const bundle = JSON.parse(r.stdout) as { type: string; objects: Array<{ type: string; pattern?: string }> };
    expect(bundle.type).toBe('bundle');
    expect(bundle.objects.find((o) => o.type === 'indicator')?.pattern).toBe("[domain-name:value = 'example.com']");
    expect(vendor.requests.at(-1)?.url).toBe('/x/example.com');
    expect(r.logs).not.toContain(KEY);
  });

  it('enrich refuses an entity above the max TLP without calling the vendor', async () => {
    const before = vendor.requests.length;
    const r = await run(lookup(vendor.url), ['enrich', '1.2.3.4', '--tlp', 'TLP:RED'], { LOOKUP_KEY: KEY });
    expect(r.code).toBe(1);
    expect(r.logs).toMatch(/TLP:RED/);
    expect(vendor.requests.length).toBe(before);
  });

  it('enrich reports a vendor failure with exit 1 and no secret', async () => {
    const r = await run(lookup(vendor.url), ['enrich', '1.2.3.4'], { LOOKUP_KEY: 'wrong-key-XYZ-9876' });
    expect(r.code).toBe(1);
    expect(r.logs).toMatch(/Lookup.*403/);
    expect(r.logs + r.stdout + r.stderr).not.toContain('wrong-key-XYZ-9876');
  });

  it('import --dry-run prints each bundle as one NDJSON line and saves no state', async () => {
    const r = await run(feed, ['import', '--dry-run', '--state', '{"cursor": 5}'], {});
    expect(r.code).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines).toHaveLength(2);
    const values = lines
      .flatMap((l) => (JSON.parse(l) as { objects: Array<{ type: string; value?: string }> }).objects)
      .filter((o) => o.type === 'ipv4-addr')
      .map((o) => o.value);
    expect(values).toEqual(['10.9.9.5', '10.9.9.6']);
  });

  it('--help lists the settings with defaults, aliases, secret marks and config.yml keys', async () => {
    const r = await run(lookup(vendor.url), ['--help'], {});
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/enrich <value>/);
    expect(r.stdout).toMatch(/LOOKUP_KEY \(secret; also LOOKUP_API_KEY; config.yml lookup.key\)/);
    expect(r.stdout).toMatch(/LOOKUP_MAX_TLP \(default amber; config.yml lookup.max_tlp\)/);
    expect(r.stdout).toMatch(/OPENCTI_URL/);
  });

  it('a bad configuration exits 1 before any network call, one line per problem, no secret', async () => {
    const before = vendor.requests.length;
    const r = await run(lookup(vendor.url), [], {
      OPENCTI_URL: 'not a url',
      OPENCTI_TOKEN: 'some-opencti-token-1234',
      LOOKUP_KEY: KEY,
      LOOKUP_MAX_TLP: 'TLP:PURPLE',
      CONNECTOR_AUTO: 'perhaps',
    });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/- OPENCTI_URL: is not a valid URL \(expected an absolute URL/);
    expect(r.stderr).not.toMatch(/not a url|perhaps|PURPLE/);
    expect(r.stderr).toMatch(/- CONNECTOR_ID: is required/);
    expect(r.stderr).toMatch(/- LOOKUP_MAX_TLP: expected a TLP level/);
    expect(r.stderr).toMatch(/- CONNECTOR_AUTO: expected true or false/);
    expect(r.stderr).not.toContain('some-opencti-token-1234');
    expect(r.stderr).not.toContain(KEY);
    expect(vendor.requests.length).toBe(before);
  });

  it('CONNECTOR_TYPE other than the connector kind is a configuration error', async () => {
    const r = await run(feed, [], {
      OPENCTI_URL: 'http://127.0.0.1:9',
      OPENCTI_TOKEN: 't0k3n-abcdef',
      CONNECTOR_ID: randomUUID(),
      CONNECTOR_TYPE: 'INTERNAL_ENRICHMENT',
      CONNECTOR_DURATION_PERIOD: 'PT1H',
    });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/CONNECTOR_TYPE: this connector is EXTERNAL_IMPORT/);
  });
});

describe('start-up against the platform', () => {
  let platform: TestPlatform;
  beforeAll(async () => {
    platform = await startTestPlatform();
  });
  afterAll(async () => {
    await platform?.close();
  });

  it('stops with a clear message when OpenCTI rejects the token', async () => {
    const r = await run(lookup(vendor.url), [], {
      OPENCTI_URL: platform.url,
      OPENCTI_TOKEN: 'not-the-platform-token-42',
      CONNECTOR_ID: randomUUID(),
      LOOKUP_KEY: KEY,
    });
    expect(r.code).toBe(1);
    expect(r.logs).toMatch(/OpenCTI rejected the token \(OPENCTI_TOKEN\)/);
    expect(r.logs).not.toContain('not-the-platform-token-42');
  });
});
