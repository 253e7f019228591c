/**
 * How the cross-connector suites (secrets, TLP matrix, vendor faults, token hosts, bad settings) and the demo
 * drive one connector. Each connector folder says it in `test/conformance.ts`:
 *
 * ```ts
 * export default defineConformance({
 *   vendor: 'GreyNoise',
 *   secrets: { GREYNOISE_API_KEY: KEY },
 *   env: (url) => ({ GREYNOISE_API_KEY: KEY, GREYNOISE_API_URL: url }),
 *   answer: (req) => (req.headers.key === KEY ? { body: fixture } : { status: 401 }),
 *   maxTlpVariable: 'GREYNOISE_MAX_TLP',
 *   observable: { entity_type: 'IPv4-Addr', value: '203.0.113.66' },
 *   nextObservable: { entity_type: 'IPv4-Addr', value: '203.0.113.67' },
 *   endState: { author: identityId('GreyNoise', 'organization'), observable: { labels: ['greynoise'], createdBy: null } },
 * });
 * ```
 *
 * The suites find every folder's case at run time: a connector with this file is covered by all of them.
 */
import type { EntityInput } from './entities.js';
import type { FakeReply, FakeRequest } from './fake-vendor.js';

/** What the fake vendor of a case keeps between requests. */
export interface VendorState {
  /** Values the vendor handed out that are secrets too (OAuth access tokens). */
  issuedSecrets: string[];
}

/** An observable the platform holds, to enrich. */
export interface ObservableInput {
  entity_type: string;
  value: string;
}

/** Settings that are wrong together, which the connector itself must refuse at start-up. */
export interface InvalidCombination {
  /** How the docs name the combination. */
  label: string;
  /** The variable the error must name. */
  variable: string;
  /** Set on top of the case's valid settings. */
  set: Record<string, string>;
  /** Removed from the case's valid settings. */
  unset?: string[];
}

/** What the demo (`pnpm demo`) does with the connector, when it differs from the suites' case. */
export interface DemoCase {
  /** The fake vendor as the demo's table names it (default: the case's `vendor`). */
  vendorName?: string;
  /** Settings added to the case's `env`. */
  env?(vendorUrl: string): Record<string, string>;
  /** Enrichers: what to enrich (default: the case's `observable`). */
  samples?: EntityInput[];
  /** Answers tried before the case's `answer` (richer data to show, for instance). */
  answer?(req: FakeRequest, vendorUrl: string, state: VendorState): FakeReply | undefined;
}

/** Added to what the platform held (an earlier label and reference): exactly these, or with `including`, these among others. */
export type AddedValues = readonly string[] | { including: readonly string[] };

/**
 * What OpenCTI holds once the case ran (the end-state suite reads it as pycti's importer does): pinned per
 * connector against what its Python original leaves.
 */
export interface EndState {
  /** The STIX id of the author given to what the connector creates. */
  author: string;
  /** Enrichers: the enriched observable afterwards. */
  observable?: {
    labels?: AddedValues;
    /** URLs of the external references added. */
    references?: AddedValues;
    /** Its author afterwards: the connector's (`author`), or none as before. */
    createdBy: 'author' | null;
    description?: RegExp;
  };
  /** Enrichers: the markings of what the enrichment creates: the observable's (default), or none. */
  createdMarkings?: 'observable' | 'none';
  /** Imports: the marking definition every imported object carries. */
  marking?: string;
}

export interface Conformance {
  /** The vendor as the connector's error messages name it. */
  vendor: string;
  /**
   * Secret settings and recognisable values: the values carry the characters that URL-encoding and JSON
   * escaping change (`+`, `/`, `=`, `&`, `"`, `\`), so a leak in any encoding is told apart from the raw form.
   */
  secrets: Record<string, string>;
  /** Settings against the fake vendor at `vendorUrl`: the secrets, short timeouts and few retries. */
  env(vendorUrl: string): Record<string, string>;
  /** What a healthy vendor answers (from the connector's recorded fixtures); undefined falls through to 404. */
  answer(req: FakeRequest, vendorUrl: string, state: VendorState): FakeReply | undefined;
  /** Whether a vendor fault applies to this request (default: every request). */
  faultable?(req: FakeRequest): boolean;
  /** Enrichers: the setting holding the maximum TLP sent to the vendor. */
  maxTlpVariable?: string;
  /** Enrichers: an observable that makes the connector call the vendor. */
  observable?: ObservableInput;
  /** Enrichers: another observable of the same type, for "the next request". */
  nextObservable?: ObservableInput;
  /** Settings besides secrets of which any text is a valid value (free names, colours): not tried wrong. */
  freeTextSettings?: readonly string[];
  /** Settings that are wrong only together, refused by the connector's own checks. */
  invalidCombinations?: readonly InvalidCombination[];
  /** What the platform holds after one enrichment of `observable`, or one import run against `answer`. */
  endState: EndState;
  demo?: DemoCase;
}

/** Declares a connector's conformance case (`connectors/<slug>/test/conformance.ts`, default export). */
export function defineConformance(conformance: Conformance): Conformance {
  return conformance;
}
