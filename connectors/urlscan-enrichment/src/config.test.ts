import { ConfigError, loadConfig, MAX_DURATION_SECONDS, shapeOf } from '@cti/connector-sdk';
import { runCli } from '@cti/connector-testkit';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import urlscan from './index.js';

// The full shape the runtime loads: the base settings with this connector's spread over them.
const load = (env: Record<string, string>) => loadConfig(shapeOf(urlscan), { env, dotenvPath: false });
const seed = { OPENCTI_API_URL: 'http://opencti:8080', OPENCTI_API_KEY: 'opencti-token-123' };

function configError(env: Record<string, string>): ConfigError {
  try {
    load(env);
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error('no ConfigError');
}

describe('URLScan settings', () => {
  it('starts from the seed variables alone, with the seed defaults (the scope: every type either Python connector takes)', () => {
    const config = load(seed);
    expect(config.URLSCAN_API_KEY).toBeUndefined();
    expect(config).toMatchObject({
      OPENCTI_URL: 'http://opencti:8080',
      OPENCTI_TOKEN: 'opencti-token-123',
      CONNECTOR_ID: '5ba2e62d-4323-4c0e-a06a-bbb0f9772d3a',
      CONNECTOR_NAME: 'URLScan.io',
      // The seed's two types and the official connector's three others (issue 16): one default for both.
      CONNECTOR_SCOPE: ['Domain-Name', 'Hostname', 'IPv4-Addr', 'IPv6-Addr', 'Url'],
      CONNECTOR_AUTO: true,
      CONNECTOR_CONFIDENCE_LEVEL: 60,
      CONNECTOR_UPDATE_EXISTING_DATA: true,
      ONLY_ACTIVE_URLS: false,
      URLSCAN_API_URL: 'https://urlscan.io',
      URLSCAN_MAX_TLP: 'TLP:AMBER',
      URLSCAN_RATE_LIMIT_PER_HOUR: 100,
      URLSCAN_SEARCH_FILTERED_BY_DATE: '>now-1y',
      URLSCAN_SUBMIT_SCAN: false,
      URLSCAN_VISIBILITY: 'unlisted',
      URLSCAN_CREATE_INDICATOR: true,
    });
  });

  it('reads the seed names and the standard names alike; the standard one wins when both are set', () => {
    const seedNames = load({
      ...seed,
      CONFIDENCE_LEVEL: '75',
      UPDATE_EXISTING_DATA: 'false',
      CONNECTOR_AUTO: 'false',
      ONLY_ACTIVE_URLS: 'true',
      CONNECTOR_SCOPE: 'Url',
    });
    expect(seedNames).toMatchObject({
      CONNECTOR_CONFIDENCE_LEVEL: 75,
      CONNECTOR_UPDATE_EXISTING_DATA: false,
      CONNECTOR_AUTO: false,
      ONLY_ACTIVE_URLS: true,
      CONNECTOR_SCOPE: ['Url'],
    });
    const standard = load({
      OPENCTI_URL: 'https://cti.example',
      OPENCTI_TOKEN: 'standard-token',
      ...seed,
      CONNECTOR_CONFIDENCE_LEVEL: '90',
      CONFIDENCE_LEVEL: '10',
    });
    expect(standard).toMatchObject({
      OPENCTI_URL: 'https://cti.example',
      OPENCTI_TOKEN: 'standard-token',
      CONNECTOR_CONFIDENCE_LEVEL: 90,
    });
  });

  it("accepts the official connector's URLSCAN_ENRICHMENT_* names", () => {
    expect(
      load({
        ...seed,
        URLSCAN_ENRICHMENT_API_KEY: 'urlscan-key-123',
        URLSCAN_ENRICHMENT_MAX_TLP: 'green',
        URLSCAN_ENRICHMENT_VISIBILITY: 'Private',
        URLSCAN_ENRICHMENT_SEARCH_FILTERED_BY_DATE: '>now-1d',
        URLSCAN_ENRICHMENT_CREATE_INDICATOR: 'false',
      }),
    ).toMatchObject({
      URLSCAN_API_KEY: 'urlscan-key-123',
      URLSCAN_MAX_TLP: 'TLP:GREEN',
      URLSCAN_VISIBILITY: 'private',
      URLSCAN_SEARCH_FILTERED_BY_DATE: '>now-1d',
      URLSCAN_CREATE_INDICATOR: false,
    });
  });

  it('takes a date filter in urlscan syntax, or none', () => {
    for (const ok of ['>now-30d', '>=2024-01-01', '[2024-01-01 TO now]', '<now-1h']) {
      expect(load({ ...seed, URLSCAN_SEARCH_FILTERED_BY_DATE: ok }).URLSCAN_SEARCH_FILTERED_BY_DATE).toBe(ok);
    }
    expect(load({ ...seed, URLSCAN_SEARCH_FILTERED_BY_DATE: 'None' }).URLSCAN_SEARCH_FILTERED_BY_DATE).toBeNull();
    expect(configError({ ...seed, URLSCAN_SEARCH_FILTERED_BY_DATE: '>now-1y OR *' }).issues).toEqual([
      expect.objectContaining({ variable: 'URLSCAN_SEARCH_FILTERED_BY_DATE' }),
    ]);
  });

  it.each([
    ['>=2024-02-30', /2024-02-30 is not a calendar date/],
    ['>=2024-13-01', /2024-13-01 is not a calendar date/],
    ['[0000-01-01 TO now]', /0000-01-01 is not a calendar date/],
    ['>now-101y', /now-101y reaches further than 100 years/],
    ['>now-99999999999999999999d', /reaches further than 100 years/],
    ['[a:*) TO (b]', /expected a urlscan date filter/],
    ['>now-1y%20OR%20*', /expected a urlscan date filter/],
  ])('refuses the date filter %s, naming URLSCAN_SEARCH_FILTERED_BY_DATE', (filter, why) => {
    expect(configError({ ...seed, URLSCAN_SEARCH_FILTERED_BY_DATE: filter }).issues).toEqual([
      { variable: 'URLSCAN_SEARCH_FILTERED_BY_DATE', message: expect.stringMatching(why) },
    ]);
  });

  it('takes every filter within 100 years and on calendar dates, open ends included', () => {
    const unit = fc.constantFrom(
      ['s', 1],
      ['m', 60],
      ['h', 3600],
      ['d', 86_400],
      ['w', 604_800],
      ['M', 2_592_000],
      ['y', 31_536_000],
    );
    const now = fc
      .tuple(fc.constantFrom('-', '+'), unit, fc.double({ min: 0, max: 1, noNaN: true }))
      .map(
        ([sign, [u, seconds], share]) =>
          `now${sign}${Math.floor((share * MAX_DURATION_SECONDS) / (seconds as number))}${u}`,
      );
    const day = fc
      .date({ min: new Date('0001-01-01T00:00:00Z'), max: new Date('9999-12-31T00:00:00Z'), noInvalidDate: true })
      .map((d) => d.toISOString().slice(0, 10));
    const end = fc.oneof(now, day, fc.constant('now'));
    const filter = fc.oneof(
      fc.tuple(fc.constantFrom('>', '>=', '<', '<='), end).map(([op, e]) => `${op}${e}`),
      fc.tuple(fc.oneof(end, fc.constant('*')), fc.oneof(end, fc.constant('*'))).map(([a, b]) => `[${a} TO ${b}]`),
    );
    fc.assert(
      fc.property(filter, (f) => {
        expect(load({ ...seed, URLSCAN_SEARCH_FILTERED_BY_DATE: f }).URLSCAN_SEARCH_FILTERED_BY_DATE).toBe(f);
      }),
    );
  });

  it('refuses URLSCAN_RATE_LIMIT_PER_HOUR past a million and in any other notation than digits', () => {
    for (const bad of ['1000001', '1e3', '0x64', '100.0']) {
      expect(configError({ ...seed, URLSCAN_RATE_LIMIT_PER_HOUR: bad }).issues).toEqual([
        expect.objectContaining({ variable: 'URLSCAN_RATE_LIMIT_PER_HOUR' }),
      ]);
    }
  });

  it('names each bad variable, the seed name when that is the one set, and never echoes a secret', () => {
    const err = configError({
      OPENCTI_API_URL: 'opencti:8080',
      CONFIDENCE_LEVEL: '160',
      URLSCAN_VISIBILITY: 'everyone',
      URLSCAN_RATE_LIMIT_PER_HOUR: '0',
      URLSCAN_MAX_WAIT_SECONDS: '3600',
    });
    expect(err.issues.map((i) => i.variable).sort()).toEqual([
      'CONFIDENCE_LEVEL',
      'OPENCTI_API_URL',
      'OPENCTI_TOKEN',
      'URLSCAN_MAX_WAIT_SECONDS',
      'URLSCAN_RATE_LIMIT_PER_HOUR',
      'URLSCAN_VISIBILITY',
    ]);
    expect(err.message).toContain('OPENCTI_TOKEN: is required (or set OPENCTI_API_KEY)');
  });

  it('refuses to start with URLSCAN_SUBMIT_SCAN=true and no key (urlscan requires one to scan)', async () => {
    const run = await runCli(urlscan, ['enrich', 'example.com'], { URLSCAN_SUBMIT_SCAN: 'true' });
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('URLSCAN_SUBMIT_SCAN: submitting scans needs an API key: set URLSCAN_API_KEY');
  });
});
