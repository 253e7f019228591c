import fc from 'fast-check';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { MAX_TIMER_DELAY_MS, setLongTimeout, sleep } from './timers.js';

const DAY_MS = 86_400_000;

afterEach(() => {
  vi.useRealTimers();
});

describe('sleep and setLongTimeout', () => {
  it('with real timers, a wait past 2^31-1 ms is still pending where setTimeout alone fires at once', async () => {
    // Node's own behaviour, the reason these helpers exist (it warns: TimeoutOverflowWarning).
    const warn = vi.spyOn(process, 'emitWarning').mockImplementation(() => undefined);
    let rawFired = false;
    const raw = setTimeout(() => {
      rawFired = true;
    }, MAX_TIMER_DELAY_MS + 1);
    let slept = false;
    const controller = new AbortController();
    const waiting = sleep(30 * DAY_MS, controller.signal).then(() => {
      slept = true;
    });
    await new Promise((resolve) => setTimeout(resolve, 100));
    clearTimeout(raw);
    warn.mockRestore();
    expect(rawFired).toBe(true);
    expect(slept).toBe(false);
    controller.abort(new Error('stop'));
    await expect(waiting).rejects.toThrow('stop');
  });

  it('resolves exactly when asked, never before, for any delay up to 100 years', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: 36_500 * DAY_MS }), async (ms) => {
        vi.useFakeTimers();
        try {
          let done = false;
          const waiting = sleep(ms).then(() => {
            done = true;
          });
          if (ms > 0) {
            await vi.advanceTimersByTimeAsync(ms - 1);
            expect(done).toBe(false);
          }
          await vi.advanceTimersByTimeAsync(1);
          await waiting;
          expect(done).toBe(true);
        } finally {
          vi.useRealTimers();
        }
      }),
      { numRuns: 200 },
    );
  });

  it('an abort ends any wait at once with the signal reason, and a signal aborted before rejects at once', async () => {
    vi.useFakeTimers();
    const controller = new AbortController();
    const waiting = sleep(365 * DAY_MS, controller.signal);
    await vi.advanceTimersByTimeAsync(40 * DAY_MS);
    const reason = new Error('state reset from the UI');
    controller.abort(reason);
    await expect(waiting).rejects.toBe(reason);
    await expect(sleep(10, controller.signal)).rejects.toBe(reason);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('Infinity waits until aborted; NaN and negative delays count as 0', async () => {
    vi.useFakeTimers();
    const controller = new AbortController();
    let done = false;
    const forever = sleep(Number.POSITIVE_INFINITY, controller.signal).then(() => {
      done = true;
    });
    await vi.advanceTimersByTimeAsync(10 * 36_500 * DAY_MS);
    expect(done).toBe(false);
    controller.abort();
    await expect(forever).rejects.toMatchObject({ name: 'AbortError' });
    for (const ms of [Number.NaN, -5]) {
      const fired = vi.fn();
      setLongTimeout(fired, ms);
      await vi.advanceTimersByTimeAsync(0);
      expect(fired).toHaveBeenCalledOnce();
    }
  });

  it('a cleared long timeout never fires, even between two of its steps', async () => {
    vi.useFakeTimers();
    const fired = vi.fn();
    const timer = setLongTimeout(fired, 60 * DAY_MS);
    await vi.advanceTimersByTimeAsync(MAX_TIMER_DELAY_MS + 1);
    timer.clear();
    await vi.advanceTimersByTimeAsync(60 * DAY_MS);
    expect(fired).not.toHaveBeenCalled();
    expect(vi.getTimerCount()).toBe(0);
  });
});
