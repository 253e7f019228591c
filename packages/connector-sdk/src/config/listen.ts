/**
 * The settings of the HTTP listen protocol (pycti's `CONNECTOR_LISTEN_PROTOCOL=API`): names and defaults as
 * the pycti 7 helper reads them (connector_helper.py). The TLS key, certificate and passphrase carry no
 * `CONNECTOR_` prefix there, and so none here (their config.yml keys are in the `connector` section, as
 * pycti reads them). Cross-field rules (TLS needs a key and a certificate) are
 * checked where the endpoint is built (runtime/listen-endpoint.ts), once the whole environment is known.
 */
import { z } from 'zod';
import { env, fieldMeta } from './fields.js';

/** The longest callback path accepted: far beyond any real one, short of what HTTP servers refuse. */
export const MAX_CALLBACK_PATH_LENGTH = 1024;

/** RFC 3986 path characters (pchar and "/"); "%" only as the start of a %XX escape. */
const PATH_CHAR = /^[A-Za-z0-9\-._~!$&'()*+,;=:@/]$/;

/**
 * Why `raw` is not a callback path, or null when it is one: it starts with "/", holds only the characters
 * a URL path may hold (no space, "?", "#" or control character; "%" only in a %XX escape) and no "." or
 * ".." segment (a proxy or client would resolve them away, and the platform's POST would miss the route).
 */
export function callbackPathProblem(raw: string): string | null {
  if (!raw.startsWith('/')) return 'must start with "/" (e.g. /api/callback)';
  if (raw.length > MAX_CALLBACK_PATH_LENGTH) return `must be at most ${MAX_CALLBACK_PATH_LENGTH} characters`;
  for (let i = 0; i < raw.length; i++) {
    const ch = raw.charAt(i);
    if (ch === '%') {
      if (!/^%[0-9A-Fa-f]{2}$/.test(raw.slice(i, i + 3))) return 'has a "%" that does not start a %XX escape';
      i += 2;
      continue;
    }
    if (ch === '?' || ch === '#') return `must be a path only, without "${ch}"`;
    if (!PATH_CHAR.test(ch)) return 'may hold only the characters of a URL path (letters, digits, - . _ ~ / and %XX)';
  }
  if (raw.split('/').some((segment) => segment === '.' || segment === '..')) {
    return 'must not hold "." or ".." segments';
  }
  return null;
}

const callbackPath = z
  .string({ error: 'expected a text value' })
  .transform((raw, ctx) => {
    const text = raw.trim();
    const problem = callbackPathProblem(text);
    if (problem !== null) {
      ctx.addIssue({ code: 'custom', message: problem });
      return z.NEVER;
    }
    return text;
  })
  .optional()
  .default('/api/callback');

/**
 * The base URI the platform reaches the connector at (a reverse proxy's address, or the connector's own):
 * an http(s) URL without query, fragment or credentials; the path is appended to it as pycti does.
 */
const callbackBase = env.url({
  description:
    'The address OpenCTI reaches this connector at, registered with the path appended (default: http, or https with TLS, on 127.0.0.1 at the port in use)',
});
const callbackUri = callbackBase
  .transform((uri, ctx) => {
    const url = new URL(uri);
    if (url.search !== '' || url.hash !== '') {
      ctx.addIssue({ code: 'custom', message: 'must not hold a query or a fragment: the path is appended to it' });
      return z.NEVER;
    }
    if (url.username !== '' || url.password !== '') {
      ctx.addIssue({ code: 'custom', message: 'must not hold credentials: the platform authenticates with its token' });
      return z.NEVER;
    }
    return uri;
  })
  .optional()
  .meta({ cti: { ...fieldMeta(callbackBase), kind: 'string' } });

export const listenConfig = {
  CONNECTOR_LISTEN_PROTOCOL: env.enum(['AMQP', 'API'], {
    default: 'AMQP',
    description:
      'How an enrichment receives requests: AMQP (the listen queue) or API (OpenCTI POSTs each request to this connector)',
  }),
  CONNECTOR_LISTEN_PROTOCOL_API_PORT: env.int({
    default: 7070,
    min: 0,
    max: 65535,
    description: 'Port of the HTTP listen endpoint (0: one the system picks)',
  }),
  CONNECTOR_LISTEN_PROTOCOL_API_PATH: callbackPath.meta({
    cti: {
      kind: 'string',
      defaultValue: '/api/callback',
      defaultText: '/api/callback',
      description: 'Path of the HTTP listen endpoint, starting with /',
    },
    description: 'Path of the HTTP listen endpoint, starting with /',
  }),
  CONNECTOR_LISTEN_PROTOCOL_API_URI: callbackUri,
  CONNECTOR_LISTEN_PROTOCOL_API_SSL: env.boolean(false, {
    description: 'Serve the HTTP listen endpoint over TLS (LISTEN_PROTOCOL_API_SSL_KEY and _CERT)',
  }),
  LISTEN_PROTOCOL_API_SSL_KEY: env.optionalSecret({
    multiline: true,
    description: 'TLS private key of the HTTP listen endpoint: PEM text or a file path',
    yaml: ['connector.listen_protocol_api_ssl_key'],
  }),
  LISTEN_PROTOCOL_API_SSL_CERT: env.optionalString({
    description: 'TLS certificate (chain) of the HTTP listen endpoint: PEM text or a file path',
    yaml: ['connector.listen_protocol_api_ssl_cert'],
  }),
  LISTEN_PROTOCOL_API_SSL_PASSPHRASE: env.optionalSecret({
    description: 'Passphrase of an encrypted LISTEN_PROTOCOL_API_SSL_KEY',
    yaml: ['connector.listen_protocol_api_ssl_passphrase'],
  }),
} satisfies Record<string, z.ZodType>;
