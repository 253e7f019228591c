import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  cursorsFrom,
  formatStateDate,
  LATEST_UNIX_SECONDS,
  parseStateDate,
  StreamPass,
  stateFrom,
  type Teamt5State,
  teamt5StateSchema,
} from './state.js';

// 2026-05-22T11:00:00Z
const T = 1_779_447_600;

describe('state dates', () => {
  it.each([
    ['2026-05-22T11:00:00+00:00', T], // what upstream writes now
    ['2026-05-22 11:00:00', T], // what upstream wrote before #5352
    ['2026-05-22T11:00:00Z', T],
    ['2026-05-22T11:00:00.123456+00:00', T],
    ['2026-05-22T13:00:00+02:00', T],
    ['2026-05-22T06:30:00-0430', T],
    ['2026-05-22T11:00', T],
    ['2026-05-22', T - 11 * 3600],
  ])('reads %s', (text, seconds) => {
    expect(parseStateDate(text)).toBe(seconds);
  });

  it.each(['', 'yesterday', '2026-13-01T00:00:00', '2026-02-30 00:00:00', '2026-05-22T25:00:00', '1779447600'])(
    'refuses %j',
    (text) => {
      expect(parseStateDate(text)).toBeNull();
    },
  );

  it("writes upstream's format", () => {
    expect(formatStateDate(T)).toBe('2026-05-22T11:00:00+00:00');
    expect(parseStateDate(formatStateDate(T + 59))).toBe(T + 59);
  });

  it.each([
    '0000-01-01T00:00:00+00:00', // Date.UTC read years 0-99 as 1900-1999
    '0099-06-01T00:00:00+00:00',
    '1969-12-31T23:59:59+00:00', // before TeamT5's first possible date[from]
    '9999-12-31T23:00:00-05:00', // year 10000 in UTC: could not be written back
  ])('refuses %j, a date no cursor can hold', (text) => {
    expect(parseStateDate(text)).toBeNull();
  });

  it('reads back every date it writes, 1970 to 9999', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: LATEST_UNIX_SECONDS }), (seconds) => {
        const text = formatStateDate(seconds);
        expect(text).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00$/);
        expect(parseStateDate(text)).toBe(seconds);
      }),
    );
  });

  it('whatever a saved date says, it reads as null or as seconds that can be written back', () => {
    const pad = (n: number, w = 2) => String(n).padStart(w, '0');
    const dateLike = fc
      .tuple(
        fc.date({ min: new Date('0000-01-01T00:00:00Z'), max: new Date('9999-12-31T23:59:59Z'), noInvalidDate: true }),
        fc.oneof(
          fc.constantFrom('', 'Z', '+00:00'),
          fc
            .integer({ min: -1439, max: 1439 })
            .map((m) => `${m < 0 ? '-' : '+'}${pad(Math.floor(Math.abs(m) / 60))}:${pad(Math.abs(m) % 60)}`),
        ),
      )
      .map(([d, zone]) => `${d.toISOString().slice(0, 19)}${zone}`);
    fc.assert(
      fc.property(fc.oneof({ arbitrary: dateLike, weight: 4 }, fc.string()), (text) => {
        const seconds = parseStateDate(text);
        if (seconds === null) return;
        expect(Number.isSafeInteger(seconds)).toBe(true);
        expect(parseStateDate(formatStateDate(seconds))).toBe(seconds);
      }),
      { numRuns: 1000 },
    );
  });
});

describe('the state schema', () => {
  it("accepts upstream's states, both formats", () => {
    expect(teamt5StateSchema.parse({ last_run: '2026-05-22T11:00:00+00:00' })).toEqual({
      last_run: '2026-05-22T11:00:00+00:00',
    });
    expect(teamt5StateSchema.safeParse({ last_run: '2025-12-01 08:00:00' }).success).toBe(true);
  });

  it('refuses a state without a readable last_run (the SDK then starts from the first-run settings)', () => {
    expect(teamt5StateSchema.safeParse({}).success).toBe(false);
    expect(teamt5StateSchema.safeParse({ last_run: 'never' }).success).toBe(false);
    expect(teamt5StateSchema.safeParse({ last_run: T }).success).toBe(false);
  });
});

describe('cursors', () => {
  it('start from TEAMT5_FIRST_RUN_RETRIEVAL_TIMESTAMP on a first run', () => {
    expect(cursorsFrom(null, 1_700_000_000)).toEqual({
      reports: { from: 1_700_000_000 },
      indicator_bundles: { from: 1_700_000_000 },
    });
  });

  it("start from upstream's last_run, whichever format", () => {
    expect(cursorsFrom({ last_run: '2026-05-22 11:00:00' }, 0)).toEqual({
      reports: { from: T },
      indicator_bundles: { from: T },
    });
  });

  it('round-trip through the state, upstream shape when both streams agree', () => {
    expect(stateFrom({ reports: { from: T }, indicator_bundles: { from: T } })).toEqual({
      last_run: '2026-05-22T11:00:00+00:00',
    });
    const mixed = {
      reports: { from: T },
      indicator_bundles: { from: T - 86_400, partial: { after: T - 3600, until: T } },
    };
    const state = stateFrom(mixed);
    expect(state).toEqual({
      // Everything before this is imported in both streams: what the Python connector would read.
      last_run: '2026-05-21T11:00:00+00:00',
      reports: { last_run: '2026-05-22T11:00:00+00:00' },
      indicator_bundles: {
        last_run: '2026-05-21T11:00:00+00:00',
        in_progress: { started: '2026-05-22T11:00:00+00:00', done_after: '2026-05-22T10:00:00+00:00' },
      },
    });
    expect(cursorsFrom(teamt5StateSchema.parse(JSON.parse(JSON.stringify(state))) as Teamt5State, 0)).toEqual(mixed);
  });
});

describe('StreamPass', () => {
  const from = T - 10 * 86_400;
  const started = T;

  it('claims, item by item in newest-first order, everything after the last imported item', () => {
    const pass = new StreamPass({ from }, started);
    expect(pass.handled(T - 100, 'imported')).toEqual({ from, partial: { after: T - 100, until: started } });
    expect(pass.handled(T - 200, 'imported')).toEqual({ from, partial: { after: T - 200, until: started } });
    expect(pass.complete()).toEqual({ from: started });
  });

  it('claims an item given up on only once an older item was imported', () => {
    const pass = new StreamPass({ from }, started);
    pass.handled(T - 100, 'imported');
    expect(pass.handled(T - 200, 'failed')).toBeNull();
    expect(pass.handled(T - 300, 'failed')).toBeNull();
    expect(pass.handled(T - 400, 'skipped')).toBeNull(); // nothing proven while failures are pending
    expect(pass.handled(T - 500, 'imported')).toEqual({ from, partial: { after: T - 500, until: started } });
  });

  it('skips what an interrupted earlier pass imported, and joins its range once it reaches it', () => {
    const earlier = { from, partial: { after: T - 5000, until: T - 1000 } };
    const pass = new StreamPass(earlier, started);
    expect(pass.alreadyImported(T - 500)).toBe(false); // newer than the earlier pass
    expect(pass.alreadyImported(T - 1000)).toBe(true);
    expect(pass.alreadyImported(T - 5000)).toBe(false); // the boundary item may not have been finished
    // Newer items: the earlier range is kept as it is until this pass reaches it.
    expect(pass.handled(T - 500, 'imported')).toBeNull();
    expect(pass.handled(T - 2000, 'skipped')).toEqual({ from, partial: { after: T - 5000, until: started } });
    expect(pass.handled(T - 6000, 'imported')).toEqual({ from, partial: { after: T - 6000, until: started } });
  });

  it('claims nothing more once an item comes out of date order, until the pass completes', () => {
    const pass = new StreamPass({ from }, started);
    expect(pass.handled(T - 300, 'imported')).not.toBeNull();
    expect(pass.handled(T - 100, 'imported')).toBeNull();
    expect(pass.inOrder).toBe(false);
    expect(pass.handled(T - 900, 'imported')).toBeNull();
    expect(pass.complete()).toEqual({ from: started });
  });

  it('never claims past its own start (an item published during the run is listed again next time)', () => {
    const pass = new StreamPass({ from }, started);
    expect(pass.handled(T + 50, 'imported')).toEqual({ from, partial: { after: started, until: started } });
  });

  it('ignores undated items for the claim', () => {
    const pass = new StreamPass({ from }, started);
    expect(pass.handled(null, 'skipped')).toBeNull();
    expect(pass.handled(T - 10, 'imported')).toEqual({ from, partial: { after: T - 10, until: started } });
    expect(pass.handled(null, 'imported')).toEqual({ from, partial: { after: T - 10, until: started } });
  });
});
