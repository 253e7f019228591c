/** The HTTP listen protocol's settings: names, defaults and what each refuses, naming the variable. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../errors/index.js';
import { baseConfig } from './base.js';
import { callbackPathProblem, listenConfig, MAX_CALLBACK_PATH_LENGTH } from './listen.js';
import { loadConfig } from './load.js';
import { PYCTI_ONLY_YAML_KEYS, yamlKeys } from './yaml-keys.js';

function load(values: Record<string, string>) {
  return loadConfig(listenConfig, { env: values, dotenvPath: false });
}

function problemOf(values: Record<string, string>): string {
  try {
    load(values);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as ConfigError).message;
  }
  throw new Error(`accepted ${JSON.stringify(values)}`);
}

describe('listen protocol settings', () => {
  it('are base settings, with pycti 7 names and defaults (the TLS ones without the CONNECTOR_ prefix)', () => {
    for (const key of Object.keys(listenConfig)) expect(baseConfig).toHaveProperty(key);
    expect(load({})).toEqual({
      CONNECTOR_LISTEN_PROTOCOL: 'AMQP',
      CONNECTOR_LISTEN_PROTOCOL_API_PORT: 7070,
      CONNECTOR_LISTEN_PROTOCOL_API_PATH: '/api/callback',
      CONNECTOR_LISTEN_PROTOCOL_API_URI: undefined,
      CONNECTOR_LISTEN_PROTOCOL_API_SSL: false,
      LISTEN_PROTOCOL_API_SSL_KEY: undefined,
      LISTEN_PROTOCOL_API_SSL_CERT: undefined,
      LISTEN_PROTOCOL_API_SSL_PASSPHRASE: undefined,
    });
  });

  it("are read from config.yml under pycti's keys, the TLS ones in the connector section too", () => {
    const keys = Object.entries(listenConfig).map(([name, schema]) => [name, yamlKeys(name, schema)] as const);
    expect(Object.fromEntries(keys)).toEqual({
      CONNECTOR_LISTEN_PROTOCOL: ['connector.listen_protocol'],
      CONNECTOR_LISTEN_PROTOCOL_API_PORT: ['connector.listen_protocol_api_port'],
      CONNECTOR_LISTEN_PROTOCOL_API_PATH: ['connector.listen_protocol_api_path'],
      CONNECTOR_LISTEN_PROTOCOL_API_URI: ['connector.listen_protocol_api_uri'],
      CONNECTOR_LISTEN_PROTOCOL_API_SSL: ['connector.listen_protocol_api_ssl'],
      LISTEN_PROTOCOL_API_SSL_KEY: ['connector.listen_protocol_api_ssl_key'],
      LISTEN_PROTOCOL_API_SSL_CERT: ['connector.listen_protocol_api_ssl_cert'],
      LISTEN_PROTOCOL_API_SSL_PASSPHRASE: ['connector.listen_protocol_api_ssl_passphrase'],
    });
    // Read by settings now, so no longer among the pycti keys ignored with a warning.
    for (const [, names] of keys) for (const key of names) expect(PYCTI_ONLY_YAML_KEYS).not.toContain(key);
  });

  it('reads the protocol in any case, as pycti upper-cases it', () => {
    expect(load({ CONNECTOR_LISTEN_PROTOCOL: 'api' }).CONNECTOR_LISTEN_PROTOCOL).toBe('API');
    expect(load({ CONNECTOR_LISTEN_PROTOCOL: ' Amqp ' }).CONNECTOR_LISTEN_PROTOCOL).toBe('AMQP');
    expect(problemOf({ CONNECTOR_LISTEN_PROTOCOL: 'HTTP' })).toMatch(
      /CONNECTOR_LISTEN_PROTOCOL: expected one of AMQP, API/,
    );
  });

  it.each(['-1', '65536', '70000', '7070.5', '0x1b9e', 'http', '1e3', '99999999999999999999'])(
    'refuses the port %j, naming the variable',
    (raw) => {
      expect(problemOf({ CONNECTOR_LISTEN_PROTOCOL_API_PORT: raw })).toMatch(/CONNECTOR_LISTEN_PROTOCOL_API_PORT: /);
    },
  );

  it('reads every port from 0 (the system picks) to 65535, and nothing outside', () => {
    fc.assert(
      fc.property(fc.integer({ min: -1_000_000, max: 1_000_000 }), (port) => {
        const read = () =>
          load({ CONNECTOR_LISTEN_PROTOCOL_API_PORT: String(port) }).CONNECTOR_LISTEN_PROTOCOL_API_PORT;
        if (port >= 0 && port <= 65535) expect(read()).toBe(port);
        else expect(read).toThrow(/CONNECTOR_LISTEN_PROTOCOL_API_PORT: expected a number/);
      }),
    );
  });

  it.each([
    ['api/callback', /must start with "\/"/],
    ['/api/call back', /characters of a URL path/],
    ['/api/callback?x=1', /without "\?"/],
    ['/api/callback#top', /without "#"/],
    ['/api/%zz', /%XX escape/],
    ['/api/%4', /%XX escape/],
    ['/api/../admin', /"\." or "\.\." segments/],
    ['/./callback', /"\." or "\.\." segments/],
    ['/api/caf\u00e9', /characters of a URL path/],
    ['/api/\u0000', /characters of a URL path/],
    [`/${'a'.repeat(MAX_CALLBACK_PATH_LENGTH)}`, /at most 1024 characters/],
  ])('refuses the path %j, naming the variable', (raw, problem) => {
    const message = problemOf({ CONNECTOR_LISTEN_PROTOCOL_API_PATH: raw });
    expect(message).toMatch(/CONNECTOR_LISTEN_PROTOCOL_API_PATH: /);
    expect(message).toMatch(problem);
  });

  it('a path is accepted exactly when it is "/" then URL path characters, and read back unchanged', () => {
    const pathChar = fc.constantFrom(
      ..."abcXYZ019-._~!$&'()*+,;=:@/".split(''),
      '%41',
      '%2f',
      '?',
      '#',
      ' ',
      '%',
      '\u00e9',
      '\u0001',
      '\\',
    );
    fc.assert(
      fc.property(fc.array(pathChar, { maxLength: 40 }), fc.boolean(), (chars, slash) => {
        const raw = (slash ? '/' : '') + chars.join('');
        const problem = callbackPathProblem(raw);
        const clean =
          raw.startsWith('/') &&
          /^(?:[A-Za-z0-9\-._~!$&'()*+,;=:@/]|%[0-9A-Fa-f]{2})*$/.test(raw) &&
          !raw.split('/').some((s) => s === '.' || s === '..');
        expect(problem === null, `${JSON.stringify(raw)}: ${problem}`).toBe(clean);
        if (clean)
          expect(load({ CONNECTOR_LISTEN_PROTOCOL_API_PATH: raw }).CONNECTOR_LISTEN_PROTOCOL_API_PATH).toBe(raw);
      }),
    );
  });

  it.each([
    ['127.0.0.1:7070', /is not a valid URL/],
    ['ftp://connector:7070', /expected an http:\/\/ or https:\/\/ URL/],
    ['http://connector:7070/?token=1', /must not hold a query or a fragment/],
    ['http://connector:7070#x', /must not hold a query or a fragment/],
    ['http://user:hunter2@connector:7070', /must not hold credentials/],
    ['http://connector:99999', /the port must be a number from 1 to 65535/],
  ])('refuses the URI %j, naming the variable, never echoing it', (raw, problem) => {
    const message = problemOf({ CONNECTOR_LISTEN_PROTOCOL_API_URI: raw });
    expect(message).toMatch(/CONNECTOR_LISTEN_PROTOCOL_API_URI: /);
    expect(message).toMatch(problem);
    expect(message).not.toContain('hunter2');
  });

  it('keeps a URI with a base path (a reverse proxy), without its trailing slash: the path is appended to it', () => {
    expect(
      load({ CONNECTOR_LISTEN_PROTOCOL_API_URI: 'https://gw.example/connectors/crowdsec/' })
        .CONNECTOR_LISTEN_PROTOCOL_API_URI,
    ).toBe('https://gw.example/connectors/crowdsec');
  });

  it('treats the key and the passphrase as secrets: never shown in an error, even when malformed', () => {
    const message = problemOf({
      CONNECTOR_LISTEN_PROTOCOL_API_SSL: 'maybe',
      LISTEN_PROTOCOL_API_SSL_PASSPHRASE: 'pass\nphrase-hunter2',
    });
    expect(message).toMatch(/CONNECTOR_LISTEN_PROTOCOL_API_SSL: expected true or false/);
    expect(message).toMatch(/LISTEN_PROTOCOL_API_SSL_PASSPHRASE: contains a line break/);
    expect(message).not.toContain('hunter2');
  });
});
