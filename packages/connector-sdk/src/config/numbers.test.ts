/** env.int and env.number: what a number setting accepts, at its edges. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../errors/index.js';
import { env } from './fields.js';
import { loadConfig } from './load.js';

const SHAPE = {
  RETRIES: env.int({ min: -5, max: 100 }),
  ANY_INT: env.int(),
  RATE: env.number({ min: 0, max: 1000 }),
};

function load(values: Record<string, string>) {
  return loadConfig(SHAPE, { env: { RETRIES: '1', ANY_INT: '1', RATE: '1', ...values }, dotenvPath: false });
}

function problemOf(values: Record<string, string>): string {
  try {
    load(values);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as ConfigError).message;
  }
  throw new Error(`accepted ${JSON.stringify(values)}`);
}

describe('integer settings', () => {
  it.each([
    '0x32',
    '1e2',
    '1E2',
    '0b11',
    '0o7',
    '1_000',
    '12.0',
    '12.',
    '.5',
    'Infinity',
    '-Infinity',
    'NaN',
    '+-1',
    '1 000',
    '１２',
    '12abc',
    '%31%32',
  ])('refuses %j, naming the variable', (raw) => {
    expect(problemOf({ ANY_INT: raw })).toMatch(/ANY_INT: expected a whole number/);
  });

  it.each([
    ['12', 12],
    [' 12 ', 12],
    ['+12', 12],
    ['007', 7],
    ['-0', 0],
    ['-5', -5],
  ])('reads %j as %d', (raw, value) => {
    const read = load({ RETRIES: raw }).RETRIES;
    expect(read).toBe(value);
    expect(Object.is(read, -0)).toBe(false);
  });

  it('refuses what a double cannot hold exactly, and the bounds a setting gives', () => {
    expect(problemOf({ ANY_INT: '9007199254740993' })).toMatch(
      /ANY_INT: is too large to be read exactly \(at most 9007199254740991\)/,
    );
    expect(problemOf({ ANY_INT: '9'.repeat(400) })).toMatch(/ANY_INT: is too large/);
    expect(load({ ANY_INT: String(Number.MAX_SAFE_INTEGER) }).ANY_INT).toBe(Number.MAX_SAFE_INTEGER);
    expect(problemOf({ RETRIES: '101' })).toMatch(/RETRIES: expected a number <= 100/);
    expect(problemOf({ RETRIES: '-6' })).toMatch(/RETRIES: expected a number >= -5/);
  });

  it('reads every safe integer written in decimal (sign, leading zeros, blanks) as itself', () => {
    fc.assert(
      fc.property(
        fc.maxSafeInteger(),
        fc.constantFrom('', '+'),
        fc.nat(3),
        fc.constantFrom('', ' ', '\t'),
        (n, plus, zeros, blank) => {
          const sign = n < 0 ? '-' : plus;
          const text = `${blank}${sign}${'0'.repeat(zeros)}${Math.abs(n)}${blank}`;
          expect(load({ ANY_INT: text }).ANY_INT).toBe(n + 0);
        },
      ),
    );
  });

  it('anything accepted is a safe integer within the bounds, written as decimal digits', () => {
    const numberish = fc.stringMatching(/^[ +\-0-9.eExXbBoO_a-fA-F]{1,25}$/);
    fc.assert(
      fc.property(fc.oneof(fc.string(), numberish), (raw) => {
        fc.pre(raw.trim() !== ''); // unset: the default (none here) applies
        let value: number;
        try {
          value = load({ RETRIES: raw }).RETRIES;
        } catch (err) {
          expect(err).toBeInstanceOf(ConfigError);
          expect((err as ConfigError).message).toMatch(/RETRIES: /);
          return;
        }
        expect(raw.trim()).toMatch(/^[+-]?\d+$/);
        expect(Number.isSafeInteger(value)).toBe(true);
        expect(value).toBeGreaterThanOrEqual(-5);
        expect(value).toBeLessThanOrEqual(100);
        expect(value).toBe(Number.parseInt(raw.trim(), 10) + 0);
      }),
    );
  });
});

describe('decimal settings', () => {
  it.each(['0x32', '1e2', '1E-2', 'Infinity', 'NaN', '1_000.5', '1,5', '0.5.1', '.', '-.', '5%'])(
    'refuses %j, naming the variable',
    (raw) => {
      expect(problemOf({ RATE: raw })).toMatch(/RATE: expected a number/);
    },
  );

  it.each([
    ['0.5', 0.5],
    ['.5', 0.5],
    ['5.', 5],
    ['+2.25', 2.25],
    [' 1000 ', 1000],
    ['-0', 0],
  ])('reads %j as %d', (raw, value) => {
    const read = load({ RATE: raw }).RATE;
    expect(read).toBe(value);
    expect(Object.is(read, -0)).toBe(false);
  });

  it('refuses a number too long for a double, and the bounds a setting gives', () => {
    expect(problemOf({ RATE: '9'.repeat(400) })).toMatch(/RATE: is too large/);
    expect(problemOf({ RATE: '1000.001' })).toMatch(/RATE: expected a number <= 1000/);
    expect(problemOf({ RATE: '-0.001' })).toMatch(/RATE: expected a number >= 0/);
  });

  it('reads any finite decimal written with a point as the same double', () => {
    fc.assert(
      fc.property(fc.double({ min: 0, max: 1000, noNaN: true }), fc.nat(6), (x, digits) => {
        const text = x.toFixed(digits);
        expect(load({ RATE: text }).RATE).toBe(Number(text) + 0);
      }),
    );
  });

  it('anything accepted is a finite number within the bounds, written as decimal digits', () => {
    const numberish = fc.stringMatching(/^[ +\-0-9.eExX_a-fA-FInity]{1,25}$/);
    fc.assert(
      fc.property(fc.oneof(fc.string(), numberish), (raw) => {
        fc.pre(raw.trim() !== '');
        let value: number;
        try {
          value = load({ RATE: raw }).RATE;
        } catch (err) {
          expect(err).toBeInstanceOf(ConfigError);
          expect((err as ConfigError).message).toMatch(/RATE: /);
          return;
        }
        expect(raw.trim()).toMatch(/^[+-]?(\d+\.?\d*|\.\d+)$/);
        expect(Number.isFinite(value)).toBe(true);
        expect(value).toBeGreaterThanOrEqual(0);
        expect(value).toBeLessThanOrEqual(1000);
      }),
    );
  });
});
