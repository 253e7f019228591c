/**
 * Which TLS certificates the vendor client trusts: Node's default store, plus the CAs a connector or the
 * platform adds (a corporate proxy's, a private vendor's).
 */
import { readFileSync } from 'node:fs';
import tls from 'node:tls';
import { ConfigError } from '../errors/index.js';

type Env = Record<string, string | undefined>;

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
