/**
 * CONNECTOR_DURATION_PERIOD parsing, as pycti's schedule_iso accepts it (pydantic timedelta):
 * ISO-8601 durations with Y = 365 days, M (date part) = 30 days, W = 7 days, a fractional last component,
 * an optional sign; `HH:MM:SS`; and the special "0" (run once). Plain numbers other than "0" are rejected,
 * as pydantic rejects them.
 */

const ISO =
  /^([+-])?P(?:(\d+(?:[.,]\d+)?)Y)?(?:(\d+(?:[.,]\d+)?)M)?(?:(\d+(?:[.,]\d+)?)W)?(?:(\d+(?:[.,]\d+)?)D)?(?:T(?:(\d+(?:[.,]\d+)?)H)?(?:(\d+(?:[.,]\d+)?)M)?(?:(\d+(?:[.,]\d+)?)S)?)?$/i;
const CLOCK = /^([+-])?(?:(\d+) days?, )?(\d{1,2}):(\d{2}):(\d{2}(?:\.\d+)?)$/;
const UNIT_SECONDS = [365 * 86400, 30 * 86400, 7 * 86400, 86400, 3600, 60, 1];

/** Seconds in the duration (truncated to an integer, as pycti does), or throws with what was expected. */
export function parseDurationSeconds(value: string): number {
  const text = value.trim();
  if (text === '0') return 0;
  const iso = ISO.exec(text);
  if (iso && text.toUpperCase() !== 'P' && !/T$/i.test(text)) {
    let total = 0;
    for (let i = 0; i < UNIT_SECONDS.length; i++) {
      const part = iso[i + 2];
      if (part !== undefined) total += Number(part.replace(',', '.')) * (UNIT_SECONDS[i] ?? 0);
    }
    return Math.trunc(iso[1] === '-' ? -total : total);
  }
  const clock = CLOCK.exec(text);
  if (clock) {
    const total = Number(clock[2] ?? 0) * 86400 + Number(clock[3]) * 3600 + Number(clock[4]) * 60 + Number(clock[5]);
    return Math.trunc(clock[1] === '-' ? -total : total);
  }
  throw new Error(`expected an ISO-8601 duration such as PT1H, P1D or P7DT12H (or 0 to run once), got "${value}"`);
}
