/**
 * The headers of a vendor request, and the credentials among them: the auth (a fixed header, or a function
 * called once per attempt), and any header whose name says it holds a secret. Credentials go only to the
 * origins allowed to receive them, on the first hop and on every redirect hop; every credential value is
 * registered as a secret the moment it is known.
 */
import { isSecretHeaderName, registerSecret } from '../log/redact.js';
import type { CredentialOrigins } from './origins.js';
import type { HttpAuth, HttpLogger, HttpRequest } from './types.js';

/** The auth function failed; carried out of the rate limiter to be reported as the vendor's error. */
export class CredentialsUnavailable extends Error {
  constructor(cause: unknown) {
    super('credentials unavailable', { cause });
  }
}

export interface VendorHeadersOptions {
  vendor: string;
  userAgent: string;
  auth: HttpAuth | undefined;
  /** Headers sent with every request. */
  headers: Record<string, string> | undefined;
  origins: CredentialOrigins;
  logger: HttpLogger | undefined;
}

/** One request's headers, hop by hop. */
export interface RequestHeaders {
  /** The first hop's headers; the auth function, if any, is called here when `url` may receive credentials. */
  first(url: URL): Promise<Record<string, string>>;
  /**
   * Re-scopes a redirect hop's headers (the object the redirect will send, changed in place) to `url`: the
   * credentials are removed, then put back only if `url` may receive them.
   */
  redirect(url: URL, headers: Record<string, unknown>): void;
}

function lowerCaseKeys(headers: Record<string, string> | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers ?? {})) out[name.toLowerCase()] = value;
  return out;
}

/** Registers a header value and, for "Bearer x" style values, the credential alone. */
function registerHeaderSecret(value: string): void {
  registerSecret(value);
  const scheme = /^(?:bearer|basic|token|apikey)\s+(.+)$/i.exec(value.trim());
  registerSecret(scheme?.[1]);
}

function fixedAuthHeaders(auth: HttpAuth | undefined): Record<string, string> | undefined {
  if (auth === undefined || typeof auth === 'function' || auth.type === 'none') return undefined;
  if (auth.type === 'bearer') {
    registerSecret(auth.token);
    return { authorization: `Bearer ${auth.token}` };
  }
  registerSecret(auth.value);
  return { [auth.name.toLowerCase()]: auth.value };
}

export class VendorHeaders {
  readonly #o: VendorHeadersOptions;
  readonly #fixedAuth: Record<string, string> | undefined;
  readonly #authFunction: (() => Record<string, string> | Promise<Record<string, string>>) | undefined;
  readonly #clientHeaders: Record<string, string>;
  /** Names of the headers the auth sets (the function's grow as it is called). */
  readonly #credentialNames: Set<string>;

  constructor(options: VendorHeadersOptions) {
    this.#o = options;
    this.#fixedAuth = fixedAuthHeaders(options.auth);
    this.#authFunction = typeof options.auth === 'function' ? options.auth : undefined;
    this.#clientHeaders = lowerCaseKeys(options.headers);
    this.#credentialNames = new Set(Object.keys(this.#fixedAuth ?? {}));
    for (const [name, value] of Object.entries(this.#clientHeaders)) {
      if (isSecretHeaderName(name)) registerHeaderSecret(value);
    }
  }

  /** The headers of `request`, for each of its hops. */
  forRequest(request: HttpRequest<unknown>): RequestHeaders {
    const requestHeaders = lowerCaseKeys(request.headers);
    for (const [name, value] of Object.entries(requestHeaders)) {
      if (isSecretHeaderName(name)) registerHeaderSecret(value);
    }
    const wantsAuth = request.withAuth !== false;
    const hasAuth = this.#fixedAuth !== undefined || this.#authFunction !== undefined;
    const accept = (request.responseType ?? 'json') === 'json' ? 'application/json' : '*/*';
    // The auth function's answer for this attempt, reused by its redirect hops (they cannot wait for it).
    let credentials: Record<string, string> | undefined = this.#fixedAuth;
    const mayReceive = (url: URL) => wantsAuth && this.#o.origins.allows(url);
    const leftOut = (url: URL) => {
      if (wantsAuth && hasAuth) {
        this.#o.logger?.debug(
          { vendor: this.#o.vendor, host: url.host },
          'credentials left out: the host may not receive them',
        );
      }
    };

    return {
      first: async (url) => {
        const withCredentials = mayReceive(url);
        const headers: Record<string, string> = { 'user-agent': this.#o.userAgent, accept };
        for (const source of [this.#clientHeaders, requestHeaders]) {
          for (const [name, value] of Object.entries(source)) {
            if (withCredentials || !this.#isCredential(name)) headers[name] = value;
          }
        }
        if (!withCredentials) {
          leftOut(url);
          return headers;
        }
        if (this.#authFunction !== undefined) credentials = await this.#callAuthFunction(this.#authFunction);
        return Object.assign(headers, credentials);
      },
      redirect: (url, headers) => {
        for (const name of Object.keys(headers)) {
          if (this.#isCredential(name.toLowerCase())) delete headers[name];
        }
        if (!mayReceive(url)) {
          leftOut(url);
          return;
        }
        for (const source of [this.#clientHeaders, requestHeaders]) {
          for (const [name, value] of Object.entries(source)) {
            if (this.#isCredential(name)) headers[name] = value;
          }
        }
        // An auth function not called on the first hop (its origin could not receive them) cannot be called
        // now: a redirect hop is prepared synchronously. The hop goes without, and the vendor says so.
        if (credentials === undefined && this.#authFunction !== undefined) {
          this.#o.logger?.debug(
            { vendor: this.#o.vendor, host: url.host },
            'credentials left out of a redirect: the request started at an origin that may not receive them',
          );
        }
        Object.assign(headers, credentials);
      },
    };
  }

  /** The auth's header, or one whose name says it holds a secret (Authorization, X-Api-Key, Cookie…). */
  #isCredential(name: string): boolean {
    return this.#credentialNames.has(name) || isSecretHeaderName(name);
  }

  async #callAuthFunction(
    auth: () => Record<string, string> | Promise<Record<string, string>>,
  ): Promise<Record<string, string>> {
    let produced: Record<string, string>;
    try {
      produced = lowerCaseKeys(await auth());
    } catch (err) {
      throw new CredentialsUnavailable(err);
    }
    for (const [name, value] of Object.entries(produced)) {
      this.#credentialNames.add(name);
      registerHeaderSecret(value);
    }
    return produced;
  }
}
