/**
 * The CONNECT tunnel through an HTTP(S) proxy for https:// requests: https-proxy-agent, with what this client
 * needs and the library leaves to its callers. A tunnel the proxy refuses is an error naming the proxy's status
 * (the library replays the proxy's answer as if the vendor had sent it: a 407 or a captive portal's 302 would
 * pass for the vendor's), and a proxy that never answers the CONNECT is given up on with its socket closed
 * (the library waits without a bound, and its socket outlives the request that was cut).
 */
import type http from 'node:http';
import type net from 'node:net';
import { HttpsProxyAgent } from 'https-proxy-agent';
import type { TlsSettings } from './trust.js';

/** The proxy answered the CONNECT with another status than 200. */
export class ProxyTunnelRefused extends Error {
  readonly code = 'EPROXY';
  constructor(readonly proxyStatus: number) {
    super(`the proxy refused the tunnel with status ${proxyStatus}`);
    this.name = 'ProxyTunnelRefused';
  }
}

/** The proxy did not answer the CONNECT in time. */
class ProxyConnectTimeout extends Error {
  readonly code = 'ETIMEDOUT';
  constructor(timeoutMs: number) {
    super(`the proxy did not open a tunnel within ${timeoutMs} ms`);
    this.name = 'ProxyConnectTimeout';
  }
}

/** What the library's connect is handed for a request (agent-base's connect options). */
type ConnectOptions = Parameters<HttpsProxyAgent<string>['connect']>[1];

export class TunnelAgent extends HttpsProxyAgent<string> {
  readonly #tls: TlsSettings;
  readonly #connectTimeoutMs: number;

  constructor(proxy: URL, tlsSettings: TlsSettings, connectTimeoutMs: number) {
    const trust = {
      ...(tlsSettings.ca === undefined ? {} : { ca: tlsSettings.ca }),
      rejectUnauthorized: tlsSettings.rejectUnauthorized,
    };
    // The trust settings apply to an https:// proxy's own certificate too.
    super(proxy, { keepAlive: true, scheduling: 'lifo', ...trust });
    this.#tls = tlsSettings;
    this.#connectTimeoutMs = connectTimeoutMs;
  }

  override async connect(req: http.ClientRequest, opts: ConnectOptions): Promise<net.Socket> {
    let proxyStatus: number | undefined;
    const onAnswer = (answer: { statusCode: number }) => {
      proxyStatus = answer.statusCode;
    };
    req.once('proxyConnect', onAnswer);
    const giveUp = new AbortController();
    const shared = this.connectOpts;
    // The socket to the proxy is opened before the library's first await, from connectOpts: this call's copy
    // carries the signal that destroys it if the proxy's answer does not come in time.
    this.connectOpts = { ...shared, signal: giveUp.signal };
    let connecting: Promise<net.Socket>;
    try {
      // The library's TLS to the vendor takes its options from here (the agent's own options are not merged in).
      const origin = opts.secureEndpoint
        ? {
            ...opts,
            ...(this.#tls.ca === undefined ? {} : { ca: this.#tls.ca }),
            rejectUnauthorized: this.#tls.rejectUnauthorized,
          }
        : opts;
      connecting = super.connect(req, origin);
    } finally {
      this.connectOpts = shared;
    }
    const timer = setTimeout(() => giveUp.abort(), this.#connectTimeoutMs);
    let socket: net.Socket;
    try {
      socket = await connecting;
    } catch (err) {
      throw giveUp.signal.aborted ? new ProxyConnectTimeout(this.#connectTimeoutMs) : err;
    } finally {
      clearTimeout(timer);
      req.off('proxyConnect', onAnswer);
    }
    if (proxyStatus !== undefined && proxyStatus !== 200) {
      socket.destroy();
      throw new ProxyTunnelRefused(proxyStatus);
    }
    return socket;
  }
}
