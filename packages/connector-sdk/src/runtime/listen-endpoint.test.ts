/** The HTTP listen endpoint from its settings: the registered URI, and the TLS key pair as PEM text or a file. */
import { createPrivateKey } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { listenConfig, loadConfig } from '../config/index.js';
import { ConfigError } from '../errors/index.js';
import { listenEndpoint } from './listen-endpoint.js';

const FIXTURES = new URL('../http/test-fixtures/', import.meta.url);
const CERT = readFileSync(new URL('localhost-cert.pem', FIXTURES), 'utf8');
const KEY = readFileSync(new URL('localhost-key.pem', FIXTURES), 'utf8');
const OTHER_KEY = readFileSync(new URL('self-signed-key.pem', FIXTURES), 'utf8');
const PASSPHRASE = 'correct horse battery staple';
const ENCRYPTED_KEY = createPrivateKey(KEY).export({
  type: 'pkcs8',
  format: 'pem',
  cipher: 'aes-256-cbc',
  passphrase: PASSPHRASE,
}) as string;

const dir = mkdtempSync(join(tmpdir(), 'cti-listen-endpoint-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function endpoint(values: Record<string, string>) {
  return listenEndpoint(loadConfig(listenConfig, { env: values, dotenvPath: false }));
}

function problemOf(values: Record<string, string>): string {
  try {
    endpoint(values);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as ConfigError).message;
  }
  throw new Error('accepted');
}

const TLS = { CONNECTOR_LISTEN_PROTOCOL: 'API', CONNECTOR_LISTEN_PROTOCOL_API_SSL: 'true' };

describe('the registered callback URI (listen_callback_uri)', () => {
  it('is the URI setting with the path appended, as pycti builds it', () => {
    const e = endpoint({
      CONNECTOR_LISTEN_PROTOCOL_API_URI: 'https://gw.example/connectors/echo/',
      CONNECTOR_LISTEN_PROTOCOL_API_PATH: '/hook',
    });
    expect(e.callbackUri(7070)).toBe('https://gw.example/connectors/echo/hook');
  });

  it('defaults to this host at the port in use, https when TLS is on', () => {
    expect(endpoint({}).callbackUri(7070)).toBe('http://127.0.0.1:7070/api/callback');
    expect(endpoint({ CONNECTOR_LISTEN_PROTOCOL_API_PORT: '0' }).callbackUri(41234)).toBe(
      'http://127.0.0.1:41234/api/callback',
    );
    expect(
      endpoint({ ...TLS, LISTEN_PROTOCOL_API_SSL_KEY: KEY, LISTEN_PROTOCOL_API_SSL_CERT: CERT }).callbackUri(7070),
    ).toBe('https://127.0.0.1:7070/api/callback');
  });
});

describe('TLS key pair', () => {
  it('reads PEM text and file paths alike, and an encrypted key with its passphrase', () => {
    const keyPath = join(dir, 'key.pem');
    const certPath = join(dir, 'cert.pem');
    writeFileSync(keyPath, ENCRYPTED_KEY, { mode: 0o600 });
    writeFileSync(certPath, CERT);
    expect(endpoint({ ...TLS, LISTEN_PROTOCOL_API_SSL_KEY: KEY, LISTEN_PROTOCOL_API_SSL_CERT: CERT }).tls).toEqual({
      key: KEY,
      cert: CERT.trim(),
      passphrase: undefined,
    });
    const fromFiles = endpoint({
      ...TLS,
      LISTEN_PROTOCOL_API_SSL_KEY: keyPath,
      LISTEN_PROTOCOL_API_SSL_CERT: certPath,
      LISTEN_PROTOCOL_API_SSL_PASSPHRASE: PASSPHRASE,
    }).tls;
    expect(fromFiles?.key).toBe(ENCRYPTED_KEY);
    expect(fromFiles?.cert).toBe(CERT);
  });

  it('is required when TLS is on: both settings are named', () => {
    const message = problemOf(TLS);
    expect(message).toMatch(/LISTEN_PROTOCOL_API_SSL_KEY: is required when CONNECTOR_LISTEN_PROTOCOL_API_SSL is true/);
    expect(message).toMatch(/LISTEN_PROTOCOL_API_SSL_CERT: is required when CONNECTOR_LISTEN_PROTOCOL_API_SSL is true/);
  });

  it('is ignored when TLS is off', () => {
    expect(endpoint({ LISTEN_PROTOCOL_API_SSL_KEY: '/nowhere/key.pem' }).tls).toBeNull();
  });

  it('a path that cannot be read, or a file without PEM, is named, and no key text is shown', () => {
    const notPem = join(dir, 'not-pem.txt');
    writeFileSync(notPem, 'hello');
    expect(
      problemOf({ ...TLS, LISTEN_PROTOCOL_API_SSL_KEY: join(dir, 'missing.pem'), LISTEN_PROTOCOL_API_SSL_CERT: CERT }),
    ).toMatch(/LISTEN_PROTOCOL_API_SSL_KEY: is neither PEM text .* nor a readable file \(ENOENT\)/);
    expect(problemOf({ ...TLS, LISTEN_PROTOCOL_API_SSL_KEY: KEY, LISTEN_PROTOCOL_API_SSL_CERT: notPem })).toMatch(
      /LISTEN_PROTOCOL_API_SSL_CERT: names a file that holds no PEM certificate/,
    );
  });

  it('a wrong passphrase, or a key that is not the certificate’s, stops the start-up without showing the key', () => {
    const attempts: Array<Record<string, string> & { LISTEN_PROTOCOL_API_SSL_KEY: string }> = [
      { LISTEN_PROTOCOL_API_SSL_KEY: ENCRYPTED_KEY, LISTEN_PROTOCOL_API_SSL_PASSPHRASE: 'wrong' },
      { LISTEN_PROTOCOL_API_SSL_KEY: OTHER_KEY },
    ];
    for (const values of attempts) {
      const message = problemOf({ ...TLS, LISTEN_PROTOCOL_API_SSL_CERT: CERT, ...values });
      expect(message).toMatch(/LISTEN_PROTOCOL_API_SSL_KEY: could not be used with LISTEN_PROTOCOL_API_SSL_CERT/);
      expect(message).not.toMatch(/BEGIN|PRIVATE/);
      for (const line of values.LISTEN_PROTOCOL_API_SSL_KEY.split('\n').filter((l) => l.length > 20)) {
        expect(message).not.toContain(line);
      }
    }
  });
});
