/**
 * The HTTP listen protocol (CONNECTOR_LISTEN_PROTOCOL=API) end to end: the daemon registers its callback
 * URI, the stand-in platform's worker consumes the listen queue and POSTs each message to it with the
 * connector's token, as OpenCTI's worker does, and the same processor as the AMQP path runs it. The
 * refusals (token, size, JSON) are asked of the daemon's own endpoint, the way a misbehaving caller would.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { OpenCtiClient } from '@cti/connector-sdk/internal';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type FakeRequest, startTestPlatform, type TestPlatform } from '../../../src/index.js';
import { EXIT_MARGIN_MS, SHUTDOWN_GRACE_MS, type SpawnedConnector, spawnConnector } from '../faults/spawn.js';
import { echoConnector } from './echo-connector.js';
import { type FakeVendor, type RunningDaemon, startDaemon, startFakeVendor, until } from './helpers.js';

const VENDOR_KEY = 'vendor-key-0123456789-SECRET';
const FIXTURES = new URL('../../../../connector-sdk/src/http/test-fixtures/', import.meta.url);
const CERT = readFileSync(new URL('localhost-cert.pem', FIXTURES), 'utf8');
const KEY = readFileSync(new URL('localhost-key.pem', FIXTURES), 'utf8');
/** The throwaway CA that signed CERT: what a worker that verifies certificates would be given. */
const CA = readFileSync(new URL('test-ca.pem', FIXTURES), 'utf8');
const slowEntry = fileURLToPath(new URL('./fixtures/slow-connector.ts', import.meta.url));

let platform: TestPlatform;
let vendor: FakeVendor;
/** How long the vendor takes to answer the next lookup. */
let lookupDelayMs = 0;
let daemon: RunningDaemon | null = null;
const spawned: SpawnedConnector[] = [];

beforeAll(async () => {
  // The real worker pauses 10 to 30 s before requeueing a refused message; the tests need not wait that long.
  platform = await startTestPlatform({ callbackRetryMs: 200 });
  vendor = await startFakeVendor({
    'GET /lookup/:ip': (req) =>
      req.headers['x-api-key'] === VENDOR_KEY || req.headers['x-api-key'] === undefined
        ? { body: { verdict: 'malicious' }, delayMs: lookupDelayMs }
        : { status: 401, body: {} },
  });
});

afterEach(async () => {
  await daemon?.stop();
  daemon = null;
  for (const p of spawned.splice(0))
    if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL');
  vendor.requests.length = 0;
  lookupDelayMs = 0;
});

afterAll(async () => {
  await vendor?.close();
  await platform?.close();
});

const API_ENV = { CONNECTOR_LISTEN_PROTOCOL: 'API', CONNECTOR_LISTEN_PROTOCOL_API_PORT: '0' };

async function start(extraEnv: Record<string, string> = {}): Promise<RunningDaemon> {
  daemon = startDaemon(echoConnector(vendor.url), {
    OPENCTI_URL: platform.url,
    OPENCTI_TOKEN: platform.token,
    ECHO_KEY: VENDOR_KEY,
    CONNECTOR_ID: randomUUID(),
    ...API_ENV,
    ...extraEnv,
  });
  await daemon.waitForLog('listening for enrichment requests', 30_000);
  return daemon;
}

/** The callback URI the daemon registered. */
function callbackUri(connectorId: string): string {
  const uri = platform.connector(connectorId)?.registrations.at(-1)?.input.listen_callback_uri;
  if (typeof uri !== 'string') throw new Error('the connector registered no listen_callback_uri');
  return uri;
}

interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

/**
 * A raw POST to the daemon's endpoint. `declaredLength` sends that Content-Length whatever the body; `chunks`
 * streams the body in chunked encoding; the answer may come before the body is all sent.
 */
function post(
  uri: string,
  options: { auth?: string; body?: string | Buffer; declaredLength?: number; chunks?: Buffer[]; method?: string },
): Promise<Answer> {
  return new Promise<Answer>((resolve, reject) => {
    const url = new URL(uri);
    const headers: Record<string, string> = {};
    if (options.auth !== undefined) headers.Authorization = options.auth;
    if (options.declaredLength !== undefined) headers['Content-Length'] = String(options.declaredLength);
    else if (options.body !== undefined) headers['Content-Length'] = String(Buffer.byteLength(options.body));
    const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
    const req = send(
      url,
      { method: options.method ?? 'POST', headers, ...(url.protocol === 'https:' ? { ca: CA } : {}) },
      (res) => {
        let body = '';
        res.on('data', (c: Buffer) => {
          body += c.toString();
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
        res.on('error', reject);
      },
    );
    // Writing after the server answered and closed ends in EPIPE or ECONNRESET: the answer is what counts.
    req.on('error', (err) => reject(err));
    if (options.chunks) {
      const chunks = [...options.chunks];
      const next = () => {
        const chunk = chunks.shift();
        if (chunk === undefined) {
          req.end();
          return;
        }
        if (req.destroyed) return;
        req.write(chunk, () => setImmediate(next));
      };
      next();
    } else if (options.declaredLength !== undefined) {
      req.write(options.body ?? '{');
    } else {
      req.end(options.body);
    }
  });
}

function listenMessage(workId: string | null, entityId: string): string {
  return JSON.stringify({
    internal: { work_id: workId, applicant_id: null, trigger: 'update', mode: 'manual' },
    event: { event_type: 'INTERNAL_ENRICHMENT', entity_id: entityId, entity_type: 'IPv4-Addr' },
  });
}

describe('HTTP listen: the platform POSTs each listen message to the registered callback', () => {
  it('registers listen_callback_uri (the port in use), and an enrichment runs end to end through the callback', async () => {
    const d = await start();
    const uri = callbackUri(d.connectorId);
    expect(uri).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/api\/callback$/);
    expect(uri).not.toBe('http://127.0.0.1:0/api/callback');

    const ip = platform.addEntity({ entity_type: 'IPv4-Addr', value: '198.51.100.7', markings: ['TLP:GREEN'] });
    const workId = await platform.askEnrichment(d.connectorId, ip.standard_id);
    expect((await platform.waitForWork(workId, { timeoutMs: 30_000 })).status).toBe('complete');
    // The worker may complete the work (every expectation reported) before the connector's toProcessed lands.
    const work = await platform.waitFor(() =>
      platform.work(workId)?.operations.some((o) => o.op === 'toProcessed') ? platform.work(workId) : undefined,
    );
    expect(work.errors).toEqual([]);
    expect(work.messages.map((m) => m.message)).toContain('Echo: 198.51.100.7 is malicious');
    const types = platform
      .objects({ workId })
      .map((o) => o.object.type)
      .sort();
    expect(types).toEqual(['identity', 'indicator', 'marking-definition', 'relationship']);
    const deliveries = platform.worker.callbacks.filter((c) => c.connectorId === d.connectorId);
    expect(deliveries).toEqual([expect.objectContaining({ uri, status: 202, outcome: 'ack' })]);
    expect(await platform.queueDepth(d.connectorId, 'listen')).toBe(0);
  });

  it('gates on TLP as the AMQP path does: an entity above the maximum ends its work in error, the vendor is never asked', async () => {
    const d = await start({ ECHO_MAX_TLP: 'TLP:GREEN' });
    const ip = platform.addEntity({ entity_type: 'IPv4-Addr', value: '198.51.100.8', markings: ['TLP:RED'] });
    const workId = await platform.askEnrichment(d.connectorId, ip.standard_id);
    const work = await platform.waitForWork(workId, { timeoutMs: 30_000 });
    expect(work.errors.map((e) => e.message).join()).toMatch(/TLP:RED/);
    expect(vendor.requests).toEqual([]);
  });

  it('runs CONNECTOR_PREFETCH messages at once: a second request waits for the slot and is then accepted (no refusal, no requeue)', async () => {
    lookupDelayMs = 1_500;
    const d = await start({ CONNECTOR_PREFETCH: '1' });
    const uri = callbackUri(d.connectorId);
    const first = platform.addEntity({ entity_type: 'IPv4-Addr', value: '198.51.100.21' });
    const second = platform.addEntity({ entity_type: 'IPv4-Addr', value: '198.51.100.22' });
    // Straight to the endpoint, both at once (the stand-in worker forwards one at a time, as OpenCTI's does).
    const answers = await Promise.all([
      post(uri, { auth: `Bearer ${platform.token}`, body: listenMessage(null, first.standard_id) }),
      post(uri, { auth: `Bearer ${platform.token}`, body: listenMessage(null, second.standard_id) }),
    ]);
    expect(answers.map((a) => a.status)).toEqual([202, 202]);
    await until(() => vendor.requests.length === 2 && vendor.requests.every((r) => r.answeredAt), 30_000);
    const [a, b] = vendor.requests as [FakeRequest, FakeRequest];
    // One slot: the second vendor call starts only once the first was answered.
    expect(b.at).toBeGreaterThanOrEqual(a.answeredAt as number);
  });
});

describe('HTTP listen: /health', () => {
  it('says consuming while the endpoint accepts messages', async () => {
    const d = await start({ CONNECTOR_EXPOSE_METRICS: 'true', CONNECTOR_METRICS_PORT: '0' });
    const served = d.logs
      .map((l) => JSON.parse(l) as { message?: string; attributes?: { port?: number } })
      .find((l) => l.message === 'metrics and /health served');
    const health = await fetch(`http://127.0.0.1:${served?.attributes?.port}/health`);
    expect(health.status).toBe(200);
    expect(await health.json()).toMatchObject({ status: 'ok', consuming: true });
  });
});

describe('HTTP listen: what the endpoint refuses, and the daemon keeps running', () => {
  it('a missing or wrong bearer token: 401 {"error": "Invalid credentials"}, as pycti; the scheme in any case is accepted', async () => {
    const d = await start();
    const uri = callbackUri(d.connectorId);
    const ip = platform.addEntity({ entity_type: 'IPv4-Addr', value: '198.51.100.9' });
    const body = listenMessage(null, ip.standard_id);
    for (const auth of [
      undefined,
      '',
      'Bearer',
      `Bearer ${platform.token}x`,
      `Bearer ${platform.token.slice(0, -1)}`,
      `Basic ${platform.token}`,
      `Bearer ${platform.token} extra`,
    ]) {
      const answer = await post(uri, auth === undefined ? { body } : { auth, body });
      expect(answer.status, String(auth)).toBe(401);
      expect(JSON.parse(answer.body)).toEqual({ error: 'Invalid credentials' });
    }
    expect(vendor.requests).toEqual([]);
    const accepted = await post(uri, { auth: `bEaReR   ${platform.token}`, body });
    expect(accepted.status).toBe(202);
    expect(JSON.parse(accepted.body)).toEqual({ message: 'Message successfully received' });
    await until(() => vendor.requests.length === 1, 20_000, 'the accepted message to reach the vendor');
    expect(d.logs.join('\n')).not.toContain(platform.token);
  });

  it('a body that is not JSON: 400 {"error": "Invalid JSON payload"}; a JSON body that is no listen message is accepted and reported on its work', async () => {
    const d = await start();
    const uri = callbackUri(d.connectorId);
    const auth = `Bearer ${platform.token}`;
    for (const garbage of ['{"internal":', 'not json', '\u0000\u0001', '']) {
      const answer = await post(uri, { auth, body: garbage });
      expect(answer.status, JSON.stringify(garbage)).toBe(400);
      expect(JSON.parse(answer.body)).toEqual({ error: 'Invalid JSON payload' });
    }
    // JSON, but no listen message (no entity id): accepted, as the listen queue acks it, and reported on its work.
    const workId = await new OpenCtiClient({
      url: platform.url,
      token: platform.token,
      userAgent: 'http-listen-test',
    }).workAdd(d.connectorId, 'Manual enrichment');
    const notAMessage = await post(uri, { auth, body: JSON.stringify({ internal: { work_id: workId }, event: {} }) });
    expect(notAMessage.status).toBe(202);
    const reported = await platform.waitFor(() =>
      platform.work(workId)?.operations.some((o) => o.op === 'toProcessed') ? platform.work(workId) : undefined,
    );
    expect(reported.errors.map((e) => e.message).join()).toMatch(/entity_id/);
    // The daemon still enriches the next message.
    const ip = platform.addEntity({ entity_type: 'IPv4-Addr', value: '198.51.100.10' });
    const next = await platform.askEnrichment(d.connectorId, ip.standard_id);
    expect((await platform.waitForWork(next, { timeoutMs: 30_000 })).status).toBe('complete');
    expect(d.logs.some((l) => l.includes('invalid JSON payload'))).toBe(true);
  });

  it('a body over 16 MiB: 413 from its Content-Length before any of it is read, or as soon as a chunked body grows past it', async () => {
    const d = await start();
    const uri = callbackUri(d.connectorId);
    const auth = `Bearer ${platform.token}`;
    const declared = await post(uri, { auth, declaredLength: 16 * 1024 * 1024 + 1, body: '{' });
    expect(declared.status).toBe(413);
    expect(declared.headers.connection).toBe('close');

    const chunk = Buffer.alloc(1024 * 1024, 0x20);
    const streamed = await post(uri, { auth, chunks: Array.from({ length: 18 }, () => chunk) }).catch(
      (err: NodeJS.ErrnoException) => ({ status: -1, headers: {}, body: err.code ?? '' }),
    );
    // The answer arrives while the client still writes: it reads a 413, or (when its next write lands on the
    // closed socket first) a reset; either way the body was refused, and never handed on.
    expect([413, -1]).toContain(streamed.status);
    expect(d.logs.some((l) => l.includes('refused a message over 16777216 bytes'))).toBe(true);

    const ip = platform.addEntity({ entity_type: 'IPv4-Addr', value: '198.51.100.11' });
    const next = await platform.askEnrichment(d.connectorId, ip.standard_id);
    expect((await platform.waitForWork(next, { timeoutMs: 30_000 })).status).toBe('complete');
  });

  it('a port already in use stops the start-up naming CONNECTOR_LISTEN_PROTOCOL_API_PORT, before registering', async () => {
    const first = await start();
    const port = new URL(callbackUri(first.connectorId)).port;
    const connectorId = randomUUID();
    const second = startDaemon(echoConnector(vendor.url), {
      OPENCTI_URL: platform.url,
      OPENCTI_TOKEN: platform.token,
      ECHO_KEY: VENDOR_KEY,
      CONNECTOR_ID: connectorId,
      ...API_ENV,
      CONNECTOR_LISTEN_PROTOCOL_API_PORT: port,
    });
    expect(await second.exited).toBe(1);
    expect(second.logs.join('\n')).toContain(`CONNECTOR_LISTEN_PROTOCOL_API_PORT: port ${port} is already in use`);
    expect(platform.connector(connectorId)).toBeUndefined();
  });

  it('another path: 404; another method: 405', async () => {
    const d = await start();
    const uri = callbackUri(d.connectorId);
    const auth = `Bearer ${platform.token}`;
    expect((await post(uri.replace('/api/callback', '/api/other'), { auth, body: '{}' })).status).toBe(404);
    expect((await post(uri, { auth, method: 'PUT', body: '{}' })).status).toBe(405);
  });
});

describe('HTTP listen over TLS', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cti-listen-tls-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it.each([
    ['PEM text', () => ({ LISTEN_PROTOCOL_API_SSL_KEY: KEY, LISTEN_PROTOCOL_API_SSL_CERT: CERT })],
    [
      'file paths',
      () => {
        const keyPath = join(dir, 'key.pem');
        const certPath = join(dir, 'cert.pem');
        writeFileSync(keyPath, KEY, { mode: 0o600 });
        writeFileSync(certPath, CERT);
        return { LISTEN_PROTOCOL_API_SSL_KEY: keyPath, LISTEN_PROTOCOL_API_SSL_CERT: certPath };
      },
    ],
  ])('key and certificate as %s: registers an https URI and enriches through it', async (_form, tlsEnv) => {
    const d = await start({ CONNECTOR_LISTEN_PROTOCOL_API_SSL: 'true', ...tlsEnv() });
    const uri = callbackUri(d.connectorId);
    expect(uri).toMatch(/^https:\/\/127\.0\.0\.1:\d+\/api\/callback$/);
    // A client that trusts the certificate's CA talks TLS to it, and plain HTTP is not served.
    expect((await post(uri, { auth: 'Bearer wrong', body: '{}' })).status).toBe(401);
    await expect(post(uri.replace('https:', 'http:'), { auth: 'Bearer wrong', body: '{}' })).rejects.toThrow();

    const ip = platform.addEntity({ entity_type: 'IPv4-Addr', value: '198.51.100.12' });
    const workId = await platform.askEnrichment(d.connectorId, ip.standard_id);
    expect((await platform.waitForWork(workId, { timeoutMs: 30_000 })).status).toBe('complete');
    expect(d.logs.join('\n')).not.toContain('PRIVATE KEY');
  });

  it('TLS without a key: the daemon stops at start-up naming the setting, before registering', async () => {
    const connectorId = randomUUID();
    const d = startDaemon(echoConnector(vendor.url), {
      OPENCTI_URL: platform.url,
      OPENCTI_TOKEN: platform.token,
      ECHO_KEY: VENDOR_KEY,
      CONNECTOR_ID: connectorId,
      ...API_ENV,
      CONNECTOR_LISTEN_PROTOCOL_API_SSL: 'true',
      LISTEN_PROTOCOL_API_SSL_CERT: CERT,
    });
    expect(await d.exited).toBe(1);
    expect(d.logs.join('\n')).toMatch(
      /LISTEN_PROTOCOL_API_SSL_KEY: is required when CONNECTOR_LISTEN_PROTOCOL_API_SSL/,
    );
    expect(platform.connector(connectorId)).toBeUndefined();
  });
});

describe('HTTP listen: SIGTERM on a real connector process while a message runs', () => {
  async function startProcess(): Promise<{ p: SpawnedConnector; connectorId: string }> {
    const connectorId = randomUUID();
    const p = spawnConnector(slowEntry, {
      OPENCTI_URL: platform.url,
      OPENCTI_TOKEN: platform.token,
      CONNECTOR_LOG_LEVEL: 'info',
      CONNECTOR_ID: connectorId,
      VENDOR_URL: vendor.url,
      ...API_ENV,
    });
    spawned.push(p);
    await p.waitForOutput('listening for enrichment requests', 60_000);
    return { p, connectorId };
  }

  it('within the grace period: the call in hand completes, its work completes, the process exits 0', async () => {
    lookupDelayMs = 3_000;
    const { p, connectorId } = await startProcess();
    const ip = platform.addEntity({ entity_type: 'IPv4-Addr', value: '198.51.100.13' });
    const workId = await platform.askEnrichment(connectorId, ip.standard_id);
    await until(() => vendor.requests.length === 1, 30_000, 'the vendor call');
    p.child.kill('SIGTERM');
    expect((await p.exited).code).toBe(0);
    const work = await platform.waitForWork(workId, { timeoutMs: 10_000 });
    expect(work.status).toBe('complete');
    expect(work.errors).toEqual([]);
  });

  it('past the grace period: the call is cancelled and the work ends in error saying the platform will not resend it; exit 0', async () => {
    lookupDelayMs = 60_000;
    const { p, connectorId } = await startProcess();
    const ip = platform.addEntity({ entity_type: 'IPv4-Addr', value: '198.51.100.14' });
    const workId = await platform.askEnrichment(connectorId, ip.standard_id);
    await until(() => vendor.requests.length === 1, 30_000, 'the vendor call');
    p.child.kill('SIGTERM');
    const exit = await Promise.race([
      p.exited,
      new Promise<null>((r) => setTimeout(() => r(null), SHUTDOWN_GRACE_MS + 2_000 + EXIT_MARGIN_MS)),
    ]);
    expect(exit?.code).toBe(0);
    const work = platform.work(workId);
    expect(work?.errors.map((e) => e.message).join()).toMatch(/stopped before this enrichment finished/);
    // The message was acked by the worker on the 202: it is not waiting in the queue for a next process.
    expect(await platform.queueDepth(connectorId, 'listen')).toBe(0);
  });
});
