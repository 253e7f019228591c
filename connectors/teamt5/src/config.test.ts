import { ConfigError, loadConfig } from '@cti/connector-sdk';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { resolveAuth, type Teamt5Config, teamt5Config } from './config.js';
import { cursorsFrom, formatStateDate, LATEST_UNIX_SECONDS, parseStateDate } from './state.js';

const load = (env: Record<string, string>) =>
  loadConfig(teamt5Config, { env, dotenvPath: false }) as unknown as Teamt5Config;

function configError(run: () => unknown): ConfigError {
  try {
    run();
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error('expected a ConfigError');
}

describe('TeamT5 settings', () => {
  it('has the seed defaults', () => {
    expect(load({})).toMatchObject({
      CONNECTOR_NAME: 'TeamT5 External Import Connector',
      CONNECTOR_DURATION_PERIOD: 86_400,
      TEAMT5_API_BASE_URL: 'https://api.threatvision.org',
      TEAMT5_TLP_LEVEL: 'TLP:CLEAR',
      TEAMT5_FIRST_RUN_RETRIEVAL_TIMESTAMP: 0,
      TEAMT5_FOREIGN_STIX_URLS: 'fetch-without-token',
      TEAMT5_TIMEOUT_SECONDS: 30,
    });
  });

  it('strips the trailing slash of the base URL (upstream default has one)', () => {
    expect(load({ TEAMT5_API_BASE_URL: 'https://api.threatvision.org/' }).TEAMT5_API_BASE_URL).toBe(
      'https://api.threatvision.org',
    );
  });

  it.each([
    ['clear', 'TLP:CLEAR'],
    ['white', 'TLP:CLEAR'],
    ['green', 'TLP:GREEN'],
    ['amber', 'TLP:AMBER'],
    ['amber+strict', 'TLP:AMBER+STRICT'],
    ['red', 'TLP:RED'],
    ['TLP:Amber+Strict', 'TLP:AMBER+STRICT'],
  ])('reads TEAMT5_TLP_LEVEL=%s as %s', (value, level) => {
    expect(load({ TEAMT5_TLP_LEVEL: value }).TEAMT5_TLP_LEVEL).toBe(level);
  });

  it('refuses an unknown TLP level instead of falling back to CLEAR as upstream does', () => {
    const err = configError(() => load({ TEAMT5_TLP_LEVEL: 'orange' }));
    expect(err.issues).toEqual([
      { variable: 'TEAMT5_TLP_LEVEL', message: expect.stringMatching(/^expected a TLP level/) },
    ]);
  });

  it.each([
    ['1700000000000', /expected a number <= 253402300799/], // milliseconds
    ['253402300800', /expected a number <= 253402300799/], // 10000-01-01
    ['-1', /expected a number >= 0/],
    ['1.7e9', /expected a whole number/],
    ['0x6553F100', /expected a whole number/],
  ])('refuses TEAMT5_FIRST_RUN_RETRIEVAL_TIMESTAMP=%s, naming it', (value, why) => {
    const err = configError(() => load({ TEAMT5_FIRST_RUN_RETRIEVAL_TIMESTAMP: value }));
    expect(err.issues).toEqual([
      { variable: 'TEAMT5_FIRST_RUN_RETRIEVAL_TIMESTAMP', message: expect.stringMatching(why) },
    ]);
  });

  it('reads every first-run timestamp from 1970 to 9999 as itself, and its first cursor formats', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: LATEST_UNIX_SECONDS }), (seconds) => {
        const config = load({ TEAMT5_FIRST_RUN_RETRIEVAL_TIMESTAMP: String(seconds) });
        expect(config.TEAMT5_FIRST_RUN_RETRIEVAL_TIMESTAMP).toBe(seconds);
        const { reports } = cursorsFrom(null, config.TEAMT5_FIRST_RUN_RETRIEVAL_TIMESTAMP);
        expect(parseStateDate(formatStateDate(reports.from))).toBe(seconds);
      }),
    );
  });

  it('names each bad variable', () => {
    const err = configError(() =>
      load({
        TEAMT5_API_BASE_URL: 'api.threatvision.org',
        TEAMT5_FIRST_RUN_RETRIEVAL_TIMESTAMP: 'yesterday',
        TEAMT5_FOREIGN_STIX_URLS: 'maybe',
        CONNECTOR_DURATION_PERIOD: '1 day',
      }),
    );
    expect(err.issues.map((i) => i.variable).sort()).toEqual([
      'CONNECTOR_DURATION_PERIOD',
      'TEAMT5_API_BASE_URL',
      'TEAMT5_FIRST_RUN_RETRIEVAL_TIMESTAMP',
      'TEAMT5_FOREIGN_STIX_URLS',
    ]);
  });
});

describe('resolveAuth', () => {
  it('uses the OAuth client credentials, with the token URL under the base URL by default', () => {
    const { auth, warnings } = resolveAuth(load({ TEAMT5_CLIENT_ID: 'cid-1234', TEAMT5_CLIENT_SECRET: 'cs-5678' }));
    expect(auth).toEqual({
      kind: 'oauth',
      clientId: 'cid-1234',
      clientSecret: 'cs-5678',
      tokenUrl: 'https://api.threatvision.org/oauth/token',
    });
    expect(warnings).toEqual([]);
  });

  it('follows TEAMT5_API_BASE_URL and TEAMT5_OAUTH_TOKEN_URL', () => {
    const base = { TEAMT5_CLIENT_ID: 'cid-1234', TEAMT5_CLIENT_SECRET: 'cs-5678' };
    expect(resolveAuth(load({ ...base, TEAMT5_API_BASE_URL: 'https://tv.example/' })).auth).toMatchObject({
      tokenUrl: 'https://tv.example/oauth/token',
    });
    expect(resolveAuth(load({ ...base, TEAMT5_OAUTH_TOKEN_URL: 'https://sso.example/token' })).auth).toMatchObject({
      tokenUrl: 'https://sso.example/token',
    });
  });

  it('refuses a plain-HTTP token URL while the API is HTTPS (the secret goes in the body)', () => {
    const err = configError(() =>
      resolveAuth(
        load({
          TEAMT5_CLIENT_ID: 'cid-1234',
          TEAMT5_CLIENT_SECRET: 'cs-5678',
          TEAMT5_OAUTH_TOKEN_URL: 'http://sso.example/token',
        }),
      ),
    );
    expect(err.issues[0]?.variable).toBe('TEAMT5_OAUTH_TOKEN_URL');
  });

  it('accepts the deprecated API key with a deprecation warning', () => {
    const { auth, warnings } = resolveAuth(load({ TEAMT5_API_KEY: 'static-key-0001' }));
    expect(auth).toEqual({ kind: 'api-key', apiKey: 'static-key-0001' });
    expect(warnings.join()).toMatch(/TEAMT5_API_KEY is deprecated/);
  });

  it('prefers OAuth when both are set, and says the key is ignored', () => {
    const { auth, warnings } = resolveAuth(
      load({ TEAMT5_API_KEY: 'static-key-0001', TEAMT5_CLIENT_ID: 'cid-1234', TEAMT5_CLIENT_SECRET: 'cs-5678' }),
    );
    expect(auth.kind).toBe('oauth');
    expect(warnings.join()).toMatch(/TEAMT5_API_KEY is ignored/);
  });

  it('counts empty and blank values as unset', () => {
    const err = configError(() =>
      resolveAuth(load({ TEAMT5_API_KEY: '   ', TEAMT5_CLIENT_ID: '', TEAMT5_CLIENT_SECRET: '\t' })),
    );
    expect(err.issues).toEqual([{ variable: 'TEAMT5_CLIENT_ID', message: expect.stringMatching(/are required/) }]);
    // The same rule when the config object was built by hand.
    expect(() =>
      resolveAuth({ ...load({}), TEAMT5_API_KEY: '  ', TEAMT5_CLIENT_ID: ' ', TEAMT5_CLIENT_SECRET: ' ' }),
    ).toThrow(ConfigError);
  });

  it('names the missing half of an OAuth pair', () => {
    expect(configError(() => resolveAuth(load({ TEAMT5_CLIENT_ID: 'cid-1234' }))).issues).toEqual([
      { variable: 'TEAMT5_CLIENT_SECRET', message: 'is required with TEAMT5_CLIENT_ID' },
    ]);
    expect(configError(() => resolveAuth(load({ TEAMT5_CLIENT_SECRET: 'cs-5678' }))).issues).toEqual([
      { variable: 'TEAMT5_CLIENT_ID', message: 'is required with TEAMT5_CLIENT_SECRET' },
    ]);
  });

  it('uses the API key when the OAuth pair is half given, and says why', () => {
    const { auth, warnings } = resolveAuth(load({ TEAMT5_API_KEY: 'static-key-0001', TEAMT5_CLIENT_ID: 'cid-1234' }));
    expect(auth.kind).toBe('api-key');
    expect(warnings.join('\n')).toMatch(/TEAMT5_CLIENT_SECRET is not set: OAuth is not used/);
  });

  it('never puts a credential into an error', () => {
    const err = configError(() =>
      resolveAuth(
        load({
          TEAMT5_CLIENT_ID: 'cid-secret-value',
          TEAMT5_CLIENT_SECRET: 'cs-secret-value',
          TEAMT5_OAUTH_TOKEN_URL: 'http://sso.example/token',
        }),
      ),
    );
    expect(err.message).not.toMatch(/secret-value/);
  });
});
