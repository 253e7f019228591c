import { describe, expect, it } from 'vitest';
import { parseIsoDateTime, parseStartDate, pythonIsoformat, resolveStartDate, sinceParam, stateDate } from './dates.js';

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
});
