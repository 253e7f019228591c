/**
 * Duration settings (CONNECTOR_DURATION_PERIOD, start dates written as "that long ago"), as pycti's
 * schedule_iso accepts them (pydantic timedelta): ISO-8601 durations with Y = 365 days, M (date part) = 30
 * days, W = 7 days, a fractional component; `HH:MM:SS` and `N days, HH:MM:SS`; and the special "0" (run
 * once). Plain numbers other than "0" are rejected, as pydantic rejects them.
 *
 * pycti also takes negative durations, and any length; here a duration is whole seconds between 0 and
 * MAX_DURATION_SECONDS, and a non-zero value under one second (which pycti truncates to 0: run once) is
 * refused rather than silently read as 0.
 */

/**
 * The longest duration a setting accepts: 100 years (P100Y = 36,500 days). Beyond it is a typo, and the
 * dates computed from it (next run, "that long ago") would leave the range that dates can be formatted in.
 */
export const MAX_DURATION_SECONDS = 100 * 365 * 86_400;

/** Why a duration was refused: `syntax` when it is not a duration at all, else the bound it breaks. */
export type DurationProblem = 'syntax' | 'negative' | 'too-long' | 'sub-second';

export class DurationError extends Error {
  constructor(
    readonly problem: DurationProblem,
    message: string,
  ) {
    super(message);
    this.name = 'DurationError';
  }
}

const ISO =
  /^([+-])?P(?:(\d+(?:[.,]\d+)?)Y)?(?:(\d+(?:[.,]\d+)?)M)?(?:(\d+(?:[.,]\d+)?)W)?(?:(\d+(?:[.,]\d+)?)D)?(?:T(?:(\d+(?:[.,]\d+)?)H)?(?:(\d+(?:[.,]\d+)?)M)?(?:(\d+(?:[.,]\d+)?)S)?)?$/i;
const CLOCK = /^([+-])?(?:(\d+) days?, )?(\d{1,2}):([0-5]\d):([0-5]\d(?:\.\d+)?)$/;
const UNIT_SECONDS = [365 * 86400, 30 * 86400, 7 * 86400, 86400, 3600, 60, 1];

/** The sign and the exact (possibly fractional) number of seconds written, or null when it is not a duration. */
function readDuration(text: string): { negative: boolean; seconds: number } | null {
  const iso = ISO.exec(text);
  if (iso && text.toUpperCase() !== 'P' && !/T$/i.test(text)) {
    let total = 0;
    for (let i = 0; i < UNIT_SECONDS.length; i++) {
      const part = iso[i + 2];
      if (part !== undefined) total += Number(part.replace(',', '.')) * (UNIT_SECONDS[i] ?? 0);
    }
    return { negative: iso[1] === '-', seconds: total };
  }
  const clock = CLOCK.exec(text);
  if (clock) {
    const total = Number(clock[2] ?? 0) * 86400 + Number(clock[3]) * 3600 + Number(clock[4]) * 60 + Number(clock[5]);
    return { negative: clock[1] === '-', seconds: total };
  }
  return null;
}

/**
 * Whole seconds in the duration (a fraction of a second is dropped, as pycti drops it), or throws a
 * DurationError saying what was expected: a duration that is negative, longer than P100Y, or non-zero but
 * under a second is refused as well as text that is no duration.
 */
export function parseDurationSeconds(value: string): number {
  const text = value.trim();
  if (text === '0') return 0;
  const read = readDuration(text);
  if (read === null) {
    throw new DurationError(
      'syntax',
      `expected an ISO-8601 duration such as PT1H, P1D or P7DT12H (or 0 to run once), got "${value}"`,
    );
  }
  if (read.negative && read.seconds > 0)
    throw new DurationError('negative', `a duration cannot be negative, got "${text}"`);
  // Also catches a number too long for a double (Infinity).
  if (!(read.seconds <= MAX_DURATION_SECONDS)) {
    throw new DurationError('too-long', 'is longer than the 100 years (P100Y) a duration may be');
  }
  const seconds = Math.trunc(read.seconds);
  if (seconds === 0 && read.seconds > 0) {
    throw new DurationError(
      'sub-second',
      'is under one second: durations count whole seconds (write 0, or at least PT1S)',
    );
  }
  return seconds;
}
