import { describe, expect, it } from 'vitest';
import { defaultConnectorInfo, formatConnectorDate } from './connector-info.js';
import { detectRemoteReset, parseState, serializeState } from './state.js';

describe('parseState (pycti get_state semantics)', () => {
  it.each([
    [null, null],
    [undefined, null],
    ['', null],
    ['null', null],
    ['{}', null],
    ['[]', null],
    ['[{"a":1}]', null],
    ['42', null],
    ['"text"', null],
    ['{not json', null],
    ['true', null],
  ])('%j → %j', (raw, expected) => {
    expect(parseState(raw)).toBe(expected);
  });

  it('returns a non-empty object as is', () => {
    expect(parseState('{"last_run": "2026-01-01 10:00:00", "n": 3}')).toEqual({
      last_run: '2026-01-01 10:00:00',
      n: 3,
    });
  });
});

describe('serializeState', () => {
  it('sends "null" when there is no state, as pycti json.dumps(None)', () => {
    expect(serializeState(null)).toBe('null');
    expect(serializeState(undefined)).toBe('null');
    expect(serializeState({})).toBe('null');
  });

  it('sends JSON that parseState reads back', () => {
    const state = { last_run: 1_700_000_000, cursor: { page: 2 }, name: 'é' };
    const text = serializeState(state);
    expect(JSON.parse(text)).toEqual(state);
    expect(parseState(text)).toEqual(state);
  });
});

describe('detectRemoteReset', () => {
  const local = { last_run: '2026-01-01' };

  it('adopts a reset when the platform echoes an empty state while the local one is set', () => {
    expect(detectRemoteReset(local, '')).toEqual({ reset: true, reason: 'remote-emptied' });
    expect(detectRemoteReset(local, null)).toEqual({ reset: true, reason: 'remote-emptied' });
    expect(detectRemoteReset(local, '', '{"last_run":"2025-12-31"}')).toEqual({
      reset: true,
      reason: 'remote-emptied',
    });
  });

  it('ignores a stale, different echo instead of wiping the state (opencti#17472)', () => {
    expect(detectRemoteReset(local, '{"last_run":"2025-12-31"}')).toEqual({ reset: false, reason: 'stale-echo' });
    // "null" is the echo of a ping sent before the state existed, not a reset.
    expect(detectRemoteReset(local, 'null')).toEqual({ reset: false, reason: 'stale-echo' });
    expect(detectRemoteReset(local, '{broken')).toEqual({ reset: false, reason: 'stale-echo' });
  });

  it('is in sync when the echo parses to the same state, whatever the key order or spacing', () => {
    const state = { a: 1, b: { c: [1, 2] } };
    expect(detectRemoteReset(state, '{"b": {"c": [1, 2]}, "a": 1}')).toEqual({ reset: false, reason: 'in-sync' });
    expect(detectRemoteReset({ a: 1, gone: undefined }, '{"a":1}')).toEqual({ reset: false, reason: 'in-sync' });
    expect(detectRemoteReset(state, '{"a":1,"b":{"c":[2,1]}}')).toEqual({ reset: false, reason: 'stale-echo' });
  });

  it('has nothing to reset without a local state', () => {
    expect(detectRemoteReset(null, '')).toEqual({ reset: false, reason: 'no-local-state' });
    expect(detectRemoteReset({}, '{"a":1}')).toEqual({ reset: false, reason: 'no-local-state' });
  });

  it('does not take the same reset twice: an empty echo right after an empty echo is stale', () => {
    // ping 1 consumed the reset (echo ''), the connector then saved a new state; ping 2 may still
    // read the emptied document and echo '' again.
    expect(detectRemoteReset(local, '', '')).toEqual({ reset: false, reason: 'repeated-empty-echo' });
    expect(detectRemoteReset(local, null, '')).toEqual({ reset: false, reason: 'repeated-empty-echo' });
  });
});

describe('connector info', () => {
  it('formats dates as %Y-%m-%dT%H:%M:%SZ in UTC, whole seconds', () => {
    expect(formatConnectorDate(new Date('2026-03-04T05:06:07.890+02:00'))).toBe('2026-03-04T03:06:07Z');
    expect(formatConnectorDate(new Date(Date.UTC(2026, 0, 1)))).toBe('2026-01-01T00:00:00Z');
    expect(() => formatConnectorDate(new Date('nope'))).toThrow(RangeError);
    // toISOString writes "+010000-01-01T00:00:00.000Z" there: no four-digit year to send.
    expect(() => formatConnectorDate(new Date(Date.UTC(10_000, 0, 1)))).toThrow(/year 10000 is out of range/);
    expect(formatConnectorDate(new Date(Date.UTC(9999, 11, 31, 23, 59, 59)))).toBe('9999-12-31T23:59:59Z');
  });

  it("starts from pycti's defaults", () => {
    expect(defaultConnectorInfo()).toEqual({
      run_and_terminate: false,
      buffering: false,
      queue_threshold: 500,
      queue_messages_size: 0,
      next_run_datetime: null,
      last_run_datetime: null,
    });
  });
});
