/**
 * What a redirect may do. axios follows redirects (with follow-redirects) and asks this policy before each
 * hop, which refuses the hop by throwing, after recording why:
 * - at most `maxRedirects` hops, only to http:// and https://, only for 301, 302, 303, 307 and 308;
 * - a request body is never re-sent to another origin (a 307/308 keeps it; an OAuth client-credentials form
 *   holds the client secret), while 303, and 301/302 after a POST, turn the request into a bodiless GET;
 * - the credentials follow the origin: removed, then put back only where the hop's origin may receive them;
 * - the hop goes through the proxy its own scheme and host call for (NO_PROXY is read for every hop).
 */
import type { TransportAgents } from './agents.js';
import type { RequestHeaders } from './headers.js';

const FOLLOWED_STATUSES = new Set([301, 302, 303, 307, 308]);

/** Why a redirect was not followed; `status` is unknown when follow-redirects itself could not read it. */
export interface RedirectRefusal {
  status: number | undefined;
  why: string;
}

/** The options object follow-redirects is about to send the hop with (only what is read or set here). */
interface HopOptions {
  href: string;
  method: string;
  headers: Record<string, unknown>;
  agents?: unknown;
}

export interface RedirectPolicyOptions {
  url: URL;
  /** Whether the request carries a body. */
  hasBody: boolean;
  maxRedirects: number;
  headers: RequestHeaders;
  agents: TransportAgents;
}

export class RedirectPolicy {
  /** The URL of the hop in hand: the answer's URL once the request settled. */
  url: URL;
  refusal: RedirectRefusal | undefined;
  #hops = 0;
  #bodyPending: boolean;
  readonly #o: RedirectPolicyOptions;

  constructor(options: RedirectPolicyOptions) {
    this.#o = options;
    this.url = options.url;
    this.#bodyPending = options.hasBody;
  }

  /** follow-redirects' limit: one past the policy's, so that the policy refuses that hop, with its status. */
  get followLimit(): number {
    return this.#o.maxRedirects + 1;
  }

  /** axios' `beforeRedirect`. */
  readonly beforeRedirect = (
    options: Record<string, unknown>,
    response: { statusCode: number },
    previous: { method: string },
  ): void => {
    const hop = options as unknown as HopOptions;
    const status = response.statusCode;
    const refuse = (why: string): never => {
      this.refusal = { status, why };
      throw new Error(`redirect refused: ${why}`);
    };
    if (!FOLLOWED_STATUSES.has(status)) refuse(`a ${status} answer is not a redirect this client follows`);
    if (++this.#hops > this.#o.maxRedirects) refuse(`more than ${this.#o.maxRedirects} redirects`);
    const next = new URL(hop.href);
    if (next.protocol !== 'http:' && next.protocol !== 'https:') {
      refuse(`the redirect goes to an unsupported ${next.protocol} URL`);
    }
    // follow-redirects has already turned a 303 (or a POST's 301/302) into a GET and dropped its body.
    if (hop.method !== previous.method) this.#bodyPending = false;
    if (this.#bodyPending && next.origin !== this.url.origin) {
      refuse(`the redirect would re-send the request body to another host (${next.origin})`);
    }
    this.#o.headers.redirect(next, hop.headers);
    // follow-redirects takes the hop's agent from this map, by the hop's scheme.
    hop.agents = this.#o.agents.forUrl(next);
    this.url = next;
  };
}
