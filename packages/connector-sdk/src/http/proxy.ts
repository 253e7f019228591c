import { readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { BlockList, isIP } from 'node:net';
import type { Duplex } from 'node:stream';
import tls from 'node:tls';
import { ConfigError } from '../errors/index.js';
import { registerSecret } from '../log/redact.js';
import { trackIdleSockets } from './keep-alive.js';
import type { ProxyOptions } from './types.js';

/**
 * Proxy, CA and TLS settings for the vendor HTTP client.
 *
 * axios is always given `proxy: false` or an explicit proxy, so it never reads the environment
 * itself and one place decides: here. HTTPS goes through a CONNECT tunnel (TLS end to end, the
 * proxy sees only host:port); plain HTTP is forwarded with an absolute URL, which is what
 * proxies expect and most refuse to CONNECT to port 80.
 */

export interface ProxySettings {
  httpProxy: URL | undefined;
  httpsProxy: URL | undefined;
  bypass: (url: URL) => boolean;
}

type Env = Record<string, string | undefined>;

/** Lower-case first (curl's order); an empty value counts as unset. */
function envValue(env: Env, name: string): string | undefined {
  for (const value of [env[name.toLowerCase()], env[name.toUpperCase()]]) {
    if (value !== undefined && value.trim() !== '') return value.trim();
  }
  return undefined;
}

function parseProxyUrl(value: string | undefined, variable: string): URL | undefined {
  if (value === undefined) return undefined;
  let url: URL;
  try {
    // "proxy:3128" without a scheme is common in the wild; curl reads it as http.
    url = new URL(/^[a-z][a-z0-9+.-]*:\/\//i.test(value) ? value : `http://${value}`);
  } catch {
    throw new ConfigError([{ variable, message: 'is not a valid proxy URL (expected http://host:port)' }]);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new ConfigError([
      { variable, message: `uses ${url.protocol.slice(0, -1)}: only http:// and https:// proxies are supported` },
    ]);
  }
  registerSecret(decodeURIComponent(url.password));
  return url;
}

function defaultPort(protocol: string): string {
  return protocol === 'https:' ? '443' : '80';
}

function stripBrackets(host: string): string {
  return host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
}

/**
 * NO_PROXY as curl and most tools read it: comma or space separated; `*` matches everything;
 * `example.com`, `.example.com` and `*.example.com` match the domain and its subdomains;
 * `host:port` matches that port only; IP addresses and CIDR ranges match literal IP hosts.
 */
export function parseNoProxy(value: string | undefined): (url: URL) => boolean {
  const entries = (value ?? '')
    .split(/[\s,]+/)
    .map((e) => e.trim().toLowerCase())
    .filter((e) => e !== '');
  if (entries.includes('*')) return () => true;

  const ranges = new BlockList();
  let hasRanges = false;
  const names: { host: string; port: string | undefined }[] = [];
  for (const entry of entries) {
    const cidr = /^\[?([^\]/]+)\]?\/(\d{1,3})$/.exec(entry);
    const cidrHost = cidr?.[1];
    if (cidr && cidrHost !== undefined && isIP(cidrHost) !== 0) {
      ranges.addSubnet(cidrHost, Number(cidr[2]), isIP(cidrHost) === 4 ? 'ipv4' : 'ipv6');
      hasRanges = true;
      continue;
    }
    if (isIP(entry) === 6) {
      ranges.addAddress(entry, 'ipv6');
      hasRanges = true;
      continue;
    }
    const hostPort = /^(\[[^\]]+\]|[^:]+)(?::(\d+))?$/.exec(entry);
    const rawHost = hostPort?.[1];
    if (rawHost === undefined) continue;
    const host = stripBrackets(rawHost).replace(/^\*?\./, '');
    const port = hostPort?.[2];
    if (port === undefined && isIP(host) !== 0) {
      ranges.addAddress(host, isIP(host) === 4 ? 'ipv4' : 'ipv6');
      hasRanges = true;
      continue;
    }
    names.push({ host, port });
  }

  return (url: URL) => {
    const host = stripBrackets(url.hostname.toLowerCase());
    const port = url.port || defaultPort(url.protocol);
    const family = isIP(host);
    if (hasRanges && family !== 0 && ranges.check(host, family === 4 ? 'ipv4' : 'ipv6')) return true;
    return names.some(
      (n) => (n.port === undefined || n.port === port) && (host === n.host || host.endsWith(`.${n.host}`)),
    );
  };
}

/** Proxy settings from explicit options, or from HTTPS_PROXY / HTTP_PROXY / NO_PROXY. */
export function resolveProxySettings(option: ProxyOptions | undefined, env: Env): ProxySettings {
  if (option === false) return { httpProxy: undefined, httpsProxy: undefined, bypass: () => true };
  if (option !== undefined) {
    return {
      httpProxy: parseProxyUrl(option.httpProxy, 'proxy.httpProxy'),
      httpsProxy: parseProxyUrl(option.httpsProxy, 'proxy.httpsProxy'),
      bypass: parseNoProxy(option.noProxy),
    };
  }
  return {
    httpProxy: parseProxyUrl(envValue(env, 'http_proxy'), 'HTTP_PROXY'),
    httpsProxy: parseProxyUrl(envValue(env, 'https_proxy'), 'HTTPS_PROXY'),
    bypass: parseNoProxy(envValue(env, 'no_proxy')),
  };
}

export function proxyFor(url: URL, settings: ProxySettings): URL | undefined {
  const proxy = url.protocol === 'https:' ? settings.httpsProxy : settings.httpProxy;
  if (proxy === undefined || settings.bypass(url)) return undefined;
  return proxy;
}

const PEM_BLOCK = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

/** Splits PEM text into certificates, or reads it from a file path. */
function loadPem(value: string, variable: string): string[] {
  let text = value;
  if (!value.includes('-----BEGIN')) {
    try {
      text = readFileSync(value.trim(), 'utf8');
    } catch {
      throw new ConfigError([{ variable, message: 'is neither PEM text nor a readable certificate file' }]);
    }
  }
  const certificates = text.match(PEM_BLOCK) ?? [];
  if (certificates.length === 0) {
    throw new ConfigError([{ variable, message: 'holds no PEM certificate (-----BEGIN CERTIFICATE-----)' }]);
  }
  return certificates;
}

/**
 * Extra CA certificates: the `caCertificates` option, HTTPS_CA_CERTIFICATES (what OpenCTI's
 * integration manager injects into managed connectors) and HTTPS_PROXY_CA (the platform-side
 * name, accepted as well).
 */
export function extraCaCertificates(option: readonly string[] | undefined, env: Env): string[] {
  const out: string[] = [];
  for (const [i, pem] of (option ?? []).entries()) out.push(...loadPem(pem, `caCertificates[${i}]`));
  for (const variable of ['HTTPS_CA_CERTIFICATES', 'HTTPS_PROXY_CA']) {
    const value = env[variable];
    if (value !== undefined && value.trim() !== '') out.push(...loadPem(value, variable));
  }
  return [...new Set(out)];
}

/**
 * The trust store with extra certificates: Node's default store (bundled roots, plus
 * NODE_EXTRA_CA_CERTS and the system store when enabled) followed by the extras. Passing only the
 * extras as `ca` would replace the default store.
 */
export function trustStore(extra: readonly string[]): string[] | undefined {
  if (extra.length === 0) return undefined;
  const defaults =
    typeof tls.getCACertificates === 'function' ? tls.getCACertificates('default') : tls.rootCertificates;
  return [...defaults, ...extra];
}

export interface TlsSettings {
  ca: string[] | undefined;
  rejectUnauthorized: boolean;
}

class ProxyConnectError extends Error {
  readonly code = 'EPROXY';
  readonly proxyStatus: number | undefined;

  constructor(message: string, proxyStatus: number | undefined) {
    super(message);
    this.name = 'ProxyConnectError';
    this.proxyStatus = proxyStatus;
  }
}

/**
 * An https.Agent that opens each connection as a CONNECT tunnel through an HTTP(S) proxy, then
 * runs TLS to the origin inside it. Keep-alive pooling works as usual: pooled sockets are the
 * TLS sockets to the origin.
 */
class ConnectTunnelAgent extends https.Agent {
  readonly #proxy: URL;
  readonly #tls: TlsSettings;
  readonly #connectTimeoutMs: number;

  constructor(proxy: URL, tlsSettings: TlsSettings, connectTimeoutMs: number) {
    super({ keepAlive: true, scheduling: 'lifo' });
    this.#proxy = proxy;
    this.#tls = tlsSettings;
    this.#connectTimeoutMs = connectTimeoutMs;
  }

  override createConnection(
    options: https.RequestOptions,
    callback?: (err: Error | null, stream: Duplex) => void,
  ): Duplex | null | undefined {
    const done = once(callback);
    const host = stripBrackets(String(options.host ?? options.hostname ?? 'localhost'));
    const port = Number(options.port ?? 443);
    const authority = `${host.includes(':') ? `[${host}]` : host}:${port}`;
    const headers: Record<string, string> = { host: authority };
    if (this.#proxy.username !== '') {
      const credentials = `${decodeURIComponent(this.#proxy.username)}:${decodeURIComponent(this.#proxy.password)}`;
      headers['proxy-authorization'] = `Basic ${Buffer.from(credentials).toString('base64')}`;
    }
    const transport = this.#proxy.protocol === 'https:' ? https : http;
    const connectRequest = transport.request({
      host: stripBrackets(this.#proxy.hostname),
      port: this.#proxy.port || defaultPort(this.#proxy.protocol),
      method: 'CONNECT',
      path: authority,
      headers,
      agent: false,
      ...(this.#proxy.protocol === 'https:'
        ? { ca: this.#tls.ca, rejectUnauthorized: this.#tls.rejectUnauthorized, servername: this.#proxy.hostname }
        : {}),
    });
    connectRequest.setTimeout(this.#connectTimeoutMs, () => {
      connectRequest.destroy(
        Object.assign(new Error(`proxy did not open a tunnel within ${this.#connectTimeoutMs} ms`), {
          code: 'ETIMEDOUT',
        }),
      );
    });
    connectRequest.once('connect', (response, socket, head) => {
      connectRequest.setTimeout(0);
      const status = response.statusCode ?? 0;
      if (status !== 200) {
        socket.destroy();
        done(new ProxyConnectError(`proxy refused the tunnel to ${authority} with status ${status}`, status));
        return;
      }
      if (head.length > 0) socket.unshift(head);
      // `host` is what the certificate is checked against; SNI takes names only, not IPs.
      const servername = isIP(host) === 0 ? host : undefined;
      const secure = tls.connect({
        socket,
        host,
        ...(servername === undefined ? {} : { servername }),
        ca: this.#tls.ca,
        rejectUnauthorized: this.#tls.rejectUnauthorized,
        ALPNProtocols: ['http/1.1'],
      });
      done(null, secure);
    });
    connectRequest.once('error', (err) => done(err));
    connectRequest.end();
    return undefined;
  }
}

function once(callback: ((err: Error | null, stream: Duplex) => void) | undefined) {
  let called = false;
  return (err: Error | null, stream?: Duplex) => {
    if (called || callback === undefined) return;
    called = true;
    // The agent's callback accepts a missing stream when err is set.
    (callback as (err: Error | null, stream?: Duplex) => void)(err, stream);
  };
}

export interface TransportAgents {
  /** Agents and axios proxy config for one request URL. */
  forUrl(url: URL): { httpAgent: http.Agent; httpsAgent: https.Agent; proxy: AxiosProxy | false };
  destroy(): void;
}

export interface AxiosProxy {
  protocol: string;
  host: string;
  port: number;
  auth?: { username: string; password: string };
}

/** Builds the connection agents once per client; direct and proxied connections pool separately. */
export function createTransportAgents(
  proxySettings: ProxySettings,
  tlsSettings: TlsSettings,
  connectTimeoutMs: number,
): TransportAgents {
  const tlsOptions = {
    ...(tlsSettings.ca === undefined ? {} : { ca: tlsSettings.ca }),
    rejectUnauthorized: tlsSettings.rejectUnauthorized,
  };
  const httpAgent = trackIdleSockets(new http.Agent({ keepAlive: true, scheduling: 'lifo' }));
  const httpsAgent = trackIdleSockets(new https.Agent({ keepAlive: true, scheduling: 'lifo', ...tlsOptions }));
  const tunnel =
    proxySettings.httpsProxy === undefined
      ? undefined
      : trackIdleSockets(new ConnectTunnelAgent(proxySettings.httpsProxy, tlsSettings, connectTimeoutMs));
  const forwardProxy = proxySettings.httpProxy === undefined ? undefined : toAxiosProxy(proxySettings.httpProxy);

  return {
    forUrl(url) {
      const proxy = proxyFor(url, proxySettings);
      if (proxy === undefined) return { httpAgent, httpsAgent, proxy: false };
      if (url.protocol === 'https:' && tunnel !== undefined) return { httpAgent, httpsAgent: tunnel, proxy: false };
      return { httpAgent, httpsAgent, proxy: forwardProxy ?? false };
    },
    destroy() {
      httpAgent.destroy();
      httpsAgent.destroy();
      tunnel?.destroy();
    },
  };
}

function toAxiosProxy(url: URL): AxiosProxy {
  const proxy: AxiosProxy = {
    protocol: url.protocol.slice(0, -1),
    host: stripBrackets(url.hostname),
    port: Number(url.port || defaultPort(url.protocol)),
  };
  if (url.username !== '') {
    proxy.auth = { username: decodeURIComponent(url.username), password: decodeURIComponent(url.password) };
  }
  return proxy;
}
