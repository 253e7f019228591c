import { constants as bufferConstants } from 'node:buffer';
import { mkdtempSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, PlatformError } from '../errors/index.js';
import { OpenCtiClient } from './client.js';
import { classifyFailure } from './failure.js';
import { ANSWER_TOO_LARGE, createNodeTransport, resolveTlsSettings, TransportError } from './transport.js';

// A self-signed certificate for 127.0.0.1, made for these tests only (valid until 2126). The key
// protects nothing: it exists so the TLS settings can be tested against a real handshake.
const CERT = `-----BEGIN CERTIFICATE-----
MIIDJzCCAg+gAwIBAgIUJTRRnt9YbFEesXzuO3EMK3sXyw8wDQYJKoZIhvcNAQEL
BQAwFDESMBAGA1UEAwwJMTI3LjAuMC4xMCAXDTI2MTEyNDAzMjk1OVoYDzIxMjYx
MDMxMDMyOTU5WjAUMRIwEAYDVQQDDAkxMjcuMC4wLjEwggEiMA0GCSqGSIb3DQEB
AQUAA4IBDwAwggEKAoIBAQCjuSa7XYvuiIPcvOhgxxFMEI5G2OsvJ4r8mrfZSCka
e5tMdRn3Qp+Gjib4KXrow1tzVnnRXcygRp7ROGkRdhYFsDUtqMpMq/gWOH7dVhLK
wYm8xd61vuU2CDEoouYtIch9PJfvA5mEnXmNoJby2hGFwvTbbiUo3mZkY4mnqxFB
teKHyyuN89ljQjZP/EGf4bV+Xy2sw4x+GdfbUmtVPee++qvVp1fSibuoT99wbwhk
TNylOKnwmxK2pjynCvYHV5yz266bm1Al8R+J1/d22mpExJNXrrN29rX+AEwsLO+t
5UIrQJoMUBz+7ihFQYt/t6YbRiPEuKA2lCsXdPYiLABdAgMBAAGjbzBtMB0GA1Ud
DgQWBBTGB5GhomesyFJAq+Ek0X+AkEJBIDAfBgNVHSMEGDAWgBTGB5GhomesyFJA
q+Ek0X+AkEJBIDAPBgNVHRMBAf8EBTADAQH/MBoGA1UdEQQTMBGHBH8AAAGCCWxv
Y2FsaG9zdDANBgkqhkiG9w0BAQsFAAOCAQEAS+y6RfFQMJgIVqCzvFj5WorqvXEJ
uOFxbfusJszVuTBjEI3Pzlw8ldaV1hfKzqR/lF8C84t2Lsoa3qgpBVykTsY8OQUd
3ztNXnrMJLsbxzO/hZy5EivSXQjKrOX4mCqeLPfZzpoRpExemBkYZzDsXVXLxr66
yJXo3JfckL7e5rqvw4F1Xh4aw3BLo1HXOysMRYQ9JD3Cn2aEEZDkfJbTfx8ybDx3
EuF2u+4RStN9cJ+PtpNx4EGJadEA3+Se69b3Bozn3PY6H6E92PFYMvYYUULOlbIZ
7AGK5GGIsa7tp1vW5R0sDRfZpBpfiSkpRZBvWqjMk0C55tkE3zyEEaldpA==
-----END CERTIFICATE-----`;
const KEY = `-----BEGIN PRIVATE KEY-----
MIIEvgIBADANBgkqhkiG9w0BAQEFAASCBKgwggSkAgEAAoIBAQCjuSa7XYvuiIPc
vOhgxxFMEI5G2OsvJ4r8mrfZSCkae5tMdRn3Qp+Gjib4KXrow1tzVnnRXcygRp7R
OGkRdhYFsDUtqMpMq/gWOH7dVhLKwYm8xd61vuU2CDEoouYtIch9PJfvA5mEnXmN
oJby2hGFwvTbbiUo3mZkY4mnqxFBteKHyyuN89ljQjZP/EGf4bV+Xy2sw4x+Gdfb
UmtVPee++qvVp1fSibuoT99wbwhkTNylOKnwmxK2pjynCvYHV5yz266bm1Al8R+J
1/d22mpExJNXrrN29rX+AEwsLO+t5UIrQJoMUBz+7ihFQYt/t6YbRiPEuKA2lCsX
dPYiLABdAgMBAAECggEAD8CVLurJt1oQIdFVJFaS3fgr0Do3qpJJ55L1RGUSe1dQ
MlOD+4u/8IDF1BOdnT6KknbMAq5dLUCOMEAWr9TmOobhHvMB/8198Zle72nEJhjn
6S86hc8Hm6K/JBNERSxeb1pAngEBKMbD9rHwRA5iKDYBPAmFbsCzJk6DZIvrfaBc
YyEvR0bBZYUMjyFUm0XTGGtb0f/2WhOT4nIWg2O5lc8W9GQ6a0Zwkw8CpUuxxQVE
22LUZuAF4EAUN6iBJsYHaQAp0bkqDIKubCV9xMkFUYVi1gTOdri9MrwL6j+2gKZn
TUhfANiEC2Pn+rkQRzxZVW6l3BLen9+MSjfqDci9SwKBgQDZfR5moCaBX61jQCRw
SgCkFq3gt2wWynRmToSHeDjjYprXj5BFTSbWa5UWrXydDtZt87rXVtAo5MkCdEJ0
2K6T7if4Jw3d9TnTiwYjU9KCx+dj1YfRaCvQg87jnY9s+28mCKZPn/ODkndnYS1i
67oItuaC3MfNaYY1FpTuhKimRwKBgQDAttBRXTSplmQprHCQSnk4Shjw/GouoXsZ
kevAr1CyC0UQPW9dFPOotBaxceq5F+mJcSyh34FGqOF92QdxCF4e6we9mvsIheeX
uGx0iL25jDj8nu5eiN3w2KNDek9ypUU1tI0AyY6aHiES1fLJIwmrh5L0aP9E0JRm
RTyBGeXiOwKBgQC4Zjs2bCb5njOWaTX79uKgPZJja2E72Z/jdkMr0ST6tgnvJov+
FjINrt2TgribOY9ZXkNWfQa1BXXgnM4T3/v09QHyhrpdLKRA1ij4HwPnWrK3lL45
MIelnXv2xQpsLqrIpqDL9iQztCWFA4HF03PCG8FJxwOpCAWAUYsoyFVt1QKBgFg4
2LEGzD7+nCf/yyAjF89PDI/13d4vCp2wEY8KMxTu19URatPf7ZPDrcfZ8Kx/Z+gF
qXsJSLNCSMhF/IQgYoYg7lA8jMNgGZ95TB0lJEW3DbeIQnOAkKnbYxJXAdvoEQD/
ALXlj6S6OkXXL+goZBrkW8AL+SBVpDoVZBdt9bFVAoGBAKKdxQ9wCyekP7S6/PLN
i4Z8ruHIztlX47XYaOqV58Ksoo/TyCqI0QMk69tHGNbvVCJqlf/L+64eYKjHVjWr
/lfN3Unz/28duluCrlN7o8St+riCGn0+/XBXZ3PtU7YXa48TFvEVB2YYk5SXeLdM
0xmGGU63vPN7/MTyWkWnQ5BR
-----END PRIVATE KEY-----`;

let server: https.Server;
let url: string;
let caPath: string;

beforeAll(async () => {
  server = https.createServer({ cert: CERT, key: KEY }, (_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ data: { about: { version: '6.8.10' } } }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const dir = mkdtempSync(join(tmpdir(), 'opencti-ca-'));
  caPath = join(dir, 'ca.pem');
  writeFileSync(caPath, CERT);
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

function client(sslVerify: boolean | string | undefined): OpenCtiClient {
  return new OpenCtiClient({
    url,
    token: 'tls-test-token',
    userAgent: 'test',
    sslVerify,
    retry: { attempts: 3, baseDelayMs: 1, maxDelayMs: 1 },
  });
}

describe('OPENCTI_SSL_VERIFY', () => {
  it('false (the default) accepts a self-signed certificate', async () => {
    for (const setting of [false, undefined, 'false']) {
      const c = client(setting);
      await expect(c.health()).resolves.toEqual({ version: '6.8.10' });
      c.close();
    }
  });

  it('true rejects it at once, naming the setting to change', async () => {
    const c = client(true);
    const err = await c.health().catch((e: unknown) => e);
    c.close();
    expect(err).toBeInstanceOf(PlatformError);
    expect((err as PlatformError).message).toMatch(
      /the TLS certificate of https:\/\/127\.0\.0\.1:\d+\/graphql was rejected: the certificate is self-signed \(DEPTH_ZERO_SELF_SIGNED_CERT\); set OPENCTI_SSL_VERIFY/,
    );
    expect((err as PlatformError).retryable).toBe(false);
  });

  it('true stops the start-up wait at once with a ConfigError naming OPENCTI_SSL_VERIFY, not a 5-minute outage', async () => {
    let handshakes = 0;
    const count = () => handshakes++;
    server.on('connection', count);
    const warnings: string[] = [];
    const c = new OpenCtiClient({
      url,
      token: 'tls-test-token',
      userAgent: 'test',
      sslVerify: true,
      logger: { debug() {}, info() {}, warn: (_a, m) => warnings.push(m), error() {} },
    });
    const err = await c.waitUntilReachable({ deadlineMs: 300_000, baseDelayMs: 1 }).catch((e: unknown) => e);
    c.close();
    server.off('connection', count);
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).issues).toEqual([
      {
        variable: 'OPENCTI_SSL_VERIFY',
        message: expect.stringMatching(
          /^the TLS certificate of https:\/\/127\.0\.0\.1:\d+\/graphql was rejected: the certificate is self-signed \(DEPTH_ZERO_SELF_SIGNED_CERT\); set OPENCTI_SSL_VERIFY to the path of the CA bundle/,
        ),
      },
    ]);
    expect(handshakes).toBe(1);
    expect(warnings).toEqual([]);
  });

  it('a CA bundle path trusts the certificates it holds', async () => {
    const c = client(caPath);
    await expect(c.health()).resolves.toEqual({ version: '6.8.10' });
    c.close();
  });

  it('adds the bundle to the system store rather than replacing it', () => {
    const settings = resolveTlsSettings(caPath);
    expect(settings.rejectUnauthorized).toBe(true);
    expect(settings.ca?.length).toBeGreaterThan(1);
    expect(settings.ca?.at(-1)).toBe(CERT);
  });

  it('rejects a file that is not a PEM bundle', () => {
    const dir = mkdtempSync(join(tmpdir(), 'opencti-ca-'));
    const notPem = join(dir, 'ca.txt');
    writeFileSync(notPem, 'hello');
    expect(() => resolveTlsSettings(notPem)).toThrow(ConfigError);
  });
});

describe('the transport', () => {
  it('answers a plain object: status, status text, lower-cased headers (repeated ones joined), the body as text', async () => {
    const plain = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        res.writeHead(418, "I'm a teapot", [
          ['Content-Type', 'application/json'],
          ['Set-Cookie', 'a=1'],
          ['Set-Cookie', 'b=2'],
          ['X-Echo-Method', req.method ?? ''],
          ['X-Echo-Body', Buffer.concat(chunks).toString('utf8')],
        ]);
        // A byte order mark, which WHATWG text() drops too, then non-ASCII text.
        res.end(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('{"données":"✓"}', 'utf8')]));
      });
    });
    await new Promise<void>((resolve) => plain.listen(0, '127.0.0.1', resolve));
    const transport = createNodeTransport({ rejectUnauthorized: true });
    try {
      const port = (plain.address() as AddressInfo).port;
      const answer = await transport.send(new URL(`http://127.0.0.1:${port}/graphql`), {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: '{"query":"{ x }"}',
      });
      expect(Object.getPrototypeOf(answer)).toBe(Object.prototype);
      expect(Object.getPrototypeOf(answer.headers)).toBe(Object.prototype);
      expect(answer).toMatchObject({
        status: 418,
        statusText: "I'm a teapot",
        headers: {
          'content-type': 'application/json',
          'set-cookie': 'a=1, b=2',
          'x-echo-method': 'POST',
          'x-echo-body': '{"query":"{ x }"}',
        },
        body: '{"données":"✓"}',
      });
    } finally {
      transport.close();
      plain.closeAllConnections();
      await new Promise<void>((resolve) => plain.close(() => resolve()));
    }
  });

  it('refuses an answer longer than a string can hold with a TransportError, not a crash of the process', async () => {
    // A misbehaving server (or proxy) streaming without end: past the longest string Node can make, the
    // body can never be decoded, so reading stops there.
    const size = bufferConstants.MAX_STRING_LENGTH + 1;
    const chunk = Buffer.alloc(16 * 1024 * 1024, 0x20);
    const endless = http.createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': String(size) });
        let sent = 0;
        const write = (): void => {
          while (sent < size && !res.destroyed) {
            const part = chunk.subarray(0, Math.min(chunk.length, size - sent));
            sent += part.length;
            if (!res.write(part)) {
              res.once('drain', write);
              return;
            }
          }
          res.end();
        };
        write();
      });
    });
    await new Promise<void>((resolve) => endless.listen(0, '127.0.0.1', resolve));
    const transport = createNodeTransport({ rejectUnauthorized: true });
    try {
      const port = (endless.address() as AddressInfo).port;
      const sent = transport.send(new URL(`http://127.0.0.1:${port}/graphql`), {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '{"query":"{ x }"}',
      });
      const error = await sent.then(
        () => undefined,
        (err: unknown) => err,
      );
      expect(error).toBeInstanceOf(TransportError);
      expect(error).toMatchObject({ code: ANSWER_TOO_LARGE, connected: true });
      // Asking again would bring the same answer: the client does not retry it.
      const failure = classifyFailure(error, { operation: 'ReadStixCoreObject', endpoint: 'http://opencti/graphql' });
      expect(failure.error).toMatchObject({ retryable: false, operation: 'ReadStixCoreObject' });
      expect(failure.error.message).toContain('more than can be read');
    } finally {
      transport.close();
      endless.closeAllConnections();
      await new Promise<void>((resolve) => endless.close(() => resolve()));
    }
  }, 60_000);
});
