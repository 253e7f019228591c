/**
 * Backoff and interruptible waits shared by the session, the consumer and the publisher.
 */
import { sleep as waitFor } from '../time/index.js';

export interface BackoffPolicy {
  /** Delay before the first retry, in milliseconds. */
  initialDelayMs: number;
  /** Ceiling of every delay, in milliseconds. */
  maxDelayMs: number;
}

/** Fraction of the exponential delay that jitter may take away. */
const JITTER = 0.2;

/**
 * Delay before retry number `attempt` (1-based): the exponential delay `initial · 2^(attempt-1)` capped
 * at `maxDelayMs`, then reduced by up to 20 % at random. Jitter only ever shortens the delay, so the cap
 * holds, and it spreads out many connectors that lost the same broker at the same moment.
 */
export function backoffDelayMs(attempt: number, policy: BackoffPolicy, random: () => number = Math.random): number {
  const step = Math.max(0, Math.floor(attempt) - 1);
  const initial = Math.max(0, policy.initialDelayMs);
  const max = Math.max(initial, policy.maxDelayMs);
  // 2 ** 1100 is Infinity; Math.min copes, so very long outages never overflow into NaN.
  const exponential = Math.min(max, initial * 2 ** step);
  const r = Math.min(1, Math.max(0, random()));
  return Math.round(exponential * (1 - JITTER * r));
}

/**
 * Waits `ms` milliseconds (any length); resolves `true` when the time elapsed, `false` as soon as `signal`
 * aborts. Never rejects, so callers read as plain control flow.
 */
export function sleep(ms: number, signal?: AbortSignal): Promise<boolean> {
  return waitFor(ms, signal).then(
    () => true,
    () => false,
  );
}

/** The defaults, overridden by the fields the caller actually set (an explicit `undefined` keeps the default). */
export function resolvePolicy(defaults: BackoffPolicy, overrides: Partial<BackoffPolicy> | undefined): BackoffPolicy {
  return {
    initialDelayMs: overrides?.initialDelayMs ?? defaults.initialDelayMs,
    maxDelayMs: overrides?.maxDelayMs ?? defaults.maxDelayMs,
  };
}

export interface Deferred<T> {
  promise: Promise<T>;
  resolve: (value: T) => void;
  reject: (reason: unknown) => void;
}

/** A promise with its settle functions (ES2024's Promise.withResolvers, which our ES2023 lib lacks). */
export function deferred<T>(): Deferred<T> {
  let resolve: (value: T) => void = () => {};
  let reject: (reason: unknown) => void = () => {};
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  // An unobserved rejection must not crash the process: the owner decides who listens.
  promise.catch(() => {});
  return { promise, resolve, reject };
}
