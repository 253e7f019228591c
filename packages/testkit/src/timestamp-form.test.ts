import { describe, expect, it } from 'vitest';
import { TIMESTAMP_FORM, timestampFormProblems } from './timestamp-form.js';

describe('timestampFormProblems', () => {
  it('accepts the one form, at any depth', () => {
    expect(
      timestampFormProblems({
        objects: [
          { created: '2024-05-01T08:00:00.000Z', extensions: { x: { created_at: '2024-05-01T08:00:00.123Z' } } },
        ],
      }),
    ).toEqual([]);
    expect(TIMESTAMP_FORM.test('2024-05-01T08:00:00.000Z')).toBe(true);
  });

  it('names every other text of a date-time with its path', () => {
    expect(
      timestampFormProblems({
        objects: [
          { first_seen: '2023-06-13T19:00:00Z', last_seen: '2024-04-18T08:15:00.123456Z' },
          {
            x: ['2024-04-18T10:15:00+02:00', '2024-04-18 08:15', '2024-04-18T08:15:00.00Z', '+010000-01-01T00:00:00Z'],
          },
        ],
      }),
    ).toEqual([
      "objects[0].first_seen: '2023-06-13T19:00:00Z'",
      "objects[0].last_seen: '2024-04-18T08:15:00.123456Z'",
      "objects[1].x[0]: '2024-04-18T10:15:00+02:00'",
      "objects[1].x[1]: '2024-04-18 08:15'",
      "objects[1].x[2]: '2024-04-18T08:15:00.00Z'",
      "objects[1].x[3]: '+010000-01-01T00:00:00Z'",
    ]);
  });

  it('leaves alone text that only contains a date, and what is not a string', () => {
    expect(
      timestampFormProblems({
        description: 'Last CrowdSec enrichment: 2024-05-01T10:00:00+00:00',
        date: '2024-05-01',
        count: 20240501,
        missing: null,
      }),
    ).toEqual([]);
  });
});
