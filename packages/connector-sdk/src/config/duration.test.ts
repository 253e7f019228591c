import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../errors/index.js';
import { formatConnectorDate } from '../opencti/connector-info.js';
import { MAX_TIMER_DELAY_MS } from '../time/index.js';
import { baseConfig } from './base.js';
import { DurationError, MAX_DURATION_SECONDS, parseDurationSeconds } from './duration.js';
import { loadConfig } from './load.js';

const UNITS = [
  ['Y', 365 * 86400],
  ['M', 30 * 86400],
  ['W', 7 * 86400],
  ['D', 86400],
  ['H', 3600],
  ['M', 60],
  ['S', 1],
] as const;

/** An ISO-8601 duration from whole components (index 4 on are the time part). */
function isoOf(parts: readonly number[]): string {
  let date = 'P';
  let time = '';
  parts.forEach((n, i) => {
    if (n === 0) return;
    const text = `${n}${UNITS[i]?.[0]}`;
    if (i < 4) date += text;
    else time += text;
  });
  return time === '' ? date : `${date}T${time}`;
}

const secondsOf = (parts: readonly number[]) => parts.reduce((sum, n, i) => sum + n * (UNITS[i]?.[1] ?? 0), 0);

/** Components of a duration within the bounds, each small enough that the total usually stays under them. */
const components = fc
  .tuple(
    fc.nat(100),
    fc.nat(1300),
    fc.nat(5300),
    fc.nat(40_000),
    fc.nat(900_000),
    fc.nat(60_000_000),
    fc.nat(MAX_DURATION_SECONDS),
  )
  .filter((parts) => parts.some((n) => n > 0));

describe('parseDurationSeconds', () => {
  it.each([
    ['PT1H', 3600],
    ['P1D', 86400],
    ['PT5M', 300],
    ['P1DT2H3M4.5S', 93784],
    ['P1W', 604800],
    ['P1M', 2592000],
    ['P1Y', 31536000],
    ['PT0.5H', 1800],
    ['0', 0],
    ['PT0S', 0],
    ['P0D', 0],
    ['-PT0S', 0],
    ['01:00:00', 3600],
    ['1 day, 01:00:00', 90000],
    ['P100Y', MAX_DURATION_SECONDS],
    ['P36500D', MAX_DURATION_SECONDS],
    ['  PT1H  ', 3600],
    ['pt1h', 3600],
    ['PT1,5S', 1],
  ])('%s is %i seconds', (input, seconds) => {
    expect(parseDurationSeconds(input)).toBe(seconds);
  });

  it.each(['3600', 'P', 'PT', '1h', 'soon', '', 'PT1H%20', 'P1D\u0000', 'P１D', '0x10', 'P1e3D', 'PT-1H', '00:60:00'])(
    'rejects %j with the expected form',
    (input) => {
      expect(() => parseDurationSeconds(input)).toThrow(/ISO-8601 duration/);
    },
  );

  it.each([
    ['P1000000Y', /longer than the 100 years \(P100Y\)/],
    ['P100YT1S', /longer than the 100 years/],
    ['P36501D', /longer than the 100 years/],
    [`P${'9'.repeat(400)}D`, /longer than the 100 years/],
    ['876001:00:00', /expected an ISO-8601 duration/],
    ['36501 days, 00:00:00', /longer than the 100 years/],
    ['-PT1H', /cannot be negative/],
    ['-01:00:00', /cannot be negative/],
    ['PT0.5S', /under one second/],
    ['P0.000001D', /under one second/],
  ])('refuses %s: %s', (input, why) => {
    expect(() => parseDurationSeconds(input)).toThrow(why);
  });

  it('says which rule a refused duration breaks', () => {
    const problem = (text: string) => {
      try {
        parseDurationSeconds(text);
      } catch (err) {
        return err instanceof DurationError ? err.problem : 'not a DurationError';
      }
      return 'accepted';
    };
    expect(['soon', '-PT1H', 'P101Y', 'PT0.1S', 'PT1S'].map(problem)).toEqual([
      'syntax',
      'negative',
      'too-long',
      'sub-second',
      'accepted',
    ]);
  });

  it('reads any duration written in whole components as its total in seconds, up to P100Y', () => {
    fc.assert(
      fc.property(components, (parts) => {
        const total = secondsOf(parts);
        const text = isoOf(parts);
        if (total <= MAX_DURATION_SECONDS) expect(parseDurationSeconds(text)).toBe(total);
        else expect(() => parseDurationSeconds(text)).toThrow(/longer than the 100 years/);
      }),
    );
  });

  it('reads PT<n>S and its clock form as n, for every n up to the bound, and refuses n + 1', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: MAX_DURATION_SECONDS }), (n) => {
        expect(parseDurationSeconds(`PT${n}S`)).toBe(n);
        const days = Math.floor(n / 86400);
        const rest = n % 86400;
        const clock = [Math.floor(rest / 3600), Math.floor((rest % 3600) / 60), rest % 60]
          .map((v) => String(v).padStart(2, '0'))
          .join(':');
        expect(parseDurationSeconds(days > 0 ? `${days} days, ${clock}` : clock)).toBe(n);
      }),
    );
    expect(() => parseDurationSeconds(`PT${MAX_DURATION_SECONDS + 1}S`)).toThrow(/100 years/);
  });

  it('whatever the text, it is refused with an Error or read as whole seconds in [0, P100Y]', () => {
    const amount = fc.oneof(
      fc.stringMatching(/^[0-9]{1,25}$/),
      fc.stringMatching(/^[0-9]{1,12}[.,][0-9]{1,12}$/),
      fc.constantFrom('0', '1e3', '-1', ''),
    );
    const component = fc.tuple(amount, fc.constantFrom('Y', 'M', 'W', 'D', 'H', 'S', '')).map(([n, u]) => `${n}${u}`);
    const durationish = fc
      .tuple(
        fc.constantFrom('', '-', '+', ' '),
        fc.constantFrom('P', 'p', 'PT', ''),
        fc.array(component, { maxLength: 4 }),
        fc.constantFrom('', 'T', 'T1S', ' '),
      )
      .map((parts) => parts.flat().join(''));
    fc.assert(
      fc.property(fc.oneof(fc.string(), durationish), (text) => {
        let seconds: number;
        try {
          seconds = parseDurationSeconds(text);
        } catch (err) {
          expect(err).toBeInstanceOf(Error);
          return;
        }
        expect(Number.isSafeInteger(seconds)).toBe(true);
        expect(seconds).toBeGreaterThanOrEqual(0);
        expect(seconds).toBeLessThanOrEqual(MAX_DURATION_SECONDS);
      }),
    );
  });

  it('every accepted duration schedules and formats: a next run, and a date that long ago, from any year 2000-2200', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: MAX_DURATION_SECONDS }),
        fc.date({ min: new Date('2000-01-01T00:00:00Z'), max: new Date('2200-01-01T00:00:00Z'), noInvalidDate: true }),
        (seconds, now) => {
          const ms = parseDurationSeconds(`PT${seconds}S`) * 1000;
          expect(Number.isSafeInteger(ms)).toBe(true);
          // sleep() waits in steps of MAX_TIMER_DELAY_MS: a bounded number of them.
          expect(Math.ceil(ms / MAX_TIMER_DELAY_MS)).toBeLessThanOrEqual(1470);
          expect(formatConnectorDate(new Date(now.getTime() + ms))).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
          expect(new Date(now.getTime() - ms).toISOString()).toMatch(/^\d{4}-\d\d-\d\dT/);
        },
      ),
    );
  });

  it('CONNECTOR_DURATION_PERIOD: any value is refused naming the variable, or is a period the scheduler can keep', () => {
    const minimal = {
      OPENCTI_URL: 'http://opencti:8080',
      OPENCTI_TOKEN: 'token-abcdef-123456',
      CONNECTOR_ID: '2b6c1f2e-8a55-4c0e-9c1b-4f3f0f1c2d3e',
      CONNECTOR_NAME: 'Test',
    };
    const values = fc.oneof(
      fc.string(),
      fc.stringMatching(/^-?P([0-9]{1,12}[YMWD]){0,3}(T([0-9]{1,9}(\.[0-9]{1,3})?[HMS]){1,3})?$/),
      fc.stringMatching(/^-?([0-9]{1,6} days?, )?[0-9]{1,2}:[0-9]{2}:[0-9]{2}$/),
    );
    fc.assert(
      fc.property(values, (raw) => {
        fc.pre(raw.trim() !== ''); // unset: no period
        let period: number | undefined;
        try {
          period = loadConfig(baseConfig, {
            env: { ...minimal, CONNECTOR_DURATION_PERIOD: raw },
            dotenvPath: false,
          }).CONNECTOR_DURATION_PERIOD;
        } catch (err) {
          expect(err).toBeInstanceOf(ConfigError);
          expect((err as ConfigError).issues.map((i) => i.variable)).toEqual(['CONNECTOR_DURATION_PERIOD']);
          return;
        }
        expect(Number.isSafeInteger(period)).toBe(true);
        const ms = (period ?? 0) * 1000;
        expect(ms).toBeGreaterThanOrEqual(0);
        expect(ms).toBeLessThanOrEqual(MAX_DURATION_SECONDS * 1000);
        expect(formatConnectorDate(new Date(Date.now() + ms))).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
      }),
      { numRuns: 500 },
    );
  });
});
