import { BlockList, isIP } from 'node:net';
import { ConfigError } from '../errors/index.js';
import { registerSecret } from '../log/redact.js';
import type { ProxyOptions } from './types.js';

/**
 * The proxy settings of the vendor HTTP client: HTTPS_PROXY, HTTP_PROXY and NO_PROXY, or the connector's own.
 * axios is always given `proxy: false`, so it never reads the environment itself: which proxy a URL goes
 * through is decided here, for the first request and for every redirect hop.
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
