/**
 * The client against real sockets on 127.0.0.1: a stalled server, a forward/CONNECT proxy that
 * counts what goes through it, and a TLS server whose certificate only the test CA vouches for.
 */
import { readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import { inspect } from 'node:util';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { generatedRow, testReference } from '../../../testkit/test/suites/generated-docs.js';
import { UpstreamApiError } from '../errors/index.js';
import { createHttpClientWith, type HttpRuntime } from './client.js';
import { createHttpClient } from './index.js';
import type { HttpClient, HttpClientOptions } from './types.js';

const fixture = (name: string) => fileURLToPath(new URL(`./test-fixtures/${name}`, import.meta.url));
const TEST_CA = readFileSync(fixture('test-ca.pem'), 'utf8');
const API_KEY = 'net-key-9c8b7a6f5e4d3c2b1a';
const PROXY_PASSWORD = 'pr0xy-s3cret-pass';

function runtime(env: Record<string, string | undefined> = {}): HttpRuntime {
  return { now: () => Date.now(), sleep: async () => undefined, random: () => 0, env };
}

function portOf(server: net.Server): number {
  return (server.address() as AddressInfo).port;
}

async function listen<S extends net.Server>(server: S): Promise<S> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return server;
}

async function close(server: net.Server): Promise<void> {
  await new Promise<void>((resolve) => server.close(() => resolve()));
}

interface Seen {
  method: string | undefined;
  url: string | undefined;
  headers: http.IncomingHttpHeaders;
}

/** Answers every request with its own method, path and headers. */
function echo(seen: Seen[]) {
  return (req: http.IncomingMessage, res: http.ServerResponse) => {
    seen.push({ method: req.method, url: req.url, headers: req.headers });
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ path: req.url }));
  };
}

/**
 * A forward proxy for http:// and a CONNECT tunnel for https://; every host leads to 127.0.0.1, on the port
 * `ports` maps its authority to ("vendor.test:80"), else the port asked for.
 */
function proxyServer(options: { requireAuth?: string; ports?: Record<string, number> } = {}) {
  const forwarded: Seen[] = [];
  const tunnels: Seen[] = [];
  const authorized = (req: http.IncomingMessage) =>
    options.requireAuth === undefined ||
    req.headers['proxy-authorization'] === `Basic ${Buffer.from(options.requireAuth).toString('base64')}`;
  const server = http.createServer((req, res) => {
    forwarded.push({ method: req.method, url: req.url, headers: req.headers });
    if (!authorized(req)) {
      res.writeHead(407).end();
      return;
    }
    const target = new URL(req.url ?? '/');
    const port = options.ports?.[`${target.hostname}:${target.port || '80'}`] ?? target.port;
    // Proxy-Authorization is hop-by-hop: a proxy consumes it.
    const { 'proxy-authorization': _consumed, ...headers } = req.headers;
    const upstream = http.request(
      { host: '127.0.0.1', port, path: `${target.pathname}${target.search}`, method: req.method, headers },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    req.pipe(upstream);
  });
  server.on('connect', (req, socket, head) => {
    tunnels.push({ method: req.method, url: req.url, headers: req.headers });
    if (!authorized(req)) {
      socket.end('HTTP/1.1 407 Proxy Authentication Required\r\n\r\n');
      return;
    }
    const port = options.ports?.[req.url ?? ''] ?? Number((req.url ?? '').split(':').pop());
    const upstream = net.connect(port, '127.0.0.1', () => {
      socket.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      upstream.write(head);
      upstream.pipe(socket);
      socket.pipe(upstream);
    });
    upstream.on('error', () => socket.destroy());
    socket.on('error', () => upstream.destroy());
  });
  return { server, forwarded, tunnels };
}

const clients: HttpClient[] = [];
function client(options: Partial<HttpClientOptions> & { baseURL: string }, rt = runtime()): HttpClient {
  const created = createHttpClientWith(
    { vendor: 'Scout', auth: { type: 'header', name: 'x-api-key', value: API_KEY }, ...options },
    rt,
  );
  clients.push(created);
  return created;
}

async function failure(promise: Promise<unknown>): Promise<UpstreamApiError> {
  try {
    await promise;
  } catch (err) {
    expect(err).toBeInstanceOf(UpstreamApiError);
    const text = `${String(err)} ${JSON.stringify(err)} ${inspect(err, { depth: 10, showHidden: true })}`;
    expect(text).not.toContain(API_KEY);
    expect(text).not.toContain(PROXY_PASSWORD);
    return err as UpstreamApiError;
  }
  throw new Error('expected the request to fail');
}

afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
  vi.unstubAllEnvs();
});

describe('timeouts', () => {
  const sockets = new Set<net.Socket>();
  let stalled: http.Server;
  let requests = 0;

  beforeAll(async () => {
    stalled = await listen(
      http.createServer((req, res) => {
        requests++;
        if (req.url === '/partial') {
          // Headers and half a body, then nothing: only a whole-request deadline ends this.
          res.writeHead(200, { 'content-type': 'application/json', 'content-length': '100' });
          res.write('{"ip": "1.2.');
        }
        // '/silent': never answers at all.
      }),
    );
    stalled.on('connection', (s) => {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
    });
  });
  afterAll(async () => {
    for (const s of sockets) s.destroy();
    await close(stalled);
  });

  it('ends a request the server never answers, and retries it', async () => {
    requests = 0;
    const c = client({ baseURL: `http://127.0.0.1:${portOf(stalled)}`, timeoutMs: 150, retry: { maxAttempts: 2 } });
    const err = await failure(c.get('/silent'));
    expect(err.reason).toBe('timeout');
    expect(err.retryable).toBe(true);
    expect(err.message).toContain('did not answer GET http://127.0.0.1');
    expect(err.message).toContain('after 2 attempts');
    expect(requests).toBe(2);
  });

  it('ends a response whose body stalls', async () => {
    const c = client({ baseURL: `http://127.0.0.1:${portOf(stalled)}`, timeoutMs: 150, retry: { maxAttempts: 1 } });
    const err = await failure(c.get('/partial'));
    expect(err.reason).toBe('timeout');
  });

  it('reports a refused connection as a network error', async () => {
    const unused = await listen(net.createServer());
    const port = portOf(unused);
    await close(unused);
    const err = await failure(client({ baseURL: `http://127.0.0.1:${port}`, retry: { maxAttempts: 2 } }).get('/'));
    expect(err.reason).toBe('network');
    expect(err.message).toContain('ECONNREFUSED');
    expect(err.cause).toEqual({ code: 'ECONNREFUSED' });
  });
});

describe('proxy', () => {
  let origin: http.Server;
  let originTls: https.Server;
  const originSeen: Seen[] = [];
  const proxy = proxyServer();
  const authProxy = proxyServer({ requireAuth: `scout:${PROXY_PASSWORD}` });

  beforeAll(async () => {
    origin = await listen(http.createServer(echo(originSeen)));
    originTls = await listen(
      https.createServer(
        { cert: readFileSync(fixture('localhost-cert.pem')), key: readFileSync(fixture('localhost-key.pem')) },
        echo(originSeen),
      ),
    );
    await listen(proxy.server);
    await listen(authProxy.server);
  });
  afterAll(async () => {
    proxy.server.closeAllConnections();
    authProxy.server.closeAllConnections();
    originTls.closeAllConnections();
    origin.closeAllConnections();
    await Promise.all([close(origin), close(originTls), close(proxy.server), close(authProxy.server)]);
  });
  afterEach(() => {
    originSeen.length = 0;
    proxy.forwarded.length = 0;
    proxy.tunnels.length = 0;
    authProxy.forwarded.length = 0;
    authProxy.tunnels.length = 0;
  });

  it('sends http:// requests through HTTP_PROXY, as absolute URLs', async () => {
    const env = { HTTP_PROXY: `http://127.0.0.1:${portOf(proxy.server)}` };
    // vendor.invalid cannot resolve: only the proxy (which maps every host to 127.0.0.1) can reach it.
    const c = client({ baseURL: `http://vendor.invalid:${portOf(origin)}/api` }, runtime(env));
    const res = await c.get('/ip/foundation', { params: { ips: '1.2.3.4' } });
    expect(res.data).toEqual({ path: '/api/ip/foundation?ips=1.2.3.4' });
    expect(proxy.forwarded.map((s) => s.url)).toEqual([
      `http://vendor.invalid:${portOf(origin)}/api/ip/foundation?ips=1.2.3.4`,
    ]);
    expect(originSeen[0]?.headers['x-api-key']).toBe(API_KEY);
  });

  it('reads lower-case http_proxy first, as curl does', async () => {
    const env = { http_proxy: `http://127.0.0.1:${portOf(proxy.server)}`, HTTP_PROXY: 'http://127.0.0.1:9' };
    await client({ baseURL: `http://vendor.invalid:${portOf(origin)}` }, runtime(env)).get('/');
    expect(proxy.forwarded).toHaveLength(1);
  });

  it('goes direct for hosts in NO_PROXY', async () => {
    const env = { HTTP_PROXY: `http://127.0.0.1:${portOf(proxy.server)}`, NO_PROXY: 'localhost, 127.0.0.0/8' };
    const res = await client({ baseURL: `http://127.0.0.1:${portOf(origin)}` }, runtime(env)).get('/direct');
    expect(res.data).toEqual({ path: '/direct' });
    expect(proxy.forwarded).toHaveLength(0);
    expect(originSeen).toHaveLength(1);
  });

  it('tunnels https:// through HTTPS_PROXY with CONNECT; the proxy never sees the key', async () => {
    const env = { HTTPS_PROXY: `127.0.0.1:${portOf(proxy.server)}`, HTTPS_CA_CERTIFICATES: TEST_CA };
    const c = client({ baseURL: `https://localhost:${portOf(originTls)}` }, runtime(env));
    await c.get('/a');
    await c.get('/b');
    expect(originSeen.map((s) => s.url)).toEqual(['/a', '/b']);
    expect(originSeen[0]?.headers['x-api-key']).toBe(API_KEY);
    // Keep-alive: both requests went through one tunnel.
    expect(proxy.tunnels.map((t) => t.url)).toEqual([`localhost:${portOf(originTls)}`]);
    expect(JSON.stringify(proxy.tunnels)).not.toContain(API_KEY);
    expect(proxy.forwarded).toHaveLength(0);
  });

  it('authenticates to the proxy from the URL credentials, and never shows the password', async () => {
    const env = {
      HTTPS_PROXY: `http://scout:${PROXY_PASSWORD}@127.0.0.1:${portOf(authProxy.server)}`,
      HTTP_PROXY: `http://scout:${PROXY_PASSWORD}@127.0.0.1:${portOf(authProxy.server)}`,
    };
    const c = client({ baseURL: `https://localhost:${portOf(originTls)}`, caCertificates: [TEST_CA] }, runtime(env));
    await c.get('/tls');
    await c.get(`http://vendor.invalid:${portOf(origin)}/plain`);
    expect(authProxy.tunnels).toHaveLength(1);
    expect(authProxy.forwarded).toHaveLength(1);
    expect(authProxy.tunnels[0]?.headers['proxy-authorization']).toBe(
      `Basic ${Buffer.from(`scout:${PROXY_PASSWORD}`).toString('base64')}`,
    );
    // Inside the tunnel the proxy credentials are not repeated to the vendor.
    expect(originSeen[0]?.headers['proxy-authorization']).toBeUndefined();
  });

  it('explains a 407 from the proxy and does not retry it', async () => {
    const env = { HTTPS_PROXY: `http://127.0.0.1:${portOf(authProxy.server)}` };
    const c = client(
      { baseURL: `https://localhost:${portOf(originTls)}`, caCertificates: [TEST_CA], retry: { maxAttempts: 3 } },
      runtime(env),
    );
    const err = await failure(c.get('/x'));
    expect(err.reason).toBe('network');
    expect(err.retryable).toBe(false);
    expect(err.message).toContain('proxy requires authentication (407)');
    expect(authProxy.tunnels).toHaveLength(1);
  });

  it('decides the proxy for every redirect hop: a hop to a NO_PROXY host goes direct', async () => {
    const redirecting = await listen(
      http.createServer((_req, res) =>
        res.writeHead(302, { location: `http://127.0.0.1:${portOf(origin)}/landed` }).end(),
      ),
    );
    try {
      const env = { HTTP_PROXY: `http://127.0.0.1:${portOf(proxy.server)}`, NO_PROXY: '127.0.0.1' };
      const res = await client({ baseURL: `http://vendor.invalid:${portOf(redirecting)}` }, runtime(env)).get('/start');
      expect(res.data).toEqual({ path: '/landed' });
      // Only the first hop (vendor.invalid, which only the proxy can resolve) went through the proxy.
      expect(proxy.forwarded.map((s) => s.url)).toEqual([`http://vendor.invalid:${portOf(redirecting)}/start`]);
      expect(originSeen.map((s) => s.url)).toEqual(['/landed']);
    } finally {
      redirecting.closeAllConnections();
      await close(redirecting);
    }
  });

  it("takes a refused tunnel for the proxy's answer: a captive portal's 302 is not followed", async () => {
    const portalSeen: Seen[] = [];
    const portal = await listen(http.createServer(echo(portalSeen)));
    const captive = await listen(http.createServer());
    captive.on('connect', (_req, socket: net.Socket) => {
      socket.end(
        `HTTP/1.1 302 Found\r\nLocation: http://127.0.0.1:${portOf(portal)}/login\r\nContent-Length: 0\r\n\r\n`,
      );
    });
    try {
      const env = { HTTPS_PROXY: `http://127.0.0.1:${portOf(captive)}` };
      const err = await failure(
        client({ baseURL: 'https://vendor.invalid', retry: { maxAttempts: 1 } }, runtime(env)).get('/x'),
      );
      expect(err.reason).toBe('network');
      expect(err.message).toContain('the proxy refused to open a tunnel (status 302)');
      expect(portalSeen).toHaveLength(0);
    } finally {
      captive.closeAllConnections();
      portal.closeAllConnections();
      await Promise.all([close(captive), close(portal)]);
    }
  });

  it('gives up on a proxy that never answers the CONNECT, and closes the connection it opened', async () => {
    const open = new Set<net.Socket>();
    const seen: net.Socket[] = [];
    let connects = 0;
    const silent = await listen(http.createServer());
    silent.on('connect', (_req, socket: net.Socket) => {
      connects++;
      open.add(socket);
      seen.push(socket);
      // The client's side of the connection is what matters: its FIN ('end', once read), or a reset ('close').
      const gone = () => {
        open.delete(socket);
        socket.destroy();
      };
      socket.on('end', gone);
      socket.on('close', gone);
      socket.resume();
    });
    try {
      const env = { HTTPS_PROXY: `http://127.0.0.1:${portOf(silent)}` };
      const c = client({ baseURL: 'https://vendor.invalid', timeoutMs: 300, retry: { maxAttempts: 1 } }, runtime(env));
      const err = await failure(c.get('/x'));
      expect(err.reason).toBe('timeout');
      expect(connects).toBe(1);
      // The request is over; the socket to the proxy must not outlive it (one per attempt would pile up).
      const deadline = Date.now() + 3_000;
      while (open.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      expect(open.size).toBe(0);
    } finally {
      // A tunnelled socket is no longer the HTTP server's: closeAllConnections does not reach it.
      for (const socket of seen) socket.destroy();
      await close(silent);
    }
  });

  it('reads the proxy from process.env through the public createHttpClient', async () => {
    vi.stubEnv('HTTP_PROXY', `http://127.0.0.1:${portOf(proxy.server)}`);
    vi.stubEnv('http_proxy', '');
    vi.stubEnv('NO_PROXY', '');
    vi.stubEnv('no_proxy', '');
    const c = createHttpClient({ vendor: 'Scout', baseURL: `http://vendor.invalid:${portOf(origin)}` });
    clients.push(c);
    await c.get('/env');
    expect(proxy.forwarded).toHaveLength(1);
  });
});

/**
 * Credentials follow the origin: scheme, host and port, the default port made explicit. Production base URLs
 * have no port (https://cti.api.crowdsec.net); a proxy that maps vendor.test's ports to local servers lets the
 * test use them as written, so port 80/443 is the implicit one and another port of the same host is another
 * server.
 */
describe('credentials and origins', () => {
  const TLS = { cert: readFileSync(fixture('localhost-cert.pem')), key: readFileSync(fixture('localhost-key.pem')) };
  const vendorSeen: Seen[] = [];
  const otherSeen: Seen[] = [];
  const redirectTo = (location: string, seen: Seen[]) => (req: http.IncomingMessage, res: http.ServerResponse) => {
    seen.push({ method: req.method, url: req.url, headers: req.headers });
    if (req.url?.startsWith('/v2/moved')) res.writeHead(307, { location }).end();
    else echo([])(req, res);
  };
  let vendor: http.Server;
  let other: http.Server;
  let vendorTls: https.Server;
  let otherTls: https.Server;
  let proxy: ReturnType<typeof proxyServer>;

  beforeAll(async () => {
    vendor = await listen(http.createServer(redirectTo('http://vendor.test:8080/collect', vendorSeen)));
    other = await listen(http.createServer(echo(otherSeen)));
    vendorTls = await listen(https.createServer(TLS, redirectTo('https://localhost:8443/collect', vendorSeen)));
    otherTls = await listen(https.createServer(TLS, echo(otherSeen)));
    proxy = proxyServer({
      ports: {
        'vendor.test:80': portOf(vendor),
        'vendor.test:8080': portOf(other),
        'localhost:443': portOf(vendorTls),
        'localhost:8443': portOf(otherTls),
      },
    });
    await listen(proxy.server);
  });
  afterAll(async () => {
    for (const s of [vendor, other, vendorTls, otherTls, proxy.server]) s.closeAllConnections();
    await Promise.all([vendor, other, vendorTls, otherTls, proxy.server].map(close));
  });
  afterEach(() => {
    vendorSeen.length = 0;
    otherSeen.length = 0;
  });
  /** What each redirect case observed, for docs/security.md's row on the finding. */
  const observed: string[] = [];
  const keySeen = (seen: Seen[]) =>
    `${seen.length} requests, ${seen.filter((r) => r.headers['x-api-key'] !== undefined).length} with the key`;

  const proxied = () =>
    runtime({
      HTTP_PROXY: `http://127.0.0.1:${portOf(proxy.server)}`,
      HTTPS_PROXY: `http://127.0.0.1:${portOf(proxy.server)}`,
      HTTPS_CA_CERTIFICATES: TEST_CA,
    });

  it('a redirect to another port of the vendor host (http, default port 80) gets no API key', async () => {
    const c = client({ baseURL: 'http://vendor.test/v2' }, proxied());
    const res = await c.get('/moved');
    expect(res.data).toEqual({ path: '/collect' });
    expect(vendorSeen[0]?.headers['x-api-key']).toBe(API_KEY);
    expect(otherSeen).toHaveLength(1);
    expect(otherSeen[0]?.headers['x-api-key']).toBeUndefined();
    expect(c.sendsCredentialsTo('http://vendor.test:80/x')).toBe(true);
    expect(c.sendsCredentialsTo('http://VENDOR.test/x')).toBe(true);
    expect(c.sendsCredentialsTo('http://vendor.test:8080/x')).toBe(false);
    expect(c.sendsCredentialsTo('https://vendor.test/x')).toBe(false);
    observed.push(
      `base URL http://vendor.test/v2, a 307 to http://vendor.test:8080 → the vendor: ${keySeen(vendorSeen)}; ` +
        `port 8080: ${keySeen(otherSeen)}`,
    );
  });

  it('a redirect to another port of the vendor host (https, default port 443) gets no API key', async () => {
    const c = client({ baseURL: 'https://localhost/v2' }, proxied());
    const res = await c.get('/moved');
    expect(res.data).toEqual({ path: '/collect' });
    expect(vendorSeen[0]?.headers['x-api-key']).toBe(API_KEY);
    expect(otherSeen).toHaveLength(1);
    expect(otherSeen[0]?.headers['x-api-key']).toBeUndefined();
    expect(proxy.tunnels.map((t) => t.url)).toContain('localhost:8443');
    observed.push(
      `base URL https://localhost/v2, a 307 to https://localhost:8443 → the vendor: ${keySeen(vendorSeen)}; ` +
        `port 8443: ${keySeen(otherSeen)}`,
    );
  });

  it('withAuth: true refuses another port of the vendor host before sending anything', async () => {
    const c = client({ baseURL: 'http://vendor.test/v2' }, proxied());
    const err = await failure(c.get('http://vendor.test:8080/collect', { withAuth: true }));
    expect(err.reason).toBe('auth');
    expect(err.message).toContain(
      'http://vendor.test:8080 is not among the origins allowed to receive them (http://vendor.test:80)',
    );
    expect(otherSeen).toHaveLength(0);
    observed.push(
      `a call that requires the key, to http://vendor.test:8080 → refused before sending ("${err.message.replace(/^.*?: /, '')}"), port 8080: ${keySeen(otherSeen)}`,
    );
  });

  it('two local servers: a POST body (an OAuth form) is never re-sent to another port by a 307', async () => {
    const secretForm = 'grant_type=client_credentials&client_secret=oauth-s3cret-value';
    const token = await listen(
      http.createServer((req, res) => {
        vendorSeen.push({ method: req.method, url: req.url, headers: req.headers });
        res.writeHead(307, { location: `http://127.0.0.1:${portOf(other)}/token` }).end();
      }),
    );
    try {
      const c = client({ baseURL: `http://127.0.0.1:${portOf(token)}`, auth: { type: 'none' } });
      const err = await failure(c.post('/token', new URLSearchParams(secretForm), { idempotent: true }));
      expect(err.message).toContain(`re-send the request body to another host (http://127.0.0.1:${portOf(other)})`);
      expect(err.message).not.toContain('oauth-s3cret-value');
      expect(otherSeen).toHaveLength(0);
    } finally {
      token.closeAllConnections();
      await close(token);
    }
  });

  it('allowedOrigins adds origins, written with or without their default port', () => {
    const c = client({
      baseURL: 'https://api.vendor.test',
      allowedOrigins: ['https://files.vendor.test', 'https://dl.vendor.test:8443'],
    });
    expect(c.sendsCredentialsTo('https://files.vendor.test:443/r.stix')).toBe(true);
    expect(c.sendsCredentialsTo('https://dl.vendor.test:8443/r.stix')).toBe(true);
    expect(c.sendsCredentialsTo('https://dl.vendor.test/r.stix')).toBe(false);
    expect(c.sendsCredentialsTo('http://files.vendor.test/r.stix')).toBe(false);
    expect(() => client({ baseURL: 'https://api.vendor.test', allowedOrigins: ['files.vendor.test'] })).toThrow(
      /allowedOrigins entries are origins/,
    );
  });

  it('docs/security.md row 13.7 says what these tests observed', ({ task }) => {
    generatedRow('findings-security', '13.7').verifyAfter(
      task,
      'With a base URL without an explicit port (the production default), a redirect to another port of the same host received `x-api-key`: credentials matched the host name alone.',
      `The SDK's HTTP client, through a proxy that maps the vendor's ports to local servers: ${observed.join('; ')}.`,
      testReference(task, 'block'),
    );
  });
});

describe('TLS trust', () => {
  let server: https.Server;
  let connections = 0;
  const seen: Seen[] = [];

  beforeAll(async () => {
    server = await listen(
      https.createServer(
        { cert: readFileSync(fixture('localhost-cert.pem')), key: readFileSync(fixture('localhost-key.pem')) },
        echo(seen),
      ),
    );
    // A connection is accepted before the server can send its certificate, hence before the
    // client can refuse it: the count is complete when the request fails.
    server.on('connection', () => connections++);
  });
  afterAll(async () => {
    server.closeAllConnections();
    await close(server);
  });

  it('rejects a certificate from an unknown CA, does not retry, and says how to fix it', async () => {
    connections = 0;
    const err = await failure(
      client({ baseURL: `https://127.0.0.1:${portOf(server)}`, retry: { maxAttempts: 3 } }, runtime({})).get('/'),
    );
    expect(err.reason).toBe('network');
    expect(err.retryable).toBe(false);
    expect(err.message).toContain('TLS certificate was rejected');
    expect(err.message).toContain('HTTPS_CA_CERTIFICATES');
    expect(connections).toBe(1);
  });

  it('accepts it with the CA from caCertificates, HTTPS_CA_CERTIFICATES or an HTTPS_PROXY_CA file', async () => {
    const base = `https://127.0.0.1:${portOf(server)}`;
    await client({ baseURL: base, caCertificates: [TEST_CA] }, runtime({})).get('/option');
    await client({ baseURL: base }, runtime({ HTTPS_CA_CERTIFICATES: TEST_CA })).get('/env-pem');
    await client({ baseURL: base }, runtime({ HTTPS_PROXY_CA: fixture('test-ca.pem') })).get('/env-file');
    expect(seen.map((s) => s.url)).toEqual(['/option', '/env-pem', '/env-file']);
  });

  it('can turn verification off for one vendor, with a warning', async () => {
    const warnings: string[] = [];
    const logger = {
      debug: () => undefined,
      info: () => undefined,
      warn: (_: object, msg: string) => warnings.push(msg),
    };
    const res = await client(
      { baseURL: `https://127.0.0.1:${portOf(server)}`, rejectUnauthorized: false, logger },
      runtime({}),
    ).get('/insecure');
    expect(res.status).toBe(200);
    expect(warnings[0]).toContain('TLS certificate verification is OFF for Scout');
  });
});
