/**
 * The HTTP listen endpoint (pycti's `CONNECTOR_LISTEN_PROTOCOL=API`): the platform's worker consumes the
 * connector's listen queue and POSTs each message here. What it sends and expects
 * (reference/protocol-notes.md#http-listen, from the pycti 7 helper and the platform worker):
 *
 * - `POST <path>` with `Authorization: Bearer <the connector user's token>`: a header that is not exactly
 *   "bearer <OPENCTI_TOKEN>" (scheme in any case) is answered 401 `{"error": "Invalid credentials"}`;
 * - a body that is not JSON: 400 `{"error": "Invalid JSON payload"}`;
 * - accepted: 202 `{"message": "Message successfully received"}`. The worker acks the message on 202 and
 *   requeues it, after 10 to 30 s, on any other status or a connection error.
 *
 * Unlike pycti, which runs the enrichment inside the request, this endpoint answers 202 as soon as the body
 * is read and processes it in the background, so that the worker, which forwards one message at a time for
 * every connector it serves, is not held for the length of a vendor call. The concurrency bound is the
 * AMQP path's (CONNECTOR_PREFETCH): a request that arrives while every slot is busy waits for one before
 * its body is read (as pycti's single-threaded handler makes it wait), then is answered 202. Refusing it
 * instead would cost the worker's 10 to 30 s pause per message. A body over the size limit is refused 413
 * from its Content-Length, or as soon as it grows past the limit, never read whole; one that stops
 * arriving, or arrives too slowly, is answered 408 and its slot freed. A connection that sends no request
 * headers in time is closed and the connections are capped, so idle sockets cannot pile up. While the connector
 * starts or stops, requests are answered 503: the worker requeues them, nothing is lost.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { Socket } from 'node:net';
import { ConfigError } from '../errors/index.js';
import type { Logger } from '../log/index.js';
import type { ListenEndpoint } from './listen-endpoint.js';

/**
 * RabbitMQ 4's default max_message_size: the platform's listen messages travel through RabbitMQ before the
 * worker POSTs them, so no genuine one is larger.
 */
export const LISTEN_BODY_LIMIT_BYTES = 16 * 1024 * 1024;
/**
 * How long an accepted request may take to send its whole body once it holds a slot, and how long it may
 * pause between two pieces of it: a caller that trickles its body (or declares more than it sends) is
 * answered 408 and its slot freed instead of holding it. The worker sends a body at once.
 */
const BODY_READ_TIMEOUT_MS = 60_000;
const BODY_IDLE_TIMEOUT_MS = 10_000;
/**
 * How long a connection may take to send a request's headers (from its first byte, or from the TLS
 * handshake): a socket that sends nothing, or trickles its headers, is closed (slowloris).
 */
const HEADERS_TIMEOUT_MS = 10_000;
/** Connections open at once; the worker uses one per message, so more is someone else holding sockets. */
const MAX_CONNECTIONS = 256;

export type ListenBodyHandler = (body: Buffer) => Promise<void>;

export interface HttpListenerOptions {
  endpoint: ListenEndpoint;
  /** OPENCTI_TOKEN: the bearer token the platform's worker sends. */
  token: string;
  /** Messages processed at once (CONNECTOR_PREFETCH). */
  concurrency: number;
  logger: Logger;
  /** Default LISTEN_BODY_LIMIT_BYTES. */
  maxBodyBytes?: number;
  /** The interface to bind (default every interface, as pycti's 0.0.0.0). */
  host?: string;
}

class BodyTooLarge extends Error {}
class BodyTooSlow extends Error {}

export class HttpListener {
  private readonly server: Server;
  private readonly tokenDigest: Buffer;
  private readonly maxBodyBytes: number;
  private handler: ListenBodyHandler | null = null;
  private stopping = false;
  private busy = 0;
  private readonly waiting: Array<(slot: boolean) => void> = [];
  private readonly tasks = new Set<Promise<void>>();
  private boundPort: number | null = null;
  /** Sockets that sent a request: the idle timer set at connection no longer closes them. */
  private readonly requested = new WeakSet<Socket>();

  constructor(private readonly o: HttpListenerOptions) {
    this.tokenDigest = digest(o.token);
    this.maxBodyBytes = o.maxBodyBytes ?? LISTEN_BODY_LIMIT_BYTES;
    const onRequest = (req: IncomingMessage, res: ServerResponse) => {
      this.onRequest(req, res).catch((err: unknown) => {
        o.logger.error({ err }, 'HTTP listen: request failed');
        if (!res.headersSent) answer(res, 500, { error: 'Error processing message' }, true);
      });
    };
    const tls = o.endpoint.tls;
    // Node checks headersTimeout every connectionsCheckingInterval (30 s by default).
    const timeouts = { headersTimeout: HEADERS_TIMEOUT_MS, connectionsCheckingInterval: 1_000 };
    this.server = tls
      ? createHttpsServer(
          {
            key: tls.key,
            cert: tls.cert,
            ...(tls.passphrase ? { passphrase: tls.passphrase } : {}),
            handshakeTimeout: HEADERS_TIMEOUT_MS,
            ...timeouts,
          },
          onRequest,
        )
      : createHttpServer(timeouts, onRequest);
    // A request may wait for a slot for as long as an enrichment takes: the body timeout is ours (per slot).
    this.server.requestTimeout = 0;
    this.server.maxConnections = MAX_CONNECTIONS;
    // Node's headersTimeout starts at a request's first byte: a socket that sends none is closed here; the
    // timer is cleared once a request arrives (keep-alive then applies Node's keepAliveTimeout).
    this.server.on(tls ? 'secureConnection' : 'connection', (socket: Socket) => {
      socket.setTimeout(HEADERS_TIMEOUT_MS, () => {
        if (!this.requested.has(socket)) socket.destroy();
      });
    });
    // A TLS handshake that fails (a scan, a wrong CA on the worker) is the client's problem, not a crash.
    this.server.on('tlsClientError', (err) => o.logger.debug({ err }, 'HTTP listen: TLS handshake failed'));
  }

  /** Binds the port; requests are answered 503 until `accept`. Resolves with the port bound. */
  async listen(): Promise<number> {
    const port = this.o.endpoint.port;
    await new Promise<void>((resolve, reject) => {
      const onError = (err: NodeJS.ErrnoException) => {
        this.server.off('listening', onListening);
        const problem =
          err.code === 'EADDRINUSE'
            ? `port ${port} is already in use`
            : err.code === 'EACCES'
              ? `port ${port} may not be bound by this user`
              : `could not be bound (${err.code ?? err.message})`;
        reject(new ConfigError([{ variable: 'CONNECTOR_LISTEN_PROTOCOL_API_PORT', message: problem }], { cause: err }));
      };
      const onListening = () => {
        this.server.off('error', onError);
        resolve();
      };
      this.server.once('error', onError);
      this.server.once('listening', onListening);
      if (this.o.host) this.server.listen(port, this.o.host);
      else this.server.listen(port);
    });
    const address = this.server.address();
    this.boundPort = typeof address === 'object' && address !== null ? address.port : port;
    return this.boundPort;
  }

  get port(): number | null {
    return this.boundPort;
  }

  /** From now on, accepted messages are handed to `handler` (at most `concurrency` at once). */
  accept(handler: ListenBodyHandler): void {
    this.handler = handler;
  }

  /** True while messages are accepted. */
  isConsuming(): boolean {
    return this.handler !== null && !this.stopping && this.server.listening;
  }

  /** Messages accepted (answered 202) and not finished yet. */
  get inFlight(): number {
    return this.tasks.size;
  }

  /**
   * Takes no new message: the port is closed, requests waiting for a slot or still sending their body are
   * answered 503 (the worker requeues them). Messages already accepted keep running.
   */
  stopAccepting(): void {
    if (this.stopping) return;
    this.stopping = true;
    for (const wake of this.waiting.splice(0)) wake(false);
    this.server.close();
    this.server.closeIdleConnections();
  }

  /** Waits up to `ms` for the accepted messages to finish; true when none is left. */
  async drain(ms: number): Promise<boolean> {
    if (this.tasks.size === 0) return true;
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, Math.max(0, ms));
    });
    await Promise.race([Promise.allSettled([...this.tasks]), timedOut]);
    clearTimeout(timer);
    return this.tasks.size === 0;
  }

  /** Closes every connection left (after stopAccepting and drain). */
  close(): void {
    this.stopAccepting();
    this.server.closeAllConnections();
  }

  private async onRequest(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const { logger } = this.o;
    this.requested.add(req.socket);
    req.socket.setTimeout(0);
    const path = (req.url ?? '').split('?')[0];
    if (path !== this.o.endpoint.path) {
      answer(res, 404, { error: 'Not found' }, true);
      return;
    }
    if (req.method !== 'POST') {
      res.setHeader('Allow', 'POST');
      answer(res, 405, { error: 'Method not allowed' }, true);
      return;
    }
    if (!this.authorized(req.headers.authorization)) {
      logger.warn({ remote: req.socket.remoteAddress }, 'HTTP listen: refused a request without the connector token');
      answer(res, 401, { error: 'Invalid credentials' }, true);
      return;
    }
    const declared = Number(req.headers['content-length'] ?? Number.NaN);
    if (Number.isFinite(declared) && declared > this.maxBodyBytes) {
      this.refuseTooLarge(res, declared);
      return;
    }
    if (this.handler === null || this.stopping) {
      this.unavailable(res);
      return;
    }
    if (!(await this.acquire(req))) {
      if (!res.destroyed) this.unavailable(res);
      return;
    }
    let release: (() => void) | null = () => this.release();
    try {
      let body: Buffer;
      try {
        body = await readBody(req, this.maxBodyBytes, BODY_READ_TIMEOUT_MS, BODY_IDLE_TIMEOUT_MS);
      } catch (err) {
        if (err instanceof BodyTooLarge) this.refuseTooLarge(res, null);
        else if (err instanceof BodyTooSlow) {
          logger.warn({ cause: err.message }, 'HTTP listen: refused a request whose body did not arrive in time');
          answer(res, 408, { error: `The body ${err.message}` }, true);
        } else {
          logger.warn({ err }, 'HTTP listen: the request ended before its body was read');
          res.destroy();
        }
        return;
      }
      if (this.stopping) {
        this.unavailable(res);
        return;
      }
      try {
        JSON.parse(body.toString('utf8'));
      } catch (err) {
        logger.error({ bytes: body.length, cause: (err as Error).message }, 'HTTP listen: invalid JSON payload');
        answer(res, 400, { error: 'Invalid JSON payload' }, false);
        return;
      }
      answer(res, 202, { message: 'Message successfully received' }, false);
      const handler = this.handler;
      const done = release;
      release = null;
      const task: Promise<void> = handler(body)
        .catch((err: unknown) => logger.error({ err }, 'HTTP listen: a message failed'))
        .finally(() => {
          this.tasks.delete(task);
          done();
        });
      this.tasks.add(task);
    } finally {
      release?.();
    }
  }

  /** pycti: exactly two blank-separated items, "bearer" in any case, then the token (compared in constant time). */
  private authorized(header: string | undefined): boolean {
    const items = (header ?? '').trim().split(/\s+/);
    if (items.length !== 2 || items[0]?.toLowerCase() !== 'bearer') return false;
    return timingSafeEqual(digest(items[1] ?? ''), this.tokenDigest);
  }

  private refuseTooLarge(res: ServerResponse, declared: number | null): void {
    this.o.logger.error(
      { declaredBytes: declared, limitBytes: this.maxBodyBytes },
      `HTTP listen: refused a message over ${this.maxBodyBytes} bytes`,
    );
    answer(res, 413, { error: `Payload over ${this.maxBodyBytes} bytes` }, true);
  }

  private unavailable(res: ServerResponse): void {
    res.setHeader('Retry-After', '10');
    answer(res, 503, { error: this.stopping ? 'The connector is stopping' : 'The connector is starting' }, true);
  }

  /** A processing slot, waiting for one while all are busy; false when stopping or the client left. */
  private acquire(req: IncomingMessage): Promise<boolean> {
    if (this.busy < this.o.concurrency) {
      this.busy++;
      return Promise.resolve(true);
    }
    return new Promise<boolean>((resolve) => {
      const wake = (slot: boolean) => {
        req.socket.off('close', gone);
        resolve(slot);
      };
      const gone = () => {
        const at = this.waiting.indexOf(wake);
        if (at >= 0) this.waiting.splice(at, 1);
        resolve(false);
      };
      req.socket.once('close', gone);
      this.waiting.push(wake);
    });
  }

  private release(): void {
    const next = this.waiting.shift();
    // The slot passes straight to the next waiter: busy stays the same.
    if (next && !this.stopping) next(true);
    else this.busy--;
  }
}

function digest(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}

/** Answers with a JSON body; `close` when the request body may be left unread (the connection is not reused). */
function answer(res: ServerResponse, status: number, body: Record<string, string>, close: boolean): void {
  if (res.headersSent || res.destroyed) return;
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'Content-Type': 'application/json',
    'Content-Length': Buffer.byteLength(text),
    ...(close ? { Connection: 'close' } : {}),
  });
  res.end(text);
}

/** The body, refused (BodyTooLarge) as soon as it grows past `limit`, without keeping more than that. */
function readBody(req: IncomingMessage, limit: number, timeoutMs: number, idleMs: number): Promise<Buffer> {
  return new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const timer = setTimeout(
      () => finish(new BodyTooSlow(`did not arrive in time (over ${timeoutMs} ms in all)`)),
      timeoutMs,
    );
    const idle = setTimeout(() => finish(new BodyTooSlow(`did not arrive in time (nothing for ${idleMs} ms)`)), idleMs);
    const finish = (err: Error | null) => {
      clearTimeout(timer);
      clearTimeout(idle);
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
      req.off('aborted', onAborted);
      if (err) {
        req.pause();
        reject(err);
      } else resolve(Buffer.concat(chunks, size));
    };
    const onData = (chunk: Buffer) => {
      idle.refresh();
      size += chunk.length;
      if (size > limit) {
        chunks.length = 0;
        finish(new BodyTooLarge());
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = () => finish(null);
    const onError = (err: Error) => finish(err);
    const onAborted = () => finish(new Error('the client closed the connection'));
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
    req.on('aborted', onAborted);
  });
}
