/** The vendor's base URL and the request URLs resolved against it. */
import { redactUrl } from '../log/redact.js';
import type { QueryParams } from './types.js';

export function parseBaseUrl(value: string): URL {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new TypeError(`baseURL is not an absolute URL: ${redactUrl(value)}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new TypeError(`baseURL must be http:// or https://, got ${url.protocol}`);
  }
  if (!url.pathname.endsWith('/')) url.pathname = `${url.pathname}/`;
  return url;
}

/** Relative URLs extend the base path (axios' rule): '/smoke/1.2.3.4' on '.../v2' is '.../v2/smoke/1.2.3.4'. */
export function resolveUrl(base: URL, url: string, params: QueryParams | undefined): URL {
  const target = /^[a-z][a-z0-9+.-]*:/i.test(url) ? new URL(url) : new URL(url.replace(/^\/+/, ''), base);
  if (target.protocol !== 'http:' && target.protocol !== 'https:') {
    throw new TypeError(`only http:// and https:// URLs can be requested, got ${target.protocol}`);
  }
  for (const [name, value] of Object.entries(params ?? {})) {
    if (value === undefined || value === null) continue;
    const values: readonly (string | number | boolean)[] = Array.isArray(value) ? value : [value];
    for (const v of values) target.searchParams.append(name, String(v));
  }
  return target;
}
