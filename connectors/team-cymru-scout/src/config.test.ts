import { ConfigError, loadConfig } from '@cti/connector-sdk';
import { describe, expect, it } from 'vitest';
import { scoutHttpOptions } from './client.js';
import { scoutConfig } from './config.js';

const TOKEN = 'scout-token-0123456789abcdef';
const load = (env: Record<string, string>) => loadConfig(scoutConfig, { env, dotenvPath: false });

describe('Team Cymru Scout settings', () => {
  it('has the upstream code defaults', () => {
    expect(load({ PURE_SIGNAL_SCOUT_API_TOKEN: TOKEN })).toMatchObject({
      CONNECTOR_SCOPE: ['IPv4-Addr', 'IPv6-Addr', 'Domain-Name'],
      PURE_SIGNAL_SCOUT_API_URL: 'https://taxii.cymru.com/api/scout',
      PURE_SIGNAL_SCOUT_API_TOKEN: TOKEN,
      PURE_SIGNAL_SCOUT_MAX_TLP: 'TLP:AMBER',
      PURE_SIGNAL_SCOUT_RATE_LIMIT_PER_SECOND: 1,
      PURE_SIGNAL_SCOUT_TIMEOUT_SECONDS: 30,
      PURE_SIGNAL_SCOUT_MAX_RETRIES: 3,
    });
  });

  it('tolerates a trailing slash on the URL and both TLP spellings', () => {
    const cfg = load({
      PURE_SIGNAL_SCOUT_API_TOKEN: TOKEN,
      PURE_SIGNAL_SCOUT_API_URL: 'https://scout.example.test/api/scout/',
      PURE_SIGNAL_SCOUT_MAX_TLP: 'amber+strict',
      PURE_SIGNAL_SCOUT_RATE_LIMIT_PER_SECOND: '0.5',
      CONNECTOR_SCOPE: 'IPv4-Addr',
    });
    expect(cfg.PURE_SIGNAL_SCOUT_API_URL).toBe('https://scout.example.test/api/scout');
    expect(cfg.PURE_SIGNAL_SCOUT_MAX_TLP).toBe('TLP:AMBER+STRICT');
    expect(cfg.PURE_SIGNAL_SCOUT_RATE_LIMIT_PER_SECOND).toBe(0.5);
    expect(cfg.CONNECTOR_SCOPE).toEqual(['IPv4-Addr']);
    expect(
      load({ PURE_SIGNAL_SCOUT_API_TOKEN: TOKEN, PURE_SIGNAL_SCOUT_MAX_TLP: 'TLP:WHITE' }).PURE_SIGNAL_SCOUT_MAX_TLP,
    ).toBe('TLP:CLEAR');
  });

  it('builds the client settings: bearer token, timeout, per-second spacing, bounded retries', () => {
    const options = scoutHttpOptions(
      load({
        PURE_SIGNAL_SCOUT_API_TOKEN: TOKEN,
        PURE_SIGNAL_SCOUT_TIMEOUT_SECONDS: '12',
        PURE_SIGNAL_SCOUT_MAX_RETRIES: '0',
      }) as never,
    );
    expect(options).toMatchObject({
      vendor: 'Team Cymru Scout',
      baseURL: 'https://taxii.cymru.com/api/scout',
      auth: { type: 'bearer', token: TOKEN },
      timeoutMs: 12_000,
      rateLimit: { perSecond: 1 },
      retry: { maxAttempts: 1 },
    });
  });

  it('names each bad variable', () => {
    let err: unknown;
    try {
      load({
        PURE_SIGNAL_SCOUT_API_URL: 'ftp://scout',
        PURE_SIGNAL_SCOUT_MAX_TLP: 'TLP:PURPLE',
        PURE_SIGNAL_SCOUT_RATE_LIMIT_PER_SECOND: '0',
        PURE_SIGNAL_SCOUT_TIMEOUT_SECONDS: '1001',
      });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).issues.map((i) => i.variable).sort()).toEqual([
      'PURE_SIGNAL_SCOUT_API_TOKEN',
      'PURE_SIGNAL_SCOUT_API_URL',
      'PURE_SIGNAL_SCOUT_MAX_TLP',
      'PURE_SIGNAL_SCOUT_RATE_LIMIT_PER_SECOND',
      'PURE_SIGNAL_SCOUT_TIMEOUT_SECONDS',
    ]);
  });
});
