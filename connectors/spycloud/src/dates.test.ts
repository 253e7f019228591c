import { MAX_DURATION_SECONDS } from '@cti/connector-sdk';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseIsoDateTime, parseStartDate, pythonIsoformat, resolveStartDate, sinceParam, stateDate } from './dates.js';

const offsetText = (minutes: number) => {
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${minutes < 0 ? '-' : '+'}${pad(Math.floor(Math.abs(minutes) / 60))}:${pad(Math.abs(minutes) % 60)}`;
};

describe('dates', () => {
  it("prints a publish date as Python's isoformat() of the pydantic datetime (what pycti hashes)", () => {
    expect(pythonIsoformat('2024-12-04T00:00:00Z')).toBe('2024-12-04T00:00:00+00:00');
    expect(pythonIsoformat('2024-12-04T10:20:30.5Z')).toBe('2024-12-04T10:20:30.500000+00:00');
    expect(pythonIsoformat('2024-12-04T10:20:30.000Z')).toBe('2024-12-04T10:20:30+00:00');
    expect(pythonIsoformat('2024-12-04T10:20:30+02:00')).toBe('2024-12-04T10:20:30+02:00');
    expect(pythonIsoformat('2024-12-04T10:20:30-05:30')).toBe('2024-12-04T10:20:30-05:30');
    expect(pythonIsoformat('2024-12-04T10:20:30')).toBe('2024-12-04T10:20:30');
    expect(pythonIsoformat('2024-12-04')).toBe('2024-12-04T00:00:00');
    expect(pythonIsoformat('04/12/2024')).toBeNull();
  });

  it('parses instants, converting offsets, and refuses impossible dates', () => {
    expect(parseIsoDateTime('2024-12-04T00:00:00+02:00')?.toISOString()).toBe('2024-12-03T22:00:00.000Z');
    expect(parseIsoDateTime('2024-12-04T00:00:00+0200')?.toISOString()).toBe('2024-12-03T22:00:00.000Z');
    expect(parseIsoDateTime('2024-12-04 08:00:00Z')?.toISOString()).toBe('2024-12-04T08:00:00.000Z');
    expect(parseIsoDateTime('2023-02-29')).toBeNull();
    expect(parseIsoDateTime('2024-12-04T24:00:00Z')).toBeNull();
    expect(parseIsoDateTime('')).toBeNull();
  });

  it('writes the state as the Python connector does and reads it back', () => {
    const date = new Date('2024-12-04T00:00:00Z');
    expect(stateDate(date)).toBe('2024-12-04T00:00:00+00:00');
    expect(parseIsoDateTime(stateDate(date))?.getTime()).toBe(date.getTime());
    expect(stateDate(new Date('2024-12-04T01:02:03.004Z'))).toBe('2024-12-04T01:02:03.004000+00:00');
  });

  it('asks SpyCloud for the UTC day', () => {
    expect(sinceParam(new Date('2024-12-04T23:59:59Z'))).toBe('2024-12-04');
    expect(sinceParam(parseIsoDateTime('2024-12-05T01:00:00+02:00') as Date)).toBe('2024-12-04');
  });

  it('resolves a duration start date against the run time', () => {
    const start = parseStartDate('P30D');
    const now = new Date('2025-01-31T12:00:00Z');
    expect(resolveStartDate(start, now).toISOString()).toBe('2025-01-01T12:00:00.000Z');
    expect(resolveStartDate(parseStartDate('PT12H'), now).toISOString()).toBe('2025-01-31T00:00:00.000Z');
    expect(resolveStartDate(parseStartDate('2020-01-01T00:00:00Z'), now).toISOString()).toBe(
      '2020-01-01T00:00:00.000Z',
    );
    expect(() => parseStartDate('P3X')).toThrow(/ISO-8601 duration/);
    expect(() => parseStartDate('last week')).toThrow(/ISO-8601 date-time/);
  });

  it('refuses start dates that no since can carry: absurd durations, a future "ago", years outside 1-9999', () => {
    expect(() => parseStartDate('P100000Y')).toThrow(/longer than the 100 years/);
    expect(() => parseStartDate('-P30D')).toThrow(/cannot be negative/);
    expect(() => parseStartDate('PT0.5S')).toThrow(/under one second/);
    expect(() => parseStartDate('0000-01-01')).toThrow(/ISO-8601 date-time/);
    expect(() => parseStartDate('9999-12-31T23:00:00-05:00')).toThrow(/ISO-8601 date-time/);
    expect(() => parseStartDate('0001-01-01T00:00:00+01:00')).toThrow(/ISO-8601 date-time/);
    expect(sinceParam(resolveStartDate(parseStartDate('0050-06-01'), new Date()))).toBe('0050-06-01');
    expect(sinceParam(resolveStartDate(parseStartDate('9999-12-31T23:59:59Z'), new Date()))).toBe('9999-12-31');
  });

  it('every accepted start date gives a since of the form YYYY-MM-DD, whenever the run starts (years 2000-2200)', () => {
    const ago = fc.integer({ min: 0, max: MAX_DURATION_SECONDS + 86_400 }).map((n) => `PT${n}S`);
    // A wall-clock date-time and an offset: near the ends of the calendar the instant leaves years 1-9999.
    const dateTime = fc
      .tuple(
        fc.date({ min: new Date('0000-01-01T00:00:00Z'), max: new Date('9999-12-31T23:59:59Z'), noInvalidDate: true }),
        fc.oneof(fc.constantFrom('Z', ''), fc.integer({ min: -1439, max: 1439 }).map(offsetText)),
      )
      .map(([wall, zone]) => `${wall.toISOString().slice(0, 19)}${zone}`);
    const runAt = fc.date({
      min: new Date('2000-01-01T00:00:00Z'),
      max: new Date('2200-01-01T00:00:00Z'),
      noInvalidDate: true,
    });
    fc.assert(
      fc.property(fc.oneof(ago, { arbitrary: dateTime, weight: 4 }, fc.string()), runAt, (text, now) => {
        let start: ReturnType<typeof parseStartDate>;
        try {
          start = parseStartDate(text);
        } catch (err) {
          expect(err).toBeInstanceOf(Error);
          return;
        }
        const since = sinceParam(resolveStartDate(start, now));
        expect(since).toMatch(/^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])$/);
        expect(since >= '0001-01-01').toBe(true);
        if (start.kind === 'ago') expect(since <= sinceParam(now)).toBe(true);
      }),
      { numRuns: 1000 },
    );
  });
});
