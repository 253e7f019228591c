/**
 * A fake vendor API on 127.0.0.1 for connector tests and the demo: routes answer from fixtures, every
 * request is recorded (method, path, query, headers, body) so a test can prove what was sent, or that
 * nothing was.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FakeRequest {
  /** Arrival time (ms since the epoch). */
  at: number;
  method: string;
  /** Path and query as received. */
  url: string;
  path: string;
  query: URLSearchParams;
  headers: IncomingMessage['headers'];
  body: string;
  /** When the whole answer was written (ms since the epoch). */
  answeredAt?: number;
  /** When the client gave up on the request (closed it) before the whole answer was written. */
  abandonedAt?: number;
}

export interface FakeReply {
  status?: number;
  /** An object is sent as JSON; a string as is; a Buffer or Uint8Array as its bytes (application/octet-stream by default). */
  body?: unknown;
  headers?: Record<string, string>;
  /** Wait this long before answering. */
  delayMs?: number;
}

/** A route answers with a reply, or a function of the request (return undefined to fall through to 404). */
export type FakeRoute = FakeReply | ((req: FakeRequest) => FakeReply | undefined | Promise<FakeReply | undefined>);

export interface FakeVendor {
  /** Base URL, e.g. http://127.0.0.1:40123 */
  url: string;
  requests: FakeRequest[];
  /**
   * Replaces or adds a route: key "GET /v2/smoke/:ip" (`:name` matches one path segment, `*` the rest).
   * A new route is tried before the existing ones.
   */
  route(key: string, route: FakeRoute): void;
  close(): Promise<void>;
}

function matcher(key: string): { method: string; test: (path: string) => boolean } {
  const [method = 'GET', pattern = '/'] = key.split(' ');
  const source = pattern
    .split('/')
    .map((part) => (part === '*' ? '.*' : part.startsWith(':') ? '[^/]+' : part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')))
    .join('/');
  const re = new RegExp(`^${source}/?$`);
  return { method: method.toUpperCase(), test: (path) => re.test(path) };
}

export async function startFakeVendor(routes: Record<string, FakeRoute> = {}): Promise<FakeVendor> {
  const table: Array<{ key: string; match: ReturnType<typeof matcher>; route: FakeRoute }> = [];
  const route = (key: string, r: FakeRoute) => {
    const existing = table.findIndex((t) => t.key === key);
    const entry = { key, match: matcher(key), route: r };
    if (existing >= 0) table[existing] = entry;
    else table.unshift(entry); // a route added later takes precedence over broader earlier ones
  };
  for (const [key, r] of Object.entries(routes)) route(key, r);
  const requests: FakeRequest[] = [];

  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const arrivedAt = Date.now();
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const parsed = new URL(req.url ?? '/', 'http://fake');
      const request: FakeRequest = {
        at: arrivedAt,
        method: req.method ?? 'GET',
        url: req.url ?? '/',
        path: decodeURIComponent(parsed.pathname),
        query: parsed.searchParams,
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
      };
      requests.push(request);
      res.on('close', () => {
        if (!res.writableFinished) request.abandonedAt = Date.now();
      });
      res.on('finish', () => {
        request.answeredAt = Date.now();
      });
      void (async () => {
        let reply: FakeReply | undefined;
        for (const t of table) {
          if (t.match.method !== request.method || !t.match.test(parsed.pathname)) continue;
          reply = typeof t.route === 'function' ? await t.route(request) : t.route;
          if (reply) break;
        }
        reply ??= { status: 404, body: { message: 'no fake route' } };
        if (reply.delayMs) {
          const delayMs = reply.delayMs;
          await new Promise<void>((resolve) => {
            const timer = setTimeout(resolve, delayMs);
            res.once('close', () => {
              clearTimeout(timer);
              resolve();
            });
          });
        }
        if (request.abandonedAt !== undefined) return;
        const isText = typeof reply.body === 'string';
        const isBytes = reply.body instanceof Uint8Array;
        res.writeHead(reply.status ?? 200, {
          'content-type': isBytes ? 'application/octet-stream' : isText ? 'text/plain' : 'application/json',
          ...reply.headers,
        });
        res.end(
          reply.body === undefined
            ? ''
            : isBytes || isText
              ? (reply.body as string | Uint8Array)
              : JSON.stringify(reply.body),
        );
      })().catch((err: unknown) => {
        res.writeHead(500);
        res.end(String(err));
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    route,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
