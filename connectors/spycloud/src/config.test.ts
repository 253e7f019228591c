import { ConfigError, loadConfig, shapeOf } from '@cti/connector-sdk';
import { describe, expect, it } from 'vitest';
import { spycloudConfig } from './config.js';
import spycloud from './index.js';

const REQUIRED = {
  SPYCLOUD_API_BASE_URL: 'https://api.spycloud.io/enterprise-v2/',
  SPYCLOUD_API_KEY: 'spycloud-key-123456',
  CONNECTOR_DURATION_PERIOD: 'PT1H',
};
const load = (env: Record<string, string>) => loadConfig(spycloudConfig, { env, dotenvPath: false });

function configError(env: Record<string, string>): ConfigError {
  try {
    load(env);
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error('expected a ConfigError');
}

describe('SpyCloud settings', () => {
  it("has the seed's defaults", () => {
    const config = load(REQUIRED);
    expect(config).toMatchObject({
      SPYCLOUD_SEVERITY_LEVELS: [],
      SPYCLOUD_WATCHLIST_TYPES: [],
      SPYCLOUD_TLP_LEVEL: 'TLP:AMBER+STRICT',
      SPYCLOUD_INCLUDE_PASSWORDS: false,
      SPYCLOUD_TIMEOUT_SECONDS: 120,
      CONNECTOR_DURATION_PERIOD: 3600,
    });
    expect(config.SPYCLOUD_IMPORT_START_DATE).toEqual({ kind: 'date', date: new Date('1970-01-01T00:00:00Z') });
  });

  it('defaults CONNECTOR_NAME to SpyCloud and CONNECTOR_SCOPE to spycloud', () => {
    const config = loadConfig(shapeOf(spycloud), {
      env: { ...REQUIRED, OPENCTI_URL: 'http://opencti:8080', OPENCTI_TOKEN: 't', CONNECTOR_ID: 'id' },
      dotenvPath: false,
    });
    expect(config.CONNECTOR_NAME).toBe('SpyCloud');
    expect(config.CONNECTOR_SCOPE).toEqual(['spycloud']);
  });

  it('reads the lists, in any case and with spaces, without duplicates', () => {
    const config = load({
      ...REQUIRED,
      SPYCLOUD_SEVERITY_LEVELS: '20, 25,20',
      SPYCLOUD_WATCHLIST_TYPES: 'Email, subdomain ,IP',
    });
    expect(config.SPYCLOUD_SEVERITY_LEVELS).toEqual([20, 25]);
    expect(config.SPYCLOUD_WATCHLIST_TYPES).toEqual(['email', 'subdomain', 'ip']);
  });

  it('accepts clear and white as well as the TLP 2.0 names', () => {
    expect(load({ ...REQUIRED, SPYCLOUD_TLP_LEVEL: 'clear' }).SPYCLOUD_TLP_LEVEL).toBe('TLP:CLEAR');
    expect(load({ ...REQUIRED, SPYCLOUD_TLP_LEVEL: 'white' }).SPYCLOUD_TLP_LEVEL).toBe('TLP:CLEAR');
    expect(load({ ...REQUIRED, SPYCLOUD_TLP_LEVEL: 'amber' }).SPYCLOUD_TLP_LEVEL).toBe('TLP:AMBER');
    expect(load({ ...REQUIRED, SPYCLOUD_TLP_LEVEL: 'TLP:RED' }).SPYCLOUD_TLP_LEVEL).toBe('TLP:RED');
  });

  it('reads the start date as a date-time, converting an explicit offset', () => {
    const start = (value: string) =>
      load({ ...REQUIRED, SPYCLOUD_IMPORT_START_DATE: value }).SPYCLOUD_IMPORT_START_DATE;
    expect(start('2024-06-01T01:00:00+02:00')).toEqual({ kind: 'date', date: new Date('2024-05-31T23:00:00Z') });
    // The original README's default, without seconds.
    expect(start('1970-01-01T00:00Z')).toEqual({ kind: 'date', date: new Date(0) });
    expect(start('2024-06-01')).toEqual({ kind: 'date', date: new Date('2024-06-01T00:00:00Z') });
    expect(start('2024-06-01T12:30:00')).toEqual({ kind: 'date', date: new Date('2024-06-01T12:30:00Z') });
  });

  it('reads a duration as "that long before each run"', () => {
    expect(load({ ...REQUIRED, SPYCLOUD_IMPORT_START_DATE: 'P30D' }).SPYCLOUD_IMPORT_START_DATE).toEqual({
      kind: 'ago',
      seconds: 30 * 86400,
      text: 'P30D',
    });
  });

  it('keeps the path of the base URL, with or without the trailing slash', () => {
    expect(load(REQUIRED).SPYCLOUD_API_BASE_URL).toBe('https://api.spycloud.io/enterprise-v2');
    expect(
      load({ ...REQUIRED, SPYCLOUD_API_BASE_URL: 'https://api.spycloud.io/enterprise-v2' }).SPYCLOUD_API_BASE_URL,
    ).toBe('https://api.spycloud.io/enterprise-v2');
  });

  it('names the position of the bad severity value (values are never echoed)', () => {
    const err = configError({ ...REQUIRED, SPYCLOUD_SEVERITY_LEVELS: '2,3,25' });
    expect(err.issues).toEqual([
      { variable: 'SPYCLOUD_SEVERITY_LEVELS', message: expect.stringContaining('unknown value at position 2') },
    ]);
    expect(err.issues[0]?.message).toContain('2, 5, 20, 25');
  });

  it('names every bad or missing variable and never echoes the key', () => {
    const err = configError({
      SPYCLOUD_API_KEY: 'spycloud-key-123456',
      SPYCLOUD_WATCHLIST_TYPES: 'email,phone',
      SPYCLOUD_TLP_LEVEL: 'purple',
      SPYCLOUD_IMPORT_START_DATE: 'yesterday',
    });
    expect(err.issues.map((i) => i.variable).sort()).toEqual([
      'CONNECTOR_DURATION_PERIOD',
      'SPYCLOUD_API_BASE_URL',
      'SPYCLOUD_IMPORT_START_DATE',
      'SPYCLOUD_TLP_LEVEL',
      'SPYCLOUD_WATCHLIST_TYPES',
    ]);
    expect(err.message).toContain('unknown value at position 2');
    for (const value of ['phone', 'yesterday', 'purple', 'spycloud-key-123456'])
      expect(err.message).not.toContain(value);
    expect(configError({ ...REQUIRED, SPYCLOUD_API_KEY: '' }).issues).toEqual([
      { variable: 'SPYCLOUD_API_KEY', message: 'is required' },
    ]);
  });

  it('refuses an impossible start date', () => {
    expect(configError({ ...REQUIRED, SPYCLOUD_IMPORT_START_DATE: '2024-02-30T00:00:00Z' }).issues[0]?.variable).toBe(
      'SPYCLOUD_IMPORT_START_DATE',
    );
  });
});
