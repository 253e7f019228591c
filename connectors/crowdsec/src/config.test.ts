import { ConfigError, loadConfig } from '@cti/connector-sdk';
import { describe, expect, it } from 'vitest';
import { crowdsecConfig } from './config.js';

const load = (env: Record<string, string>) => loadConfig(crowdsecConfig, { env, dotenvPath: false });

describe('CrowdSec settings', () => {
  it('has the upstream code defaults', () => {
    expect(load({ CROWDSEC_KEY: 'k-123456' })).toMatchObject({
      CROWDSEC_API_URL: 'https://cti.api.crowdsec.net',
      CROWDSEC_VERSION: 'v2',
      CROWDSEC_MAX_TLP: 'TLP:AMBER',
      CROWDSEC_NAME: 'CrowdSec',
      CROWDSEC_DESCRIPTION: 'Curated Threat Intelligence Powered by the Crowd',
      CROWDSEC_MIN_DELAY_BETWEEN_ENRICHMENTS: 300,
      CROWDSEC_CREATE_SIGHTING: true,
      CROWDSEC_CREATE_NOTE: false,
      CROWDSEC_INDICATOR_CREATE_FROM: [],
      CROWDSEC_ATTACK_PATTERN_CREATE_FROM_MITRE: false,
      CROWDSEC_VULNERABILITY_CREATE_FROM_CVE: true,
      CROWDSEC_CREATE_TARGETED_COUNTRIES_SIGHTINGS: true,
      CROWDSEC_LABELS_SCENARIO_NAME: true,
      CROWDSEC_LABELS_SCENARIO_LABEL: true,
      CROWDSEC_LABELS_CVE: false,
    });
  });

  it('accepts the seed names and the upstream names', () => {
    const cfg = load({
      CROWDSEC_KEY: 'k-123456',
      CROWDSEC_API_VERSION: 'v2',
      CROWDSEC_MAX_TLP: 'amber+strict',
      CROWDSEC_INDICATOR_CREATE_FROM: 'malicious, Suspicious',
      CROWDSEC_NAME: 'CrowdSec Org',
    });
    expect(cfg.CROWDSEC_MAX_TLP).toBe('TLP:AMBER+STRICT');
    expect(cfg.CROWDSEC_INDICATOR_CREATE_FROM).toEqual(['malicious', 'suspicious']);
    expect(cfg.CROWDSEC_NAME).toBe('CrowdSec Org');
  });

  it('names each bad variable and never echoes the key', () => {
    let err: unknown;
    try {
      load({ CROWDSEC_VERSION: 'v3', CROWDSEC_INDICATOR_CREATE_FROM: 'evil', CROWDSEC_QUOTA_BACKOFF_SECONDS: '3600' });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    const vars = (err as ConfigError).issues.map((i) => i.variable).sort();
    expect(vars).toEqual([
      'CROWDSEC_INDICATOR_CREATE_FROM',
      'CROWDSEC_KEY',
      'CROWDSEC_QUOTA_BACKOFF_SECONDS',
      'CROWDSEC_VERSION',
    ]);
  });

  it.each([
    ['CROWDSEC_MIN_DELAY_BETWEEN_ENRICHMENTS', '3153600001', /<= 3153600000/],
    ['CROWDSEC_MIN_DELAY_BETWEEN_ENRICHMENTS', '1e3', /expected a whole number/],
    ['CROWDSEC_TIMEOUT_SECONDS', '0x1E', /expected a whole number/],
    ['CROWDSEC_QUOTA_BACKOFF_SECONDS', '-1', /expected a number >= 0/],
  ])('refuses %s=%s, naming it', (name, value, why) => {
    let err: unknown;
    try {
      load({ CROWDSEC_KEY: 'k-123456', [name]: value });
    } catch (e) {
      err = e;
    }
    expect((err as ConfigError).issues).toEqual([{ variable: name, message: expect.stringMatching(why) }]);
  });
});
