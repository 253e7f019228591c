/**
 * The two stages of a stop. `requested` fires at SIGTERM: take no new work. `cancelled` fires when the
 * work in hand must stop (vendor calls aborted): at once while nothing is protected (start-up, dry
 * runs), otherwise once the grace period has passed since the request, so a `docker stop` lets the
 * enrichment or the import step in hand finish instead of cutting its vendor call.
 */
export class ShutdownSequence {
  private readonly request = new AbortController();
  private readonly cancel = new AbortController();
  private graceMs: number | null = null;
  private graceTimer: NodeJS.Timeout | undefined;
  private requestedAtMs: number | null = null;

  /** Fires when a stop is asked for. */
  get requested(): AbortSignal {
    return this.request.signal;
  }

  /** Fires when the work in hand must be abandoned. */
  get cancelled(): AbortSignal {
    return this.cancel.signal;
  }

  /** From now on, a stop gives the work in hand `graceMs` to finish before it is cancelled. */
  protectInFlight(graceMs: number): void {
    this.graceMs = graceMs;
  }

  /** Asks for the stop (idempotent). */
  stop(reason: Error): void {
    if (this.request.signal.aborted) return;
    this.requestedAtMs = Date.now();
    this.request.abort(reason);
    if (this.graceMs === null) {
      this.cancel.abort(reason);
      return;
    }
    this.graceTimer = setTimeout(() => this.cancel.abort(new Error('the shutdown grace period is over')), this.graceMs);
    this.graceTimer.unref();
  }

  /** What is left of the grace period (the whole of it before any stop, 0 once it is over). */
  graceLeftMs(): number {
    if (this.graceMs === null || this.cancel.signal.aborted) return 0;
    if (this.requestedAtMs === null) return this.graceMs;
    return Math.max(0, this.requestedAtMs + this.graceMs - Date.now());
  }

  /** Cancels what is still running now (nothing is left to protect). */
  cancelNow(reason: Error): void {
    clearTimeout(this.graceTimer);
    if (!this.cancel.signal.aborted) this.cancel.abort(reason);
  }
}
