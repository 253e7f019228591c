/**
 * An HTTP server on 127.0.0.1 that runs in a worker thread, so that it keeps its own clock while the
 * test's thread is blocked: it closes idle keep-alive connections after `keepAliveTimeoutMs` (announcing
 * `Keep-Alive: timeout=<s>` as Node's server does) even when the client's event loop is stalled, which
 * is how a busy connector ends up writing on a socket the platform closed.
 */
import { Worker } from 'node:worker_threads';

export interface KeepAliveServerOptions {
  /** The server's idle timeout (Node's default is 5 s). */
  keepAliveTimeoutMs: number;
  /** Read each request, then destroy the connection without answering (a crash after receiving it). */
  resetAfterRead?: boolean;
  /** The JSON answered to every request. */
  body?: unknown;
}

export interface KeepAliveServer {
  url: string;
  /** Requests the server read completely. */
  readonly received: number;
  /** TCP connections it accepted. */
  readonly connections: number;
  close(): Promise<void>;
}

const WORKER = `
const http = require('node:http');
const { parentPort, workerData } = require('node:worker_threads');
const counters = new Int32Array(workerData.counters);
const server = http.createServer((req, res) => {
  req.resume();
  req.on('end', () => {
    Atomics.add(counters, 0, 1);
    if (workerData.resetAfterRead) {
      req.socket.destroy();
      return;
    }
    res.setHeader('content-type', 'application/json');
    res.end(workerData.body);
  });
});
server.keepAliveTimeout = workerData.keepAliveTimeoutMs;
server.on('connection', () => Atomics.add(counters, 1, 1));
server.listen(0, '127.0.0.1', () => parentPort.postMessage(server.address().port));
parentPort.on('message', () => {
  server.closeAllConnections();
  server.close(() => process.exit(0));
});
`;

export async function startKeepAliveServer(options: KeepAliveServerOptions): Promise<KeepAliveServer> {
  const shared = new SharedArrayBuffer(8);
  const counters = new Int32Array(shared);
  const worker = new Worker(WORKER, {
    eval: true,
    workerData: {
      counters: shared,
      keepAliveTimeoutMs: options.keepAliveTimeoutMs,
      resetAfterRead: options.resetAfterRead === true,
      body: JSON.stringify(options.body ?? { ok: true }),
    },
  });
  const port = await new Promise<number>((resolve, reject) => {
    worker.once('message', resolve);
    worker.once('error', reject);
  });
  return {
    url: `http://127.0.0.1:${port}`,
    get received() {
      return Atomics.load(counters, 0);
    },
    get connections() {
      return Atomics.load(counters, 1);
    },
    close: async () => {
      const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
      worker.postMessage('close');
      await exited;
    },
  };
}

/** Blocks this thread for `ms` without burning a core, as a long synchronous computation would block it. */
export function blockEventLoop(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}
