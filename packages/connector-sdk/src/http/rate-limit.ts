import Bottleneck from 'bottleneck';
import { type LongTimeout, setLongTimeout } from '../time/index.js';
import type { RateLimit } from './types.js';

/**
 * Client-side rate limiting on bottleneck.
 *
 * Each budget window (per minute, hour, day, or custom) is a bottleneck limiter whose reservoir
 * holds the window's count. A request takes one token from every window, and each token goes
 * back only `interval` after the request was actually sent. A token is therefore out for at
 * least `interval` around every send, so no window of that length can ever hold more than `count`
 * sends: a sliding window. bottleneck's own reservoir refresh is a fixed window that lets twice
 * the budget through around each refresh, which is why it is not used.
 *
 * Spacing (`perSecond`, as bottleneck's minTime) and concurrency live in one innermost limiter;
 * the token accounting is done when that limiter runs the job, right before the request leaves.
 */

const DEFAULT_MAX_WAIT_MS = 300_000;
const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

/** A request could not get a slot in time; `retryAfterMs` estimates when one frees up. */
export class RateLimitWaitError extends Error {
  readonly retryAfterMs: number | undefined;
  /** The budget at fault, in words: "50 requests per 1 day". */
  readonly budget: string;

  constructor(budget: string, retryAfterMs: number | undefined) {
    super(`client-side rate limit reached (${budget})`);
    this.name = 'RateLimitWaitError';
    this.budget = budget;
    this.retryAfterMs = retryAfterMs;
  }
}

export interface RateLimiter {
  /**
   * Runs `send` once a slot is free in every window. Rejects with the signal's reason when it
   * aborts first, with RateLimitWaitError when the wait would exceed maxWaitMs.
   */
  schedule<R>(send: () => Promise<R>, signal?: AbortSignal): Promise<R>;
  stop(): Promise<void>;
}

interface WindowSpec {
  count: number;
  intervalMs: number;
}

/**
 * Extra time a slot stays taken past its window. The limiter times a request when it leaves; the vendor
 * counts it when it arrives, a few milliseconds later and not always by the same few: without a margin,
 * two requests one window apart can land inside one window on the vendor's clock.
 */
export function safetyMarginMs(intervalMs: number): number {
  return Math.min(25, Math.ceil(intervalMs * 0.01));
}

/**
 * The only place that builds a bottleneck instance. Clustering (Redis) is a change here: pass
 * `datastore: 'ioredis'`, `clientOptions` and keep `id`.
 */
function createBottleneck(settings: Bottleneck.ConstructorOptions, id: string): Bottleneck {
  const limiter = new Bottleneck({ ...settings, id, datastore: 'local' });
  // bottleneck reports internal failures through events; without a listener they vanish.
  limiter.on('error', () => undefined);
  return limiter;
}

function describeInterval(ms: number): string {
  if (ms % DAY === 0) return ms === DAY ? '1 day' : `${ms / DAY} days`;
  if (ms % HOUR === 0) return ms === HOUR ? '1 hour' : `${ms / HOUR} hours`;
  if (ms % MINUTE === 0) return ms === MINUTE ? '1 minute' : `${ms / MINUTE} minutes`;
  if (ms % SECOND === 0) return ms === SECOND ? '1 second' : `${ms / SECOND} seconds`;
  return `${ms} ms`;
}

function requirePositiveInteger(name: string, value: number | undefined): void {
  if (value !== undefined && !(Number.isInteger(value) && value >= 1)) {
    throw new RangeError(`rateLimit.${name} must be a positive integer, got ${String(value)}`);
  }
}

/** The windows of a RateLimit, longest first. Throws RangeError on a nonsensical setting. */
export function budgetWindows(limit: RateLimit): WindowSpec[] {
  requirePositiveInteger('perMinute', limit.perMinute);
  requirePositiveInteger('perHour', limit.perHour);
  requirePositiveInteger('perDay', limit.perDay);
  requirePositiveInteger('count', limit.count);
  requirePositiveInteger('intervalMs', limit.intervalMs);
  requirePositiveInteger('maxConcurrent', limit.maxConcurrent);
  if (limit.perSecond !== undefined && !(Number.isFinite(limit.perSecond) && limit.perSecond > 0)) {
    throw new RangeError(`rateLimit.perSecond must be a positive number, got ${String(limit.perSecond)}`);
  }
  if ((limit.count === undefined) !== (limit.intervalMs === undefined)) {
    throw new RangeError('rateLimit.count and rateLimit.intervalMs go together: give both or neither');
  }
  if (limit.maxWaitMs !== undefined && !(limit.maxWaitMs >= 0)) {
    throw new RangeError(`rateLimit.maxWaitMs must be zero or more, got ${String(limit.maxWaitMs)}`);
  }
  const windows: WindowSpec[] = [];
  if (limit.perSecond !== undefined) {
    // Spacing alone (minTime) is measured when bottleneck admits a job, a moment before the send;
    // this window measures from the send itself, so the per-second promise holds exactly.
    windows.push(
      limit.perSecond >= 1
        ? { count: Math.floor(limit.perSecond), intervalMs: SECOND }
        : { count: 1, intervalMs: Math.ceil(SECOND / limit.perSecond) },
    );
  }
  if (limit.perDay !== undefined) windows.push({ count: limit.perDay, intervalMs: DAY });
  if (limit.perHour !== undefined) windows.push({ count: limit.perHour, intervalMs: HOUR });
  if (limit.perMinute !== undefined) windows.push({ count: limit.perMinute, intervalMs: MINUTE });
  if (limit.count !== undefined && limit.intervalMs !== undefined) {
    windows.push({ count: limit.count, intervalMs: limit.intervalMs });
  }
  return windows.sort((a, b) => b.intervalMs - a.intervalMs);
}

/** One sliding-window budget: a bottleneck reservoir plus the local record of when tokens return. */
class BudgetWindow {
  readonly limiter: Bottleneck;
  readonly budget: string;
  /** When each token that is cooling down comes back, ascending (sends happen in time order). */
  private readonly returns: number[] = [];
  private readonly timers = new Set<LongTimeout>();
  /** Tokens taken by requests that have not been sent yet (waiting in a shorter window). */
  private held = 0;
  /** Requests queued in this window. */
  waiting = 0;

  constructor(
    readonly spec: WindowSpec,
    id: string,
  ) {
    this.budget = `${spec.count} request${spec.count === 1 ? '' : 's'} per ${describeInterval(spec.intervalMs)}`;
    this.limiter = createBottleneck({ reservoir: spec.count, maxConcurrent: null }, `${id}:${spec.intervalMs}`);
  }

  taken(): void {
    this.waiting -= 1;
    this.held += 1;
  }

  /** The request holding a token was sent at `sentAt`: the token comes back one interval later. */
  sent(sentAt: number): void {
    this.held -= 1;
    const due = sentAt + this.spec.intervalMs + safetyMarginMs(this.spec.intervalMs);
    this.returns.push(due);
    // A window may be longer than setTimeout can wait (a monthly quota): it would hand the token back at once.
    const timer = setLongTimeout(
      () => {
        this.timers.delete(timer);
        this.returns.shift();
        void this.limiter.incrementReservoir(1).catch(() => undefined);
      },
      due - sentAt,
      { unref: true },
    );
    this.timers.add(timer);
  }

  /** The request holding a token will not be sent: the token comes back now. */
  released(): void {
    this.held -= 1;
    void this.limiter.incrementReservoir(1).catch(() => undefined);
  }

  /** Lower bound of the wait for one more request, from local bookkeeping. */
  estimateWaitMs(now: number): number {
    const free = this.spec.count - this.returns.length - this.held;
    const ahead = this.waiting;
    if (free > ahead) return 0;
    const index = ahead - free;
    const due = this.returns[index];
    return due === undefined ? this.spec.intervalMs : Math.max(0, due - now);
  }

  async stop(): Promise<void> {
    for (const timer of this.timers) timer.clear();
    this.timers.clear();
    await this.limiter.stop({ dropWaitingJobs: true });
  }
}

const SKIPPED: unique symbol = Symbol('skipped');

export function createRateLimiter(limit: RateLimit | undefined, name: string): RateLimiter {
  const settings = limit ?? {};
  const windows = budgetWindows(settings).map((spec) => new BudgetWindow(spec, settings.id ?? name));
  const maxWaitMs = settings.maxWaitMs ?? DEFAULT_MAX_WAIT_MS;
  const pacing = createBottleneck(
    {
      maxConcurrent: settings.maxConcurrent ?? null,
      minTime:
        settings.perSecond === undefined
          ? 0
          : Math.ceil(SECOND / settings.perSecond) + safetyMarginMs(Math.ceil(SECOND / settings.perSecond)),
    },
    `${settings.id ?? name}:pacing`,
  );
  function estimate(now: number): { waitMs: number; budget: string | undefined } {
    let worst: { waitMs: number; budget: string | undefined } = { waitMs: 0, budget: undefined };
    for (const window of windows) {
      const waitMs = window.estimateWaitMs(now);
      if (waitMs > worst.waitMs) worst = { waitMs, budget: window.budget };
    }
    return worst;
  }

  function schedule<R>(send: () => Promise<R>, signal?: AbortSignal): Promise<R> {
    signal?.throwIfAborted();
    const upFront = estimate(Date.now());
    if (upFront.waitMs > maxWaitMs) {
      return Promise.reject(new RateLimitWaitError(upFront.budget ?? 'client-side rate limit', upFront.waitMs));
    }

    const ticket = { abandoned: false, sent: false, tokens: [] as BudgetWindow[] };

    const releaseTokens = (): void => {
      for (const window of ticket.tokens.splice(0)) window.released();
    };

    const throughWindow = (index: number): Promise<R | typeof SKIPPED> => {
      const window = windows[index];
      if (window === undefined) {
        return pacing.schedule(async () => {
          if (ticket.abandoned) {
            releaseTokens();
            return SKIPPED;
          }
          ticket.sent = true;
          const sentAt = Date.now();
          for (const held of ticket.tokens.splice(0)) held.sent(sentAt);
          return send();
        });
      }
      window.waiting += 1;
      return window.limiter.schedule(async () => {
        window.taken();
        ticket.tokens.push(window);
        if (ticket.abandoned) {
          releaseTokens();
          return SKIPPED;
        }
        try {
          return await throughWindow(index + 1);
        } catch (err) {
          if (!ticket.sent) releaseTokens();
          throw err;
        }
      });
    };

    return new Promise<R>((resolve, reject) => {
      let waitTimer: LongTimeout | undefined;
      const abandon = (reason: unknown): void => {
        if (ticket.sent || ticket.abandoned) return;
        ticket.abandoned = true;
        cleanup();
        reject(reason);
      };
      const onAbort = (): void => abandon(signal?.reason);
      const cleanup = (): void => {
        signal?.removeEventListener('abort', onAbort);
        waitTimer?.clear();
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      // 0 means "never queue behind a known wait" (checked above); bottleneck itself yields a tick.
      if (Number.isFinite(maxWaitMs) && maxWaitMs > 0) {
        waitTimer = setLongTimeout(
          () => {
            const later = estimate(Date.now());
            abandon(new RateLimitWaitError(later.budget ?? 'client-side rate limit', later.waitMs || undefined));
          },
          maxWaitMs,
          { unref: true },
        );
      }
      throughWindow(0).then(
        (value) => {
          cleanup();
          if (value !== SKIPPED && !ticket.abandoned) resolve(value);
        },
        (err: unknown) => {
          cleanup();
          if (!ticket.abandoned) reject(err);
        },
      );
    });
  }

  async function stop(): Promise<void> {
    await Promise.all([...windows.map((w) => w.stop()), pacing.stop({ dropWaitingJobs: true })]);
  }

  return { schedule, stop };
}
