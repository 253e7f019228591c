/**
 * Pooled keep-alive sockets against a server that closes idle connections on its own clock (a worker
 * thread), while this thread is blocked past that timeout: what a connector busy with a large bundle did
 * to its next non-idempotent call (ECONNRESET on a socket the platform had closed, never retried).
 */
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { PlatformError, UpstreamApiError } from '../errors/index.js';
import { OpenCtiClient } from '../opencti/client.js';
import { createHttpClient } from './index.js';
import { idleLimitMs, KEEP_ALIVE_DEFAULTS } from './keep-alive.js';
import { blockEventLoop, type KeepAliveServer, startKeepAliveServer } from './test-fixtures/keep-alive-server.js';

const servers: KeepAliveServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

async function server(options: Parameters<typeof startKeepAliveServer>[0]): Promise<KeepAliveServer> {
  const started = await startKeepAliveServer(options);
  servers.push(started);
  return started;
}

const EXPECTATIONS_ANSWER = { data: { workEdit: { addExpectations: 'work-1' } } };

function platformClient(url: string): OpenCtiClient {
  return new OpenCtiClient({
    url,
    token: 'keep-alive-test-token',
    userAgent: 'cti-connector-sdk (keep-alive test)',
    retry: { attempts: 3, baseDelayMs: 10, maxDelayMs: 20 },
    timeoutMs: 10_000,
  });
}

describe('keep-alive sockets idle past the server timeout while the event loop was blocked', () => {
  // The server announces `Keep-Alive: timeout=2` and closes idle sockets after 2 s; Node's own agent then
  // keeps the socket with no timer at all, so a blocked loop reuses it after the server closed it.
  it('addExpectations (never retried once sent) goes out on a fresh connection and succeeds', async () => {
    const platform = await server({ keepAliveTimeoutMs: 2_000, body: EXPECTATIONS_ANSWER });
    const client = platformClient(platform.url);
    try {
      await client.workAddExpectations('work-1', 3);
      blockEventLoop(3_000);
      await client.workAddExpectations('work-1', 3);
      expect(platform.received).toBe(2);
      expect(platform.connections).toBe(2);
    } finally {
      client.close();
    }
  });

  it("a vendor POST goes out on a fresh connection and succeeds, the vendor's one request", async () => {
    const vendor = await server({ keepAliveTimeoutMs: 2_000, body: { submitted: true } });
    const client = createHttpClient({ vendor: 'KeepAlive', baseURL: vendor.url, retry: { maxAttempts: 1 } });
    try {
      await client.post('/scan', { url: 'https://example.org' });
      blockEventLoop(3_000);
      const answer = await client.post<{ submitted: boolean }>('/scan', { url: 'https://example.org' });
      expect(answer.data).toEqual({ submitted: true });
      expect(vendor.received).toBe(2);
    } finally {
      client.close?.();
    }
  });

  it('a socket reused within the timeout, then left idle past it, is not reused', async () => {
    // The pools are walked only once a pooled socket may have expired: its reuse must not hide a later expiry.
    const platform = await server({ keepAliveTimeoutMs: 2_000, body: EXPECTATIONS_ANSWER });
    const client = platformClient(platform.url);
    try {
      await client.workAddExpectations('work-1', 1);
      await client.workAddExpectations('work-1', 1);
      expect(platform.connections).toBe(1);
      blockEventLoop(3_000);
      await client.workAddExpectations('work-1', 1);
      await client.workAddExpectations('work-1', 1);
      expect(platform.received).toBe(4);
      expect(platform.connections).toBe(2);
    } finally {
      client.close();
    }
  });

  it('a socket reused within the timeout stays pooled: one connection for several calls', async () => {
    const platform = await server({ keepAliveTimeoutMs: 5_000, body: EXPECTATIONS_ANSWER });
    const client = platformClient(platform.url);
    try {
      for (let i = 0; i < 3; i++) await client.workAddExpectations('work-1', 1);
      expect(platform.received).toBe(3);
      expect(platform.connections).toBe(1);
    } finally {
      client.close();
    }
  });
});

describe('a connection reset after the server read the request', () => {
  it('addExpectations is not sent again: the platform may have counted it', async () => {
    const platform = await server({ keepAliveTimeoutMs: 5_000, resetAfterRead: true });
    const client = platformClient(platform.url);
    try {
      const error = await client.workAddExpectations('work-1', 3).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(PlatformError);
      expect((error as PlatformError).message).toMatch(/addExpectations failed: the connection to .* failed/);
      expect(platform.received).toBe(1);
    } finally {
      client.close();
    }
  });

  it('a vendor POST is not sent again', async () => {
    const vendor = await server({ keepAliveTimeoutMs: 5_000, resetAfterRead: true });
    const client = createHttpClient({ vendor: 'KeepAlive', baseURL: vendor.url, retry: { maxAttempts: 3 } });
    try {
      const error = await client.post('/scan', { url: 'https://example.org' }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(UpstreamApiError);
      expect(vendor.received).toBe(1);
    } finally {
      client.close?.();
    }
  });
});

describe('idleLimitMs (the Keep-Alive answer header)', () => {
  const { defaultIdleMs, marginMs, maxIdleMs } = KEEP_ALIVE_DEFAULTS;

  it("is the server's timeout less a margin, the default without one, and null when too short to reuse", () => {
    expect(idleLimitMs('timeout=5')).toBe(5_000 - marginMs);
    expect(idleLimitMs('timeout=5, max=1000')).toBe(5_000 - marginMs);
    expect(idleLimitMs(' Timeout = 75 ')).toBe(75_000 - marginMs);
    expect(idleLimitMs(undefined)).toBe(defaultIdleMs);
    expect(idleLimitMs('max=5')).toBe(defaultIdleMs);
    expect(idleLimitMs('timeout=1')).toBeNull();
    expect(idleLimitMs('timeout=0')).toBeNull();
    expect(idleLimitMs('timeout=99999999999999999999')).toBe(maxIdleMs);
  });

  it('any header gives null or a limit within (0, maxIdleMs], never above what the server announced', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string(),
          fc.nat().map((n) => `timeout=${n}`),
          fc.tuple(fc.string(), fc.string()).map(([a, b]) => `${a}timeout=${b}`),
          fc.double().map((n) => `timeout=${n}`),
          fc.bigInt().map((n) => `timeout=${n}`),
        ),
        (header) => {
          const limit = idleLimitMs(header);
          if (limit === null) return;
          expect(Number.isInteger(limit)).toBe(true);
          expect(limit).toBeGreaterThan(0);
          expect(limit).toBeLessThanOrEqual(maxIdleMs);
          const announced = /(?:^|[,\s])timeout\s*=\s*(\d+)/i.exec(header)?.[1];
          if (announced !== undefined) expect(limit).toBeLessThan(Number(announced) * 1000);
        },
      ),
      { numRuns: 2_000 },
    );
  });
});
