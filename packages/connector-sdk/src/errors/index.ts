/**
 * The SDK's error taxonomy. Each class has a stable `name` (safe across duplicated package copies,
 * where `instanceof` can fail) and keeps the underlying error as `cause`.
 *
 * Messages are written for the analyst who reads them on a work in the OpenCTI UI: they name the
 * setting, the vendor or the field at fault, and never carry a header or a secret.
 */

export interface CtiErrorOptions {
  cause?: unknown;
}

export abstract class CtiError extends Error {
  abstract readonly code: string;

  constructor(message: string, options?: CtiErrorOptions) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
  }

  /** True when `err` is an SDK error of the given class, even from another copy of the package. */
  static is<T extends CtiError>(this: abstract new (...args: never[]) => T, err: unknown): err is T {
    return err instanceof Error && err.name === this.name;
  }
}

/** One problem in the configuration: the env var at fault and what was expected. */
export interface ConfigIssue {
  /**
   * The environment variable (or the first of its aliases) that holds the bad value; for a problem with
   * config.yml itself (bad YAML, an unknown key), the file or the key.
   */
  variable: string;
  /** What was expected, in words an admin understands. */
  message: string;
  /** Where the value was read when not from the environment: `crowdsec.key in /app/config.yml`. */
  source?: string;
}

/** A bad configuration. The process exits 1 before any network call and prints every issue. */
export class ConfigError extends CtiError {
  readonly code: string = 'CONFIG';
  readonly issues: readonly ConfigIssue[];

  constructor(issues: readonly ConfigIssue[], options?: CtiErrorOptions) {
    const line = (i: ConfigIssue) => `  - ${i.variable}${i.source ? ` (${i.source})` : ''}: ${i.message}`;
    super(`Invalid configuration:\n${issues.map(line).join('\n')}`, options);
    this.issues = issues;
  }
}

export interface UpstreamApiErrorDetails {
  /** The vendor, as shown to analysts ("CrowdSec", "urlscan.io"). */
  vendor: string;
  /** HTTP status, when the vendor answered. */
  status?: number | undefined;
  /** Whether trying again later may succeed (429, 5xx, network errors). */
  retryable: boolean;
  /** HTTP method. */
  method?: string | undefined;
  /** Request URL with credentials removed. */
  url?: string | undefined;
  /** A short machine-readable reason: 'timeout', 'network', 'auth', 'quota', 'invalid-response', 'http'. */
  reason?: string | undefined;
}

/** A vendor API call failed. The message is fit for a work's error list. */
export class UpstreamApiError extends CtiError {
  readonly code: string = 'UPSTREAM_API';
  readonly vendor: string;
  readonly status: number | undefined;
  readonly retryable: boolean;
  readonly method: string | undefined;
  readonly url: string | undefined;
  readonly reason: string | undefined;

  constructor(message: string, details: UpstreamApiErrorDetails, options?: CtiErrorOptions) {
    super(message, options);
    this.vendor = details.vendor;
    this.status = details.status;
    this.retryable = details.retryable;
    this.method = details.method;
    this.url = details.url;
    this.reason = details.reason;
  }

  toJSON(): Record<string, unknown> {
    return {
      name: this.name,
      message: this.message,
      vendor: this.vendor,
      status: this.status,
      retryable: this.retryable,
      method: this.method,
      url: this.url,
      reason: this.reason,
    };
  }
}

/**
 * When `err` is the vendor refusing the credentials (HTTP 401 or 403), the same failure reworded by
 * `message` (which names the setting to check), never retried; otherwise undefined. Connectors use it to
 * say which env var holds the rejected key.
 */
export function credentialsRejected(
  err: unknown,
  message: (status: 401 | 403) => string,
): UpstreamApiError | undefined {
  if (!(err instanceof UpstreamApiError) || (err.status !== 401 && err.status !== 403)) return undefined;
  return new UpstreamApiError(
    message(err.status),
    { vendor: err.vendor, status: err.status, retryable: false, reason: 'auth', method: err.method, url: err.url },
    { cause: err },
  );
}

/** The vendor's quota or rate limit is exhausted; `retryAfterMs` says when it may be tried again. */
export class RateLimitError extends UpstreamApiError {
  override readonly code: string = 'RATE_LIMIT';
  readonly retryAfterMs: number | undefined;

  constructor(
    message: string,
    details: Omit<UpstreamApiErrorDetails, 'retryable'> & { retryAfterMs?: number | undefined },
    options?: CtiErrorOptions,
  ) {
    super(message, { ...details, retryable: true, reason: details.reason ?? 'quota' }, options);
    this.retryAfterMs = details.retryAfterMs;
  }

  override toJSON(): Record<string, unknown> {
    return { ...super.toJSON(), retryAfterMs: this.retryAfterMs };
  }
}

/** The entity's TLP is above the connector's maximum: nothing was sent to the vendor. */
export class TlpRefusedError extends CtiError {
  readonly code: string = 'TLP_REFUSED';
  readonly tlp: string;
  readonly maxTlp: string;

  /** `unknownMarkings`: the entity's TLP markings the SDK does not know, which count as TLP:RED. */
  constructor(tlp: string, maxTlp: string, unknownMarkings: readonly string[] = []) {
    super(
      unknownMarkings.length > 0 && tlp === 'TLP:RED'
        ? `Do not send any data: the entity's marking ${unknownMarkings.join(', ')} is not a TLP level this connector knows, so it counts as TLP:RED, above the connector's maximum (${maxTlp})`
        : `Do not send any data: the entity's TLP (${tlp}) is above the connector's maximum (${maxTlp})`,
    );
    this.tlp = tlp;
    this.maxTlp = maxTlp;
  }
}

export interface PlatformErrorDetails {
  /** The GraphQL operation name, or 'amqp' for the broker. */
  operation: string;
  /** True for connection refused, timeouts and 5xx: trying again may succeed. */
  retryable: boolean;
  /** True when the platform rejected the token. */
  auth?: boolean;
  status?: number | undefined;
}

/** OpenCTI (GraphQL) or its broker failed. */
export class PlatformError extends CtiError {
  readonly code: string = 'PLATFORM';
  readonly operation: string;
  readonly retryable: boolean;
  readonly auth: boolean;
  readonly status: number | undefined;

  constructor(message: string, details: PlatformErrorDetails, options?: CtiErrorOptions) {
    super(message, options);
    this.operation = details.operation;
    this.retryable = details.retryable;
    this.auth = details.auth ?? false;
    this.status = details.status;
  }

  toJSON(): Record<string, unknown> {
    return {
      name: this.name,
      message: this.message,
      operation: this.operation,
      retryable: this.retryable,
      auth: this.auth,
      status: this.status,
    };
  }
}

/** A STIX bundle that must not be sent: a dangling reference, a missing id, an empty bundle. */
export class BundleError extends CtiError {
  readonly code: string = 'BUNDLE';
  readonly problems: readonly string[];

  constructor(message: string, problems: readonly string[] = [], options?: CtiErrorOptions) {
    super(problems.length > 0 ? `${message}: ${problems.join('; ')}` : message, options);
    this.problems = problems;
  }
}

/**
 * A bundle refused whole before any of it was sent (it cannot be serialised, a message would be too large,
 * nothing in it can be imported): sending it again cannot succeed, and nothing of it reached the platform.
 */
export class BundleRefusedError extends BundleError {
  override readonly code: string = 'BUNDLE_REFUSED';
}

/** A listen-queue message that does not have the platform's shape. Reported and acked, never retried. */
export class MessageError extends CtiError {
  readonly code: string = 'MESSAGE';
}

/** Why a file could not be attached to an object. */
export type AttachmentProblem = 'too-large' | 'not-its-type' | 'unsupported-type' | 'bad-name';

/**
 * A file refused before it was attached to an object: larger than the cap, bytes that are not what its
 * MIME type says (a PNG that is not a PNG), a type the SDK cannot check, a name that is not a file name.
 * The message names the file and the problem, never its content.
 */
export class AttachmentError extends CtiError {
  readonly code: string = 'ATTACHMENT';
  readonly problem: AttachmentProblem;

  constructor(message: string, problem: AttachmentProblem, options?: CtiErrorOptions) {
    super(message, options);
    this.problem = problem;
  }
}

/** The handler declined the input (wrong type, invalid value): the work ends in error without a vendor call. */
export class InputError extends CtiError {
  readonly code: string = 'INPUT';
}

/**
 * A bundle could not be delivered where the settings send it (the directory of CONNECTOR_SEND_TO_DIRECTORY_PATH,
 * the workbench, a draft). `setting` names what an admin changes; nothing later in the delivery was done.
 */
export class DeliveryError extends CtiError {
  readonly code: string = 'DELIVERY';
  readonly setting: string;

  constructor(message: string, setting: string, options?: CtiErrorOptions) {
    super(message, options);
    this.setting = setting;
  }
}
