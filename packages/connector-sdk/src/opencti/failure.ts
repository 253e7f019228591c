/**
 * Turns whatever a GraphQL call threw into a PlatformError an admin can act on, plus the facts the
 * retry policy needs. Messages name the operation, the endpoint (credentials masked) and the
 * platform's own words; they never carry a header or the token (every message is also passed
 * through the registered-secret redaction).
 */
import { PlatformError } from '../errors/index.js';
import { certificateProblem, isTlsProtocolFailure } from '../http/tls-errors.js';
import { redactString, redactUrl } from '../log/redact.js';
import { GraphQLResponseError } from './answer.js';
import { ANSWER_TOO_LARGE, formatSeconds, MAX_ANSWER_BYTES, RequestTimeout, TransportError } from './transport.js';

/**
 * Whether the platform may have acted on the request:
 * - `not-sent`: provably not (no connection, DNS failure, TLS handshake failure, a proxy's 502/503/429);
 * - `maybe`: the request may have been received (timeout or reset after connecting, a gateway timeout);
 * - `processed`: the platform answered (a GraphQL error, a 500).
 */
export type Delivery = 'not-sent' | 'maybe' | 'processed';

export interface ClassifiedFailure {
  error: PlatformError;
  delivery: Delivery;
  /** Short cause for log lines: "ECONNREFUSED", "HTTP 502", "timeout after 60s", "AUTH_REQUIRED". */
  reason: string;
  /**
   * A failure only a setting can fix (a TLS certificate the settings do not trust): the setting, and what is
   * wrong in words. Waiting for the platform is pointless then.
   */
  misconfigured?: { variable: string; message: string };
}

export interface FailureContext {
  /** The GraphQL operation name. */
  operation: string;
  /** The GraphQL endpoint, for messages (masked here). */
  endpoint: string;
}

/** GraphQL error codes that mean "the token is not accepted" rather than "this user may not do that". */
const TOKEN_REJECTED_CODES = new Set(['AUTH_REQUIRED', 'UNAUTHENTICATED']);
const TOKEN_REJECTED_MESSAGES = [/you must be logged in/i, /not allowed to use api access tokens/i];
/** GraphQL error codes for a missing capability. */
const FORBIDDEN_CODES = new Set(['FORBIDDEN_ACCESS', 'FORBIDDEN']);
/** Platform-side errors that may pass on their own (a lock held by another request, the database). */
const TRANSIENT_GRAPHQL_CODES = new Set(['LOCK_ERROR', 'DATABASE_ERROR']);

export const TOKEN_REJECTED_MESSAGE = 'OpenCTI rejected the token (OPENCTI_TOKEN)';

export interface GraphQLErrorFacts {
  message: string;
  code: string | undefined;
}

export function classifyFailure(err: unknown, ctx: FailureContext): ClassifiedFailure {
  const endpoint = redactUrl(ctx.endpoint);
  if (err instanceof PlatformError) return { error: err, delivery: 'processed', reason: err.message };
  if (err instanceof TransportError) return classifyTransport(err, ctx.operation, endpoint);
  if (err instanceof RequestTimeout) {
    return transportFailure(ctx.operation, `no answer from ${endpoint} within ${formatSeconds(err.timeoutMs)}`, {
      cause: err,
      delivery: 'maybe',
      reason: `timeout after ${formatSeconds(err.timeoutMs)}`,
    });
  }
  if (err instanceof GraphQLResponseError) {
    if (err.problem !== 'not-graphql') return classifyAnswer(err, ctx.operation, endpoint);
    // A 2xx body that is not a GraphQL result (an HTML page, a proxy's login form): the URL most likely
    // does not point at the platform.
    return {
      error: new PlatformError(
        safe(
          `OpenCTI ${ctx.operation} failed: ${endpoint} did not answer with GraphQL JSON (check OPENCTI_URL points at the platform)`,
        ),
        { operation: ctx.operation, retryable: false },
        { cause: new Error(safe(err.message.slice(0, 300))) },
      ),
      delivery: 'maybe',
      reason: 'invalid response',
    };
  }
  const detail = err instanceof Error ? err.message : String(err);
  return {
    error: new PlatformError(
      safe(`OpenCTI ${ctx.operation} failed: ${detail}`),
      { operation: ctx.operation, retryable: false },
      { cause: err },
    ),
    delivery: 'maybe',
    reason: safe(detail.slice(0, 120)),
  };
}

function classifyTransport(err: TransportError, operation: string, endpoint: string): ClassifiedFailure {
  const delivery: Delivery = err.connected ? 'maybe' : 'not-sent';
  if (err.code === 'ETIMEDOUT' && err.cause instanceof RequestTimeout) {
    const after = formatSeconds(err.cause.timeoutMs);
    return transportFailure(operation, `no answer from ${endpoint} within ${after}`, {
      cause: err,
      delivery,
      reason: `timeout after ${after}`,
    });
  }
  if (err.code === ANSWER_TOO_LARGE) {
    // A proxy or server streaming without end: each retry would download as much again, to the same end.
    const what = `the answer from ${endpoint} is over ${MAX_ANSWER_BYTES} bytes, more than can be read`;
    return {
      error: new PlatformError(`OpenCTI ${operation} failed: ${what}`, { operation, retryable: false }, { cause: err }),
      delivery,
      reason: 'answer too large',
    };
  }
  if (err.code === 'ABORTED') {
    return {
      error: new PlatformError(`OpenCTI ${operation} was cancelled`, { operation, retryable: false }, { cause: err }),
      delivery,
      reason: 'cancelled',
    };
  }
  const problem = certificateProblem(err.code);
  if (problem !== undefined || isTlsProtocolFailure(err.code)) {
    const what =
      problem === undefined
        ? `the TLS handshake with ${endpoint} failed (${err.code}): check that OPENCTI_URL's scheme matches the port (https:// to a plain HTTP port fails so)`
        : `the TLS certificate of ${endpoint} was rejected: ${problem} (${err.code}); set OPENCTI_SSL_VERIFY to the path of the CA bundle that signed it, or to false to skip verification`;
    return {
      error: new PlatformError(`OpenCTI ${operation} failed: ${what}`, { operation, retryable: false }, { cause: err }),
      delivery: 'not-sent',
      reason: err.code,
      misconfigured: { variable: problem === undefined ? 'OPENCTI_URL' : 'OPENCTI_SSL_VERIFY', message: what },
    };
  }
  const text = err.connected
    ? `the connection to ${endpoint} failed (${err.code})`
    : `OpenCTI not reachable at ${endpoint} (${err.code})`;
  return transportFailure(operation, text, { cause: err, delivery, reason: err.code });
}

function transportFailure(
  operation: string,
  text: string,
  facts: { cause: unknown; delivery: Delivery; reason: string },
): ClassifiedFailure {
  return {
    error: new PlatformError(
      safe(`OpenCTI ${operation} failed: ${text}`),
      { operation, retryable: true },
      {
        cause: facts.cause,
      },
    ),
    delivery: facts.delivery,
    reason: facts.reason,
  };
}

/** An HTTP error status or GraphQL errors: what the platform (or a proxy before it) said. */
function classifyAnswer(err: GraphQLResponseError, operation: string, endpoint: string): ClassifiedFailure {
  const status = err.status;
  const first = firstGraphQLError(err.errors);
  // The cause is the platform's first error alone, redacted: the answer's body may quote the request.
  const cause = first ? new Error(safe(`${first.code ?? 'GraphQL error'}: ${first.message}`)) : undefined;
  const httpStatus = status >= 200 && status < 300 ? undefined : status;

  // `about` needs only a valid session, so a refusal there is the token itself (7.x: a token without
  // APIACCESS_USETOKEN gets FORBIDDEN_ACCESS "You are not allowed to use API Access Tokens").
  const refusedHealthCheck =
    operation === 'healthCheck' && first?.code !== undefined && FORBIDDEN_CODES.has(first.code);
  if (status === 401 || status === 403 || (first && isTokenRejected(first)) || refusedHealthCheck) {
    return {
      error: new PlatformError(
        `${TOKEN_REJECTED_MESSAGE}${first ? `: ${safe(first.message)}` : `: HTTP ${status} from ${endpoint}`}`,
        { operation, retryable: false, auth: true, status: httpStatus },
        { cause },
      ),
      delivery: 'processed',
      reason: first?.code ?? `HTTP ${status}`,
    };
  }

  if (first && (httpStatus === undefined || httpStatus < 500)) {
    const code = first.code;
    if (code !== undefined && FORBIDDEN_CODES.has(code)) {
      return {
        error: new PlatformError(
          safe(
            `OpenCTI refused ${operation}: the connector's user lacks a capability it needs (${code}: ${first.message})`,
          ),
          { operation, retryable: false, auth: true, status: httpStatus },
          { cause },
        ),
        delivery: 'processed',
        reason: code,
      };
    }
    return {
      error: new PlatformError(
        safe(`OpenCTI ${operation} failed: ${first.message}${code ? ` (${code})` : ''}${hintFor(operation, first)}`),
        { operation, retryable: code !== undefined && TRANSIENT_GRAPHQL_CODES.has(code), status: httpStatus },
        { cause },
      ),
      delivery: 'processed',
      reason: code ?? 'GraphQL error',
    };
  }

  const retryable = status >= 500 || status === 429 || status === 408;
  // A proxy answers 502/503 when it could not reach the platform, and 429 before forwarding; a 504
  // means it forwarded and gave up waiting, so the platform may still act on the request.
  const delivery: Delivery =
    status === 502 || status === 503 || status === 429
      ? 'not-sent'
      : status === 504 || status === 408
        ? 'maybe'
        : 'processed';
  const hint = status === 404 ? ' (check OPENCTI_URL: it should be the platform base URL, without /graphql)' : '';
  return {
    error: new PlatformError(
      safe(`OpenCTI ${operation} failed: HTTP ${status} from ${endpoint}${first ? `: ${first.message}` : ''}${hint}`),
      { operation, retryable, status },
      { cause },
    ),
    delivery,
    reason: `HTTP ${status}`,
  };
}

/** A readable hint for the validation errors an SDK/platform version mismatch produces. */
function hintFor(operation: string, error: GraphQLErrorFacts): string {
  const unknownField = /Field "([^"]+)" is not defined by type "([^"]+)"/.exec(error.message);
  if (unknownField) {
    return `; the platform rejected field ${unknownField[1]} of ${unknownField[2]}: the platform is older than this SDK expects`;
  }
  const unknownArgument = /Unknown argument "([^"]+)" on field "([^"]+)"/.exec(error.message);
  if (unknownArgument) {
    return `; the platform does not know argument ${unknownArgument[1]} of ${unknownArgument[2]}: the platform is older than this SDK expects`;
  }
  if (/Cannot query field|Unknown type/.test(error.message) || error.code === 'GRAPHQL_VALIDATION_FAILED') {
    return `; the platform's schema does not match the ${operation} document of this SDK (platform version mismatch)`;
  }
  return '';
}

function isTokenRejected(error: GraphQLErrorFacts): boolean {
  if (error.code !== undefined && TOKEN_REJECTED_CODES.has(error.code)) return true;
  return TOKEN_REJECTED_MESSAGES.some((re) => re.test(error.message));
}

/** errors[0] as OpenCTI formats it: `extensions.code` (Apollo), or a top-level `name` (older platforms). */
export function firstGraphQLError(errors: unknown): GraphQLErrorFacts | undefined {
  const first: unknown = Array.isArray(errors) ? errors[0] : errors;
  if (typeof first !== 'object' || first === null) return undefined;
  const record = first as Record<string, unknown>;
  const message = typeof record.message === 'string' ? record.message : 'unknown GraphQL error';
  const extensions = record.extensions;
  const extCode =
    typeof extensions === 'object' && extensions !== null ? (extensions as Record<string, unknown>).code : undefined;
  const code = typeof extCode === 'string' ? extCode : typeof record.name === 'string' ? record.name : undefined;
  return { message, code };
}

/** The longest error message kept: a platform (or proxy) error can quote megabytes of its input. */
export const MAX_ERROR_MESSAGE_CHARS = 4_000;

/** Redacted first, then cut: a cut first could leave the head of a secret that redaction no longer recognises. */
function safe(text: string): string {
  const redacted = redactString(text);
  if (redacted.length <= MAX_ERROR_MESSAGE_CHARS) return redacted;
  return `${redacted.slice(0, MAX_ERROR_MESSAGE_CHARS)}… (${redacted.length - MAX_ERROR_MESSAGE_CHARS} more characters)`;
}
