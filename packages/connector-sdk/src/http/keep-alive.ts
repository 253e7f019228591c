/**
 * Keep-alive sockets are reused only while the server still holds them open.
 *
 * A server closes a connection idle for longer than its keep-alive timeout (Node's, hence OpenCTI's: 5 s,
 * announced as `Keep-Alive: timeout=5`). When this process's event loop is busy at that moment (a large
 * bundle being mapped), the close is not seen yet, the next request is written on the dead socket and
 * fails with ECONNRESET, which a call that must not run twice (addExpectations, a vendor POST) cannot
 * retry. Node's agent arms a timer from the header only when the agent has a timeout of its own, and a
 * timer cannot fire while the loop is blocked anyway. So, as undici does, each pooled socket records when it
 * became idle and until when the server will keep it; before a request, the sockets past that point are
 * closed instead of reused. Wall-clock time: a stalled loop cannot make a stale socket look fresh.
 */
import type http from 'node:http';
import type { Duplex } from 'node:stream';

export interface KeepAlivePolicy {
  /** How long an idle socket is reused when the server announces no timeout (undici: 4 s). */
  defaultIdleMs: number;
  /** Taken off the server's announced timeout: the answer's transit and clock granularity (Node: 1 s). */
  marginMs: number;
  /** Ceiling on an announced timeout (undici: 10 min). */
  maxIdleMs: number;
}

export const KEEP_ALIVE_DEFAULTS: Readonly<KeepAlivePolicy> = {
  defaultIdleMs: 4_000,
  marginMs: 1_000,
  maxIdleMs: 600_000,
};

const TIMEOUT_PARAMETER = /(?:^|[,;\s])timeout\s*=\s*(\d+)/i;

/**
 * How long a socket may sit idle before it must not be reused, from the answer's `Keep-Alive` header
 * (`timeout=<seconds>`): the announced timeout less the margin, capped; the default when the server
 * announces none; null when the announced timeout leaves no safe time to reuse the socket.
 */
export function idleLimitMs(
  keepAliveHeader: string | undefined,
  policy: KeepAlivePolicy = KEEP_ALIVE_DEFAULTS,
): number | null {
  const seconds = keepAliveHeader === undefined ? undefined : TIMEOUT_PARAMETER.exec(keepAliveHeader)?.[1];
  if (seconds === undefined) return policy.defaultIdleMs;
  const limit = Math.min(policy.maxIdleMs, Number(seconds) * 1000 - policy.marginMs);
  return limit > 0 ? Math.floor(limit) : null;
}

/** When each pooled socket stops being reusable (ms since the epoch). */
const reusableUntil = new WeakMap<Duplex, number>();
/**
 * For each agent, a time no later than the first of its pooled sockets stops being reusable: before it
 * there is nothing to close, and the pools are not walked on every request (several per enrichment).
 */
const nothingStaleBefore = new WeakMap<http.Agent, number>();

/** The `Keep-Alive` header of the answer the socket just carried (Node's agent reads it the same way). */
function keepAliveHeaderOf(socket: Duplex): string | undefined {
  const request = (socket as { _httpMessage?: { res?: http.IncomingMessage } })._httpMessage;
  const header = request?.res?.headers['keep-alive'];
  return typeof header === 'string' ? header : undefined;
}

/**
 * Makes `agent` remember, for each socket it pools, until when the server keeps it open. Call
 * {@link closeStaleSockets} right before each request made through the agent. Returns the agent.
 */
export function trackIdleSockets<A extends http.Agent>(agent: A, policy: KeepAlivePolicy = KEEP_ALIVE_DEFAULTS): A {
  const keepSocketAlive = agent.keepSocketAlive.bind(agent) as unknown as (socket: Duplex) => boolean;
  // Node's agent pools the socket only when this returns true (its typings say void).
  (agent as unknown as { keepSocketAlive: (socket: Duplex) => boolean }).keepSocketAlive = (socket) => {
    if (!keepSocketAlive(socket)) return false;
    const limit = idleLimitMs(keepAliveHeaderOf(socket), policy);
    if (limit === null) return false;
    const until = Date.now() + limit;
    reusableUntil.set(socket, until);
    nothingStaleBefore.set(agent, Math.min(nothingStaleBefore.get(agent) ?? Number.POSITIVE_INFINITY, until));
    return true;
  };
  return agent;
}

/**
 * Closes the agent's pooled sockets the server may already have closed, so that the next request opens
 * a fresh connection instead of writing on a dead one. Synchronous: call it just before the request.
 */
export function closeStaleSockets(agent: http.Agent, now: number = Date.now()): void {
  if (now < (nothingStaleBefore.get(agent) ?? Number.POSITIVE_INFINITY)) return;
  let next = Number.POSITIVE_INFINITY;
  const pools = agent.freeSockets as NodeJS.Dict<Duplex[]>;
  for (const [name, sockets] of Object.entries(pools)) {
    if (sockets === undefined) continue;
    for (let i = sockets.length - 1; i >= 0; i--) {
      const socket = sockets[i] as Duplex;
      const until = reusableUntil.get(socket) ?? Number.POSITIVE_INFINITY;
      if (now < until) {
        next = Math.min(next, until);
        continue;
      }
      // Out of the pool at once: the agent would otherwise hand the destroyed socket to the request.
      sockets.splice(i, 1);
      socket.destroy();
    }
    if (sockets.length === 0) delete pools[name];
  }
  nothingStaleBefore.set(agent, next);
}
