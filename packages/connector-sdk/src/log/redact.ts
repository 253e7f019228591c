/**
 * Secret redaction shared by the logger, the vendor HTTP client and the OpenCTI client.
 *
 * Three layers, because pino's path redaction only covers declared paths: known secret values
 * (from the config schema's secret marks, registered at start-up) are replaced wherever they appear
 * in a string, in any encoding (see secret-search.ts); credential-looking query parameters and URL
 * user-info are masked; header names that carry credentials are masked in any object.
 */
import { findSecretSpans } from './secret-search.js';

export const REDACTED = '[REDACTED]';

/** Header names whose values are credentials, lower-case. */
export const SECRET_HEADER_NAMES: ReadonlySet<string> = new Set([
  'authorization',
  'proxy-authorization',
  'x-api-key',
  'api-key',
  'apikey',
  'x-apikey',
  'cookie',
  'set-cookie',
  'x-auth-token',
  'private-token',
]);

/** Query-string and form parameter names whose values are credentials, lower-case. */
const SECRET_PARAM_PATTERN =
  /^(?:api[_-]?key|apikey|key|token|access[_-]?token|refresh[_-]?token|id[_-]?token|auth|authorization|secret|client[_-]?secret|password|passwd|pass|pwd|signature|sig|x-api-key)$/i;

const secretValues: Map<string, Buffer> = new Map();

/**
 * Texts redactString found nothing to mask in, the most recently used last. The same texts come back on
 * every message (a work's "Connector ready to process the operation"), and each costs a search of every
 * encoding of every secret. Only texts that hold nothing are kept (never one holding a secret), and the set
 * is emptied whenever the registered secrets change: a text clean before a secret was registered may hold it.
 */
const cleanTexts = new Set<string>();
const CLEAN_TEXTS_MAX = 256;
/** Longer texts (answers, stack traces) rarely repeat and would make the set hold too much. */
const CLEAN_TEXT_MAX_LENGTH = 1024;

/**
 * Registers values that must never be printed (API keys, tokens, passwords), in any encoding: raw,
 * URL-encoded, JSON-escaped, base64 (alone or inside a larger value, as in a Basic header's
 * `user:secret`). Values shorter than 4 characters are ignored: masking them would shred ordinary
 * text and they protect nothing.
 */
export function registerSecret(value: string | undefined | null): void {
  if (typeof value === 'string' && value.length >= 4 && !secretValues.has(value)) {
    secretValues.set(value, Buffer.from(value, 'utf8'));
    cleanTexts.clear();
  }
}

/** Forgets every registered secret (tests). */
export function clearRegisteredSecrets(): void {
  secretValues.clear();
  cleanTexts.clear();
}

/** Replaces each registered secret, in whatever encoding it appears, with the marker. */
function maskSecretValues(text: string): string {
  return maskSpans(text, secretValues);
}

/**
 * Masks `values` (not registered: values that may hold a secret by mistake, such as every setting of a
 * configuration that failed to load) in any encoding, as registered secrets are. Values shorter than 4
 * characters are left alone.
 */
export function maskValues(text: string, values: Iterable<string>): string {
  const set = new Map<string, Buffer>();
  for (const value of values) if (value.length >= 4) set.set(value, Buffer.from(value, 'utf8'));
  return maskSpans(text, set);
}

function maskSpans(text: string, secrets: ReadonlyMap<string, Buffer>): string {
  if (secrets.size === 0) return text;
  const spans = findSecretSpans(text, secrets);
  if (spans.length === 0) return text;
  let out = '';
  let at = 0;
  for (const [start, end] of spans) {
    out += text.slice(at, start) + REDACTED;
    at = end;
  }
  return out + text.slice(at);
}

/** Object field names whose values are credentials (narrower than query parameters: `key` is common data). */
const SECRET_FIELD_PATTERN =
  /^(?:api[_-]?key|apikey|x-api-key|token|access[_-]?token|refresh[_-]?token|id[_-]?token|secret|client[_-]?secret|password|passwd|pass|private[_-]?key)$/i;

export function isSecretFieldName(name: string): boolean {
  return SECRET_FIELD_PATTERN.test(name) || isSecretHeaderName(name);
}

export function isSecretParamName(name: string): boolean {
  return SECRET_PARAM_PATTERN.test(name);
}

export function isSecretHeaderName(name: string): boolean {
  return SECRET_HEADER_NAMES.has(name.toLowerCase());
}

/**
 * Replaces every registered secret value (in any encoding), Bearer/Basic credentials, and the values of
 * credential-named form and query parameters inside a string.
 */
export function redactString(text: string): string {
  if (cleanTexts.has(text)) {
    // Most recently used last, so that the texts that keep coming back are the ones kept.
    cleanTexts.delete(text);
    cleanTexts.add(text);
    return text;
  }
  let out = maskSecretValues(text);
  // Authorization-style credentials. "token" alone is common prose ("the OAuth token expired"): only a
  // long token-looking word after it is masked.
  out = out.replace(/\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]{8,}/gi, `$1 ${REDACTED}`);
  out = out.replace(/\b(Token)\s+[A-Za-z0-9._~+/=-]{16,}/gi, `$1 ${REDACTED}`);
  out = redactFormPairs(out);
  out = redactUrlsInText(out);
  if (out === text && text.length <= CLEAN_TEXT_MAX_LENGTH) {
    if (cleanTexts.size >= CLEAN_TEXTS_MAX) cleanTexts.delete(cleanTexts.values().next().value as string);
    cleanTexts.add(text);
  }
  return out;
}

/**
 * `client_secret=...` outside a URL: a form body a vendor echoes back in an error, or a config line. Only
 * names that are credentials wherever they appear (not `key` or `sig`, common in ordinary data).
 */
function redactFormPairs(text: string): string {
  if (!text.includes('=')) return text;
  return text.replace(
    /(^|[\s&?;,"'{(])([A-Za-z_-]{4,20})=([^\s&"'<>;,)}]+)/g,
    (whole, lead: string, name: string, value: string) =>
      SECRET_FIELD_PATTERN.test(name) && value !== REDACTED ? `${lead}${name}=${REDACTED}` : whole,
  );
}

/** Masks user-info and credential query parameters of an absolute or relative URL. */
export function redactUrl(url: string): string {
  const schemeMatch = /^([a-z][a-z0-9+.-]*:\/\/)([^/?#@]*@)?(.*)$/i.exec(url);
  let rest = url;
  let prefix = '';
  if (schemeMatch) {
    prefix = schemeMatch[1] + (schemeMatch[2] ? `${REDACTED}@` : '');
    rest = schemeMatch[3] ?? '';
  }
  const q = rest.indexOf('?');
  if (q < 0) return prefix + rest;
  const hashAt = rest.indexOf('#', q);
  const query = hashAt < 0 ? rest.slice(q + 1) : rest.slice(q + 1, hashAt);
  const hash = hashAt < 0 ? '' : rest.slice(hashAt);
  const masked = query
    .split('&')
    .map((pair) => {
      const eq = pair.indexOf('=');
      if (eq < 0) return pair;
      const name = safeDecode(pair.slice(0, eq));
      return isSecretParamName(name) ? `${pair.slice(0, eq)}=${REDACTED}` : pair;
    })
    .join('&');
  return `${prefix}${rest.slice(0, q)}?${masked}${hash}`;
}

function redactUrlsInText(text: string): string {
  if (!text.includes('://') && !text.includes('?')) return text;
  return text.replace(/[a-z][a-z0-9+.-]*:\/\/[^\s"'<>]+/gi, (u) => redactUrl(u));
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

/** Masks credential headers of a header record (any casing), keeping the others. */
export function redactHeaders(headers: Record<string, unknown> | undefined): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (!headers) return out;
  for (const [k, v] of Object.entries(headers)) out[k] = isSecretHeaderName(k) ? REDACTED : v;
  return out;
}

/**
 * Deep copy of `value` with secrets masked: credential headers and parameters by name, registered
 * secret values and credentials inside strings. Cycles are cut, depth is bounded.
 */
/**
 * Attached files (`x_opencti_files`) in a logged object: their names, types and sizes, never their content
 * (a screenshot is megabytes of base64, and may show what the page showed).
 */
function describeFiles(files: unknown): unknown {
  if (!Array.isArray(files)) return '[file content]';
  return files.map((f) => {
    if (f === null || typeof f !== 'object') return '[file content]';
    const { name, mime_type, data } = f as { name?: unknown; mime_type?: unknown; data?: unknown };
    return {
      name: typeof name === 'string' ? redactString(name) : undefined,
      mime_type,
      data: `[file content, ${typeof data === 'string' ? data.length : 0} base64 characters]`,
    };
  });
}

export function redactDeep(value: unknown, depth = 0, seen: WeakSet<object> = new WeakSet()): unknown {
  if (typeof value === 'string') return redactString(value);
  if (value === null || typeof value !== 'object') return value;
  if (depth > 12) return '[Truncated]';
  if (seen.has(value)) return '[Circular]';
  seen.add(value);
  if (Array.isArray(value)) return value.map((v) => redactDeep(v, depth + 1, seen));
  if (value instanceof Error) {
    const out: Record<string, unknown> = { name: value.name, message: redactString(value.message) };
    if (value.stack) out.stack = redactString(value.stack);
    for (const [k, v] of Object.entries(value)) {
      if (k === 'config' || k === 'request' || k === 'response') continue; // axios internals carry headers
      out[k] = isSecretFieldName(k) ? REDACTED : redactDeep(v, depth + 1, seen);
    }
    if (value.cause !== undefined) out.cause = redactDeep(value.cause, depth + 1, seen);
    return out;
  }
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    out[k] =
      k === 'x_opencti_files'
        ? describeFiles(v)
        : isSecretFieldName(k) && v !== null && v !== undefined && typeof v !== 'object'
          ? REDACTED
          : redactDeep(v, depth + 1, seen);
  }
  return out;
}
