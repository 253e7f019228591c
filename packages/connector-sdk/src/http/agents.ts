/**
 * The connection agents of one vendor client: keep-alive agents for direct connections and, when a proxy
 * is set, a forwarding agent for http:// (http-proxy-agent: the request line carries the absolute URL, what
 * proxies expect; most refuse to CONNECT to port 80) and a CONNECT tunnel for https:// (TLS end to end: the
 * proxy sees only host:port). The proxy libraries are loaded by the first request that needs them. Every
 * agent pools its sockets and drops those the server may have closed before they are reused.
 */
import http from 'node:http';
import https from 'node:https';
import { closeStaleSockets, trackIdleSockets } from './keep-alive.js';
import { type ProxySettings, proxyFor } from './proxy.js';
import type { TlsSettings } from './trust.js';

/** The agents a hop goes through, one per scheme, as axios and its redirects take them. */
export interface HopAgents {
  http: http.Agent;
  https: http.Agent;
}

export interface TransportAgents {
  /** Loads the proxy libraries the settings need; forUrl may be called once it has resolved. */
  ready(): Promise<void>;
  /** The agents a request to `url` goes through: direct, or through the proxy its scheme and host call for. */
  forUrl(url: URL): HopAgents;
  destroy(): void;
}

/** A proxied request never falls back to a direct connection: the proxy agent must have been loaded. */
function loaded(agent: http.Agent | undefined): http.Agent {
  if (agent === undefined) throw new Error('the proxy agents are used before ready() resolved');
  return agent;
}

export function createTransportAgents(
  proxySettings: ProxySettings,
  tlsSettings: TlsSettings,
  connectTimeoutMs: number,
): TransportAgents {
  const tlsOptions = {
    ...(tlsSettings.ca === undefined ? {} : { ca: tlsSettings.ca }),
    rejectUnauthorized: tlsSettings.rejectUnauthorized,
  };
  const direct: HopAgents = {
    http: trackIdleSockets(new http.Agent({ keepAlive: true, scheduling: 'lifo' })),
    https: trackIdleSockets(new https.Agent({ keepAlive: true, scheduling: 'lifo', ...tlsOptions })),
  };
  let forward: http.Agent | undefined;
  let tunnel: http.Agent | undefined;
  let loading: Promise<void> | undefined;

  const load = async (): Promise<void> => {
    const { httpProxy, httpsProxy } = proxySettings;
    if (httpProxy !== undefined && forward === undefined) {
      const { HttpProxyAgent } = await import('http-proxy-agent');
      forward = trackIdleSockets(new HttpProxyAgent(httpProxy, { keepAlive: true, scheduling: 'lifo', ...tlsOptions }));
    }
    if (httpsProxy !== undefined && tunnel === undefined) {
      const { TunnelAgent } = await import('./tunnel-agent.js');
      tunnel = trackIdleSockets(new TunnelAgent(httpsProxy, tlsSettings, connectTimeoutMs));
    }
  };

  return {
    ready() {
      if (proxySettings.httpProxy === undefined && proxySettings.httpsProxy === undefined) return Promise.resolve();
      loading ??= load();
      return loading;
    },
    forUrl(url) {
      const proxied = proxyFor(url, proxySettings) !== undefined;
      const agents: HopAgents = {
        http: proxied && url.protocol === 'http:' ? loaded(forward) : direct.http,
        https: proxied && url.protocol === 'https:' ? loaded(tunnel) : direct.https,
      };
      // A pooled socket the vendor closed while this process was busy must not carry the request.
      closeStaleSockets(url.protocol === 'https:' ? agents.https : agents.http);
      return agents;
    },
    destroy() {
      for (const agent of [direct.http, direct.https, forward, tunnel]) agent?.destroy();
    },
  };
}
