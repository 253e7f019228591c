import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { ConfigError } from '../errors/index.js';
import { clearRegisteredSecrets, redactString } from '../log/redact.js';
import { baseConfig } from './base.js';
import { env } from './fields.js';
import { loadConfig, redactConfig } from './load.js';

const minimal = {
  OPENCTI_URL: 'http://opencti:8080/',
  OPENCTI_TOKEN: 'token-abcdef-123456',
  CONNECTOR_ID: '2b6c1f2e-8a55-4c0e-9c1b-4f3f0f1c2d3e',
  CONNECTOR_NAME: 'Test',
};

function configError(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error('expected a ConfigError');
}

afterEach(() => clearRegisteredSecrets());

describe('loadConfig', () => {
  it('applies pycti defaults and coercions to the base settings', () => {
    const cfg = loadConfig(baseConfig, {
      env: { ...minimal, CONNECTOR_SCOPE: 'IPv4-Addr, IPv6-Addr,', CONNECTOR_LOG_LEVEL: 'WARNING' },
      dotenvPath: false,
    });
    expect(cfg.OPENCTI_URL).toBe('http://opencti:8080');
    expect(cfg.OPENCTI_SSL_VERIFY).toBe(false);
    expect(cfg.OPENCTI_JSON_LOGGING).toBe(true);
    expect(cfg.CONNECTOR_SCOPE).toEqual(['IPv4-Addr', 'IPv6-Addr']);
    expect(cfg.CONNECTOR_LOG_LEVEL).toBe('warn');
    expect(cfg.CONNECTOR_QUEUE_THRESHOLD).toBe(500);
    expect(cfg.CONNECTOR_METRICS_PORT).toBe(9095);
    expect(cfg.CONNECTOR_AUTO).toBe(false);
    expect(cfg.CONNECTOR_QUEUE_PROTOCOL).toBe('amqp');
    expect(cfg.CONNECTOR_DURATION_PERIOD).toBeUndefined();
    expect(cfg.CONNECTOR_CONFIDENCE_LEVEL).toBeUndefined();
    expect(cfg.MQ_USE_SSL).toBeUndefined();
  });

  it('parses booleans, numbers, durations, ssl verify paths and custom headers', () => {
    const cfg = loadConfig(baseConfig, {
      env: {
        ...minimal,
        CONNECTOR_AUTO: 'True',
        CONNECTOR_RUN_AND_TERMINATE: 'yes',
        CONNECTOR_DURATION_PERIOD: 'PT5M',
        CONNECTOR_QUEUE_THRESHOLD: '12.5',
        OPENCTI_SSL_VERIFY: '/etc/ssl/ca.pem',
        OPENCTI_CUSTOM_HEADERS: 'X-Team: cti; X-Env:prod',
        CONNECTOR_CONFIDENCE_LEVEL: '75',
      },
      dotenvPath: false,
    });
    expect(cfg.CONNECTOR_AUTO).toBe(true);
    expect(cfg.CONNECTOR_RUN_AND_TERMINATE).toBe(true);
    expect(cfg.CONNECTOR_DURATION_PERIOD).toBe(300);
    expect(cfg.CONNECTOR_QUEUE_THRESHOLD).toBe(12.5);
    expect(cfg.OPENCTI_SSL_VERIFY).toBe('/etc/ssl/ca.pem');
    expect(cfg.OPENCTI_CUSTOM_HEADERS).toEqual({ 'X-Team': 'cti', 'X-Env': 'prod' });
    expect(cfg.CONNECTOR_CONFIDENCE_LEVEL).toBe(75);
  });

  it('treats an empty variable as unset, as pycti does', () => {
    const cfg = loadConfig(baseConfig, { env: { ...minimal, CONNECTOR_METRICS_PORT: '' }, dotenvPath: false });
    expect(cfg.CONNECTOR_METRICS_PORT).toBe(9095);
  });

  it('reports every problem at once, each on its own line with the env var name, never a secret', () => {
    const shape = { ...baseConfig, VENDOR_KEY: env.secret(), VENDOR_LIMIT: env.int({ min: 1 }) };
    const err = configError(() =>
      loadConfig(shape, {
        env: {
          OPENCTI_TOKEN: 'super-secret-token',
          CONNECTOR_ID: 'x',
          CONNECTOR_NAME: 'T',
          CONNECTOR_AUTO: 'maybe',
          CONNECTOR_METRICS_PORT: '99999',
          CONNECTOR_DURATION_PERIOD: '3600',
          VENDOR_LIMIT: 'lots',
        },
        dotenvPath: false,
      }),
    );
    const byVar = Object.fromEntries(err.issues.map((i) => [i.variable, i.message]));
    expect(byVar.OPENCTI_URL).toBe('is required');
    expect(byVar.VENDOR_KEY).toBe('is required');
    expect(byVar.CONNECTOR_NAME).toMatch(/2/);
    expect(byVar.CONNECTOR_AUTO).toBe('expected true or false (also yes/no, 1/0, on/off)');
    expect(byVar.CONNECTOR_METRICS_PORT).toBe('expected a number <= 65535');
    expect(byVar.CONNECTOR_DURATION_PERIOD).toMatch(/ISO-8601 duration/);
    expect(byVar.VENDOR_LIMIT).toBe('expected a whole number');
    expect(err.message).not.toContain('super-secret-token');
    for (const line of err.message.split('\n').slice(1)) expect(line).toMatch(/^ {2}- [A-Z_]+: /);
  });

  it('accepts aliases, the documented name winning when both are set', () => {
    const shape = {
      KEY: env.secret({ aliases: ['OLD_KEY'] }),
      VERSION: env.enum(['v2'], { aliases: ['API_VERSION'] }),
    };
    expect(loadConfig(shape, { env: { OLD_KEY: 'old-key-value', API_VERSION: 'V2' }, dotenvPath: false })).toEqual({
      KEY: 'old-key-value',
      VERSION: 'v2',
    });
    expect(
      loadConfig(shape, { env: { KEY: 'new-key-value', OLD_KEY: 'old-key-value', VERSION: 'v2' }, dotenvPath: false })
        .KEY,
    ).toBe('new-key-value');
    const err = configError(() => loadConfig(shape, { env: { API_VERSION: 'v3' }, dotenvPath: false }));
    expect(err.issues).toEqual([
      { variable: 'KEY', message: 'is required (or set OLD_KEY)' },
      { variable: 'API_VERSION', message: 'expected one of v2' },
    ]);
  });

  it('parses TLP levels in both forms', () => {
    const shape = { MAX_TLP: env.tlp('TLP:AMBER') };
    expect(loadConfig(shape, { env: {}, dotenvPath: false }).MAX_TLP).toBe('TLP:AMBER');
    expect(loadConfig(shape, { env: { MAX_TLP: 'amber+strict' }, dotenvPath: false }).MAX_TLP).toBe('TLP:AMBER+STRICT');
    expect(loadConfig(shape, { env: { MAX_TLP: 'TLP:WHITE' }, dotenvPath: false }).MAX_TLP).toBe('TLP:CLEAR');
    const err = configError(() => loadConfig(shape, { env: { MAX_TLP: 'TLP:PURPLE' }, dotenvPath: false }));
    expect(err.issues[0]?.variable).toBe('MAX_TLP');
    expect(err.issues[0]?.message).toMatch(/^expected a TLP level \(clear, white, green, amber, amber\+strict or red/);
    expect(err.message).not.toContain('PURPLE');
  });

  it('restricts lists to allowed values and names the bad one', () => {
    const shape = { LEVELS: env.list({ allowed: ['2', '5', '20', '25'] }) };
    expect(loadConfig(shape, { env: { LEVELS: '20, 25' }, dotenvPath: false }).LEVELS).toEqual(['20', '25']);
    expect(loadConfig(shape, { env: {}, dotenvPath: false }).LEVELS).toEqual([]);
    const err = configError(() => loadConfig(shape, { env: { LEVELS: '20,7' }, dotenvPath: false }));
    expect(err.issues[0]?.message).toBe('unknown value at position 2; expected a comma-separated list of 2, 5, 20, 25');
  });

  it('never echoes a secret even when its own validation fails', () => {
    // A validator that echoes its input, as a careless connector schema might.
    const shape = {
      KEY: z
        .string()
        .refine(() => false, { error: (issue) => `rejected ${String(issue.input)}` })
        .meta({ cti: { secret: true } }),
    };
    const err = configError(() => loadConfig(shape, { env: { KEY: 'short-secret-value' }, dotenvPath: false }));
    expect(err.message).not.toContain('short-secret-value');
  });

  it('never echoes a secret pasted into another variable', () => {
    const shape = { KEY: env.secret(), RETRIES: env.int() };
    const err = configError(() =>
      loadConfig(shape, { env: { KEY: 'pasted-secret-9876', RETRIES: 'pasted-secret-9876' }, dotenvPath: false }),
    );
    expect(err.issues[0]?.variable).toBe('RETRIES');
    expect(err.message).not.toContain('pasted-secret-9876');
  });

  it('never echoes a bad URL, which may hold a password or a key, and says what is wrong with it', () => {
    const shape = { ...baseConfig, VENDOR_URL: env.url() };
    const password = 'Adm1n-p4ss/word';
    const key = 'ck-live-0a1b2c3d4e5f';
    const err = configError(() =>
      loadConfig(shape, {
        env: {
          ...minimal,
          OPENCTI_URL: `http://admin:${encodeURIComponent(password)}@opencti:99999`,
          VENDOR_URL: `cti.api.example.com/v2?apikey=${key}`,
        },
        dotenvPath: false,
      }),
    );
    expect(err.issues).toEqual([
      { variable: 'OPENCTI_URL', message: 'is not a valid URL (the port must be a number from 1 to 65535)' },
      {
        variable: 'VENDOR_URL',
        message: 'is not a valid URL (expected an absolute URL such as https://host:port, with its scheme)',
      },
    ]);
    const ftp = configError(() =>
      loadConfig(shape, {
        env: { ...minimal, VENDOR_URL: `ftp://admin:${encodeURIComponent(password)}@files.example.com/?apikey=${key}` },
        dotenvPath: false,
      }),
    );
    expect(ftp.issues).toEqual([
      { variable: 'VENDOR_URL', message: 'uses the ftp: scheme; expected an http:// or https:// URL' },
    ]);
    for (const text of [err.message, ftp.message]) {
      for (const form of [password, encodeURIComponent(password), key, 'admin']) expect(text).not.toContain(form);
    }
  });

  it("never echoes a key pasted into another variable while the key's own variable is unset", () => {
    const key = 'sk_live_51Hq+Zx/0aB9=';
    const shape = { ...baseConfig, VENDOR_KEY: env.secret(), VENDOR_LIMIT: env.int({ default: 3 }) };
    for (const variable of ['CONNECTOR_LOG_LEVEL', 'CONNECTOR_AUTO', 'CONNECTOR_DURATION_PERIOD', 'VENDOR_LIMIT']) {
      const err = configError(() => loadConfig(shape, { env: { ...minimal, [variable]: key }, dotenvPath: false }));
      expect(err.issues.map((i) => i.variable).sort()).toEqual([variable, 'VENDOR_KEY'].sort());
      for (const form of [key, encodeURIComponent(key), JSON.stringify(key), Buffer.from(key).toString('base64')]) {
        expect(err.message).not.toContain(form);
      }
      expect(err.message).not.toMatch(/got "/);
    }
  });

  it("masks a setting's own value, not the ordinary values of the others ('true' stays in the wording)", () => {
    const err = configError(() =>
      loadConfig(baseConfig, {
        env: { ...minimal, CONNECTOR_AUTO: 'maybe', CONNECTOR_RUN_AND_TERMINATE: 'true', CONNECTOR_LOG_LEVEL: 'info' },
        dotenvPath: false,
      }),
    );
    expect(err.issues).toEqual([
      { variable: 'CONNECTOR_AUTO', message: 'expected true or false (also yes/no, 1/0, on/off)' },
    ]);
  });

  it('refuses a token or key holding a line break, naming the variable and not the value', () => {
    const shape = { ...baseConfig, VENDOR_KEY: env.secret(), SSL_KEY: env.optionalSecret({ multiline: true }) };
    const err = configError(() =>
      loadConfig(shape, {
        env: { ...minimal, OPENCTI_TOKEN: 'token-abc\r\nX-Injected: 1', VENDOR_KEY: 'vendor-key-1234\n' },
        dotenvPath: false,
      }),
    );
    expect(err.issues.map((i) => i.variable)).toEqual(['OPENCTI_TOKEN', 'VENDOR_KEY']);
    expect(err.issues[0]?.message).toMatch(/^contains a line break or another control character/);
    expect(err.message).not.toContain('token-abc');
    expect(err.message).not.toContain('vendor-key-1234');
    const pem = '-----BEGIN PRIVATE KEY-----\nMIIB\n-----END PRIVATE KEY-----\n';
    expect(
      loadConfig(shape, { env: { ...minimal, VENDOR_KEY: 'k3y-value', SSL_KEY: pem }, dotenvPath: false }).SSL_KEY,
    ).toBe(pem);
  });

  it('reads a .env file, the environment winning', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cti-config-'));
    const path = join(dir, '.env');
    writeFileSync(path, 'OPENCTI_URL=http://from-file:8080\nCONNECTOR_NAME=FromFile\n');
    const cfg = loadConfig(baseConfig, {
      env: { OPENCTI_TOKEN: 'tok-123456', CONNECTOR_ID: 'id-1', CONNECTOR_NAME: 'FromEnv' },
      dotenvPath: path,
    });
    expect(cfg.OPENCTI_URL).toBe('http://from-file:8080');
    expect(cfg.CONNECTOR_NAME).toBe('FromEnv');
  });

  it('registers secrets for redaction and masks them in the summary', () => {
    const cfg = loadConfig(baseConfig, { env: minimal, dotenvPath: false });
    expect(redactString(`token is ${minimal.OPENCTI_TOKEN}`)).not.toContain(minimal.OPENCTI_TOKEN);
    expect(redactConfig(baseConfig, cfg).OPENCTI_TOKEN).toBe('[REDACTED]');
    expect(redactConfig(baseConfig, cfg).CONNECTOR_NAME).toBe('Test');
  });

  it('treats OPENCTI_CUSTOM_HEADERS values as secrets: names stay readable, values are masked', () => {
    const cfg = loadConfig(baseConfig, {
      env: {
        ...minimal,
        OPENCTI_CUSTOM_HEADERS: 'CF-Access-Client-Id:cf-id.access;CF-Access-Client-Secret:cf-s3cr3t-xyz',
      },
      dotenvPath: false,
    });
    expect(cfg.OPENCTI_CUSTOM_HEADERS).toEqual({
      'CF-Access-Client-Id': 'cf-id.access',
      'CF-Access-Client-Secret': 'cf-s3cr3t-xyz',
    });
    expect(redactConfig(baseConfig, cfg).OPENCTI_CUSTOM_HEADERS).toEqual({
      'CF-Access-Client-Id': '[REDACTED]',
      'CF-Access-Client-Secret': '[REDACTED]',
    });
    expect(redactString('proxy said cf-s3cr3t-xyz')).toBe('proxy said [REDACTED]');
  });
});
