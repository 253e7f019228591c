import { describe, expect, it } from 'vitest';
import { parseDurationSeconds } from './duration.js';

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
    ['01:00:00', 3600],
    ['1 day, 01:00:00', 90000],
  ])('%s is %i seconds', (input, seconds) => {
    expect(parseDurationSeconds(input)).toBe(seconds);
  });

  it.each(['3600', 'P', 'PT', '1h', 'soon', ''])('rejects %j with the expected form', (input) => {
    expect(() => parseDurationSeconds(input)).toThrow(/ISO-8601 duration/);
  });
});
