import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { STIX_TIMESTAMP_FORM, toStixTimestamp, withStixTimestamps } from './timestamps.js';

describe('toStixTimestamp', () => {
  it('writes the instants vendors and pycti send in one form', () => {
    expect(toStixTimestamp('2024-04-18T08:15:00Z')).toBe('2024-04-18T08:15:00.000Z');
    expect(toStixTimestamp('2024-04-18T08:15:00.000Z')).toBe('2024-04-18T08:15:00.000Z');
    expect(toStixTimestamp('2024-04-18T08:15:00.1Z')).toBe('2024-04-18T08:15:00.100Z');
    expect(toStixTimestamp('2024-04-18T08:15:00.123456789Z')).toBe('2024-04-18T08:15:00.123Z');
    expect(toStixTimestamp('2024-04-18 10:15:00+02:00')).toBe('2024-04-18T08:15:00.000Z');
    expect(toStixTimestamp('2024-04-18T08:15:00-0530')).toBe('2024-04-18T13:45:00.000Z');
    expect(toStixTimestamp('2024-04-18t08:15:00z')).toBe('2024-04-18T08:15:00.000Z');
    expect(toStixTimestamp('2024-01-01T00:30:00+01:00')).toBe('2023-12-31T23:30:00.000Z');
    expect(toStixTimestamp(new Date(Date.UTC(2024, 3, 18, 8, 15)))).toBe('2024-04-18T08:15:00.000Z');
  });

  it('refuses what is not a real instant between year 0000 and 9999', () => {
    for (const bad of [
      '',
      'yesterday',
      '2024-04-18',
      '2024-04-18T08:15:00',
      '2024-02-30T00:00:00Z',
      '2023-02-29T00:00:00Z',
      '2024-04-18T24:00:00Z',
      '2024-04-18T23:59:60Z',
      '2024-04-18T08:15:00+24:00',
      '2024-04-18T08:15:00+02:60',
      '9999-12-31T23:00:00-05:00',
      '0000-01-01T00:00:00+01:00',
      '+010000-01-01T00:00:00Z',
      '2024-04-18T08:15:00.Z',
      ' 2024-04-18T08:15:00Z',
      // Already in the SDK's form, yet no real instant.
      '2024-02-30T00:00:00.000Z',
      '2023-02-29T00:00:00.000Z',
      '2024-04-18T24:00:00.000Z',
      '2024-04-18T23:59:60.000Z',
      '2024-13-01T00:00:00.000Z',
      '2024-01-00T00:00:00.000Z',
    ]) {
      expect(toStixTimestamp(bad), bad).toBeNull();
    }
    expect(toStixTimestamp(new Date(Number.NaN))).toBeNull();
    expect(toStixTimestamp(new Date(Date.UTC(10000, 0, 1)))).toBeNull();
    expect(toStixTimestamp('0000-01-01T00:00:00Z')).toBe('0000-01-01T00:00:00.000Z');
  });

  it('agrees with Date on every instant it accepts, in any offset and precision', () => {
    fc.assert(
      fc.property(
        fc.date({ min: new Date('0000-01-02T00:00:00Z'), max: new Date('9999-12-30T00:00:00Z'), noInvalidDate: true }),
        fc.integer({ min: -(23 * 60 + 59), max: 23 * 60 + 59 }),
        fc.integer({ min: 0, max: 9 }),
        (date, offset, digits) => {
          // The instant written at `offset`, with `digits` fraction digits (7s past the milliseconds).
          const [wall] = new Date(date.getTime() + offset * 60_000).toISOString().split('.') as [string];
          const fraction = String(date.getUTCMilliseconds()).padStart(3, '0').padEnd(9, '7').slice(0, digits);
          const abs = Math.abs(offset);
          const zone = `${offset < 0 ? '-' : '+'}${String(Math.floor(abs / 60)).padStart(2, '0')}:${String(abs % 60).padStart(2, '0')}`;
          const text = `${wall}${digits > 0 ? `.${fraction}` : ''}${zone}`;
          // What it means, to the millisecond: the fraction written, truncated.
          const expected = new Date(date.getTime());
          expected.setUTCMilliseconds(Number(fraction.padEnd(3, '0').slice(0, 3)));
          expect(toStixTimestamp(text)).toBe(expected.toISOString());
        },
      ),
    );
  });

  it('is idempotent and keeps the instant of its own form', () => {
    fc.assert(
      fc.property(
        fc.date({ min: new Date('0000-01-01T00:00:00Z'), max: new Date('9999-12-31T23:59:59.999Z') }),
        (d) => {
          if (Number.isNaN(d.getTime())) return;
          const once = toStixTimestamp(d);
          expect(once).toBe(d.toISOString());
          expect(toStixTimestamp(once as string)).toBe(once);
        },
      ),
    );
  });

  it('reads a text already in its form as it reads the same instant written any other way', () => {
    // Texts in the form take a shorter path: the answer must be the one the full parse gives.
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 9999 }),
        fc.integer({ min: 0, max: 13 }),
        fc.integer({ min: 0, max: 32 }),
        fc.integer({ min: 0, max: 25 }),
        fc.integer({ min: 0, max: 61 }),
        fc.integer({ min: 0, max: 61 }),
        fc.integer({ min: 0, max: 999 }),
        (year, month, day, hour, minute, second, millis) => {
          const pad = (n: number, width = 2) => String(n).padStart(width, '0');
          const wall = `${pad(year, 4)}-${pad(month)}-${pad(day)}T${pad(hour)}:${pad(minute)}:${pad(second)}`;
          const inForm = `${wall}.${pad(millis, 3)}Z`;
          // The same instant in an offset and fraction the full parse reads: +00:00, 6 digits.
          const otherwise = `${wall}.${pad(millis, 3)}000+00:00`;
          expect(toStixTimestamp(inForm)).toBe(toStixTimestamp(otherwise) === null ? null : inForm);
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('never throws on any string', () => {
    fc.assert(
      fc.property(fc.string(), (s) => {
        const out = toStixTimestamp(s);
        if (out !== null) expect(out).toMatch(STIX_TIMESTAMP_FORM);
      }),
    );
  });
});

describe('withStixTimestamps', () => {
  it('rewrites the timestamp properties and nothing else, without touching the input', () => {
    const vendor = {
      type: 'indicator',
      id: 'indicator--7ad3d74b-c761-522d-9359-5e7565a3abb4',
      created: '2024-01-01T00:00:00Z',
      modified: '2024-01-01T00:00:00.000Z',
      valid_from: '2024-01-01T02:00:00+02:00',
      valid_until: 'never',
      name: '2024-01-01T00:00:00Z',
      x_custom_when: '2024-01-01T00:00:00Z',
    };
    const out = withStixTimestamps(vendor);
    expect(out).toEqual({
      ...vendor,
      created: '2024-01-01T00:00:00.000Z',
      valid_from: '2024-01-01T00:00:00.000Z',
    });
    expect(vendor.created).toBe('2024-01-01T00:00:00Z');
    const already = { type: 'x', created: '2024-01-01T00:00:00.000Z' };
    expect(withStixTimestamps(already)).toBe(already);
  });
});
