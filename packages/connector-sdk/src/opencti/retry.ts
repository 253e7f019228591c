/**
 * Bounded retries for GraphQL calls. pycti retries nothing (reference/protocol-notes.md#retries): a 502 while the
 * platform restarts loses the enrichment result. Here every call retries transient failures, but how
 * far depends on what running the call twice would do:
 *
 * - `transient`: reads, and writes that are idempotent or whose duplicate is harmless. Retried on any
 *   transient failure (network, timeout, 5xx, proxy errors). registerConnector (an upsert), workPing,
 *   workToReceived / workToProcessed (a duplicate adds one message line; losing toProcessed leaves the
 *   work "in progress" for ever, opencti#1139), every query.
 * - `unsent`: calls whose repetition changes the outcome. Retried only when the request provably did not
 *   reach the platform (connection refused, DNS, TLS handshake, or a proxy's 502/503/429). workAdd (a
 *   second work would stay open for ever), addExpectations / reportExpectation (counters), stixBundlePush
 *   and playbookStepExecution (a second ingestion / playbook continuation), and pingConnector: the ping
 *   that consumes a UI reset answers '' only once, so a blind retry would hide the reset.
 * - `none`: a single attempt.
 */
import type { Delivery } from './failure.js';

export type RetryMode = 'transient' | 'unsent' | 'none';

export interface RetryPolicy {
  /** Total attempts, the first included (1 disables retries). */
  attempts: number;
  /** Delay before the second attempt; doubles for each later one. */
  baseDelayMs: number;
  /** Ceiling of a single delay. */
  maxDelayMs: number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = { attempts: 3, baseDelayMs: 500, maxDelayMs: 5_000 };

/** Whether a failure of a call in `mode` may be retried. */
export function mayRetry(mode: RetryMode, failure: { retryable: boolean; delivery: Delivery }): boolean {
  if (mode === 'none' || !failure.retryable) return false;
  return mode === 'transient' || failure.delivery === 'not-sent';
}

/**
 * Delay after failed attempt number `attempt` (1-based): exponential, capped, with "equal jitter"
 * (half fixed, half random) so that connectors restarted together do not retry in lockstep.
 */
export function backoffDelay(
  attempt: number,
  policy: Pick<RetryPolicy, 'baseDelayMs' | 'maxDelayMs'>,
  random: () => number = Math.random,
): number {
  const exponent = Math.max(0, attempt - 1);
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** Math.min(exponent, 30));
  return Math.round(ceiling / 2 + random() * (ceiling / 2));
}

export function validateRetryPolicy(policy: RetryPolicy): RetryPolicy {
  const ok =
    Number.isInteger(policy.attempts) &&
    policy.attempts >= 1 &&
    Number.isFinite(policy.baseDelayMs) &&
    policy.baseDelayMs >= 0 &&
    Number.isFinite(policy.maxDelayMs) &&
    policy.maxDelayMs >= policy.baseDelayMs;
  if (!ok) {
    throw new RangeError(
      `invalid OpenCTI retry policy ${JSON.stringify(policy)}: attempts must be an integer >= 1 and 0 <= baseDelayMs <= maxDelayMs`,
    );
  }
  return policy;
}
