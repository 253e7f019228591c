import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import tls from 'node:tls';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../errors/index.js';
import { parseNoProxy, proxyFor, resolveProxySettings } from './proxy.js';
import { extraCaCertificates, trustStore } from './trust.js';

const TEST_CA = readFileSync(fileURLToPath(new URL('./test-fixtures/test-ca.pem', import.meta.url)), 'utf8');

describe('NO_PROXY', () => {
  const bypass = parseNoProxy(
    'localhost, .internal.example, *.corp.example ,api.example.com:8443 10.0.0.0/8 [::1] 192.168.1.7',
  );
  const cases: [string, boolean][] = [
    ['http://localhost/x', true],
    ['http://internal.example/', true],
    ['http://a.b.internal.example/', true],
    ['http://corp.example/', true],
    ['http://x.corp.example/', true],
    ['https://api.example.com:8443/', true],
    ['https://api.example.com/', false],
    ['https://sub.api.example.com:8443/', true],
    ['http://10.20.30.40/', true],
    ['http://11.0.0.1/', false],
    ['http://[::1]:8080/', true],
    ['http://192.168.1.7/', true],
    ['http://192.168.1.8/', false],
    ['https://notlocalhost.com/', false],
    ['https://cti.api.crowdsec.net/', false],
  ];
  it.each(cases)('%s bypasses the proxy: %s', (url, expected) => {
    expect(bypass(new URL(url))).toBe(expected);
  });

  it('"*" bypasses everything, empty bypasses nothing', () => {
    expect(parseNoProxy('*')(new URL('https://a.b/'))).toBe(true);
    expect(parseNoProxy('')(new URL('https://a.b/'))).toBe(false);
    expect(parseNoProxy(undefined)(new URL('https://a.b/'))).toBe(false);
  });
});

describe('proxy settings', () => {
  it('picks the proxy by scheme and honours NO_PROXY', () => {
    const settings = resolveProxySettings(undefined, {
      HTTPS_PROXY: 'http://proxy.corp:3128',
      http_proxy: 'proxy.corp:8080',
      no_proxy: 'opencti',
    });
    expect(proxyFor(new URL('https://api.example.com/'), settings)?.href).toBe('http://proxy.corp:3128/');
    expect(proxyFor(new URL('http://api.example.com/'), settings)?.href).toBe('http://proxy.corp:8080/');
    expect(proxyFor(new URL('https://opencti:8080/'), settings)).toBeUndefined();
  });

  it('proxy: false ignores the environment; an explicit object replaces it', () => {
    const env = { HTTPS_PROXY: 'http://proxy.corp:3128' };
    expect(proxyFor(new URL('https://a.test/'), resolveProxySettings(false, env))).toBeUndefined();
    const explicit = resolveProxySettings({ httpsProxy: 'http://other:1' }, env);
    expect(proxyFor(new URL('https://a.test/'), explicit)?.host).toBe('other:1');
  });

  it('refuses unusable proxy URLs with a ConfigError naming the variable', () => {
    expect(() => resolveProxySettings(undefined, { HTTPS_PROXY: 'socks5://proxy:1080' })).toThrow(ConfigError);
    try {
      resolveProxySettings(undefined, { HTTPS_PROXY: 'socks5://proxy:1080' });
    } catch (err) {
      expect((err as ConfigError).issues[0]?.variable).toBe('HTTPS_PROXY');
    }
  });
});

describe('CA certificates', () => {
  it('adds extra certificates to the default store instead of replacing it', () => {
    const store = trustStore(extraCaCertificates([TEST_CA], {}));
    expect(store).toBeDefined();
    expect(store).toContain(TEST_CA.trim());
    for (const root of tls.rootCertificates.slice(0, 5)) expect(store).toContain(root);
    expect(trustStore([])).toBeUndefined();
  });

  it('reads PEM text or a file path from HTTPS_CA_CERTIFICATES and HTTPS_PROXY_CA, without duplicates', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cti-ca-'));
    const file = join(dir, 'proxy-ca.pem');
    writeFileSync(file, TEST_CA);
    const certs = extraCaCertificates([TEST_CA], { HTTPS_CA_CERTIFICATES: `${TEST_CA}\n`, HTTPS_PROXY_CA: file });
    expect(certs).toEqual([TEST_CA.trim()]);
  });

  it('names the variable when a certificate cannot be used', () => {
    expect(() => extraCaCertificates([], { HTTPS_PROXY_CA: '/nonexistent/ca.pem' })).toThrow(/HTTPS_PROXY_CA/);
    expect(() => extraCaCertificates(['-----BEGIN NOTHING-----'], {})).toThrow(/caCertificates\[0\]/);
  });
});
