/**
 * Timers for delays of any length. Node's setTimeout fires after 1 ms when asked for more than 2^31-1 ms
 * (24.8 days), so a monthly schedule or a vendor's month-long quota window would fire at once, in a loop.
 * Every wait in the SDK and the connectors goes through these, which wait in steps Node can keep.
 */

/** The longest delay Node's setTimeout honours (2^31-1 ms, about 24.8 days). */
export const MAX_TIMER_DELAY_MS = 2 ** 31 - 1;

export interface LongTimeout {
  /** Cancels the timer; the callback never runs. */
  clear(): void;
}

/**
 * Calls `callback` once, `ms` milliseconds from now (Infinity: never), however long that is. NaN and
 * negative delays count as 0, as setTimeout counts them. `unref` lets the process exit while it waits.
 */
export function setLongTimeout(callback: () => void, ms: number, options: { unref?: boolean } = {}): LongTimeout {
  let timer: ReturnType<typeof setTimeout> | undefined;
  let cleared = false;
  // Steps of Node's timer clock (monotonic: a wall-clock change neither shortens nor stretches the wait).
  const arm = (left: number): void => {
    timer =
      left <= MAX_TIMER_DELAY_MS
        ? setTimeout(callback, left)
        : setTimeout(() => {
            if (!cleared) arm(left - MAX_TIMER_DELAY_MS);
          }, MAX_TIMER_DELAY_MS);
    if (options.unref) timer.unref();
  };
  arm(Number.isNaN(ms) ? 0 : Math.max(0, ms));
  return {
    clear() {
      cleared = true;
      clearTimeout(timer);
    },
  };
}

/**
 * Waits `ms` milliseconds (any length, see setLongTimeout), or rejects with the signal's reason as soon as
 * `signal` aborts.
 */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    if (signal?.aborted) {
      reject(abortReason(signal));
      return;
    }
    const onAbort = (): void => {
      timer.clear();
      reject(abortReason(signal));
    };
    const timer = setLongTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

function abortReason(signal: AbortSignal | undefined): unknown {
  return signal?.reason ?? new DOMException('This operation was aborted', 'AbortError');
}
