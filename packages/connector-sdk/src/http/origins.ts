/**
 * Which origins may receive the vendor's credentials: the base URL's and those the connector adds. An origin
 * is scheme, host and port, the default port made explicit: another port of the same host is another server,
 * and an https vendor's credentials never go over plain http.
 */
import { redactUrl } from '../log/redact.js';

/** `scheme://host:port` with the port always written (https://api.example:443). */
export function originOf(url: URL): string {
  const port = url.port === '' ? (url.protocol === 'https:' ? '443' : url.protocol === 'http:' ? '80' : '') : url.port;
  return `${url.protocol}//${url.hostname.toLowerCase()}:${port}`;
}

function parseAllowedOrigin(value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new TypeError(
      `allowedOrigins entries are origins such as https://files.example.com, got ${redactUrl(value)}`,
    );
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new TypeError(`allowedOrigins entries must be http:// or https:// origins, got ${url.protocol}`);
  }
  return originOf(url);
}

export interface CredentialOrigins {
  /** Whether a request to `url` may carry the credentials. */
  allows(url: URL): boolean;
  /** The allowed origins, for an error message. */
  readonly list: readonly string[];
}

export function credentialOrigins(base: URL, extra: readonly string[] | undefined): CredentialOrigins {
  const allowed = new Set([originOf(base), ...(extra ?? []).map(parseAllowedOrigin)]);
  return { allows: (url) => allowed.has(originOf(url)), list: [...allowed] };
}
