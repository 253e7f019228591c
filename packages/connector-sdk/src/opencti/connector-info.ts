/**
 * `connectorInfo`, sent with every ping (reference/protocol-notes.md#scheduling-and-back-pressure). The
 * platform stores it verbatim and shows
 * it on the connector page (buffering banner, last/next run, server capacity); it never acts on it.
 */

/** The `ConnectorInfoInput` of the platform: booleans and floats are required, dates may be null. */
export interface ConnectorInfo {
  run_and_terminate: boolean;
  buffering: boolean;
  /** Megabytes (decimal) above which a scheduled run is skipped. */
  queue_threshold: number;
  /** Megabytes (decimal) currently waiting in the connector's queues. */
  queue_messages_size: number;
  /** `%Y-%m-%dT%H:%M:%SZ` in UTC, or null. */
  next_run_datetime: string | null;
  last_run_datetime: string | null;
}

/** pycti's initial value: nothing run yet, 500 MB threshold. */
export function defaultConnectorInfo(): ConnectorInfo {
  return {
    run_and_terminate: false,
    buffering: false,
    queue_threshold: 500,
    queue_messages_size: 0,
    next_run_datetime: null,
    last_run_datetime: null,
  };
}

/** A date as pycti writes it in `connectorInfo`: UTC, whole seconds, `Z` (`%Y-%m-%dT%H:%M:%SZ`). */
export function formatConnectorDate(date: Date): string {
  const year = date.getUTCFullYear();
  // pycti's strftime format has four-digit years: past 9999 toISOString writes "+010000-...".
  if (Number.isNaN(year) || year < 1 || year > 9999) {
    throw new RangeError(
      `formatConnectorDate: ${Number.isNaN(year) ? 'invalid date' : `year ${year} is out of range`}`,
    );
  }
  return `${date.toISOString().slice(0, 19)}Z`;
}
