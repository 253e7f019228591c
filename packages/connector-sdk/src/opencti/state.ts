/**
 * Connector state as it travels through `pingConnector` (reference/protocol-notes.md#ping-and-state).
 *
 * The platform stores the state as an opaque string and never interprets it; pycti sends `json.dumps`
 * of a dict, or "null" when there is none. Locally a state is a non-empty plain object or `null`.
 */

export type ConnectorState = Record<string, unknown>;

/**
 * The `state` variable of a ping. An absent or empty state is sent as "null", as pycti does (its
 * `get_state()` never yields an empty dict), so the platform stores the same text for both SDKs.
 * Whitespace differs from Python's `json.dumps`; nothing on the platform compares the text.
 */
export function serializeState(state: object | null | undefined): string {
  if (state === null || state === undefined || !isNonEmptyPlainObject(state)) return 'null';
  return JSON.stringify(state);
}

/**
 * pycti's `get_state()` semantics: a state is a non-empty JSON object. '', "null", "{}", a list, a
 * number or text that is not JSON all mean "no state" (null), never an exception.
 */
export function parseState(raw: string | null | undefined): ConnectorState | null {
  if (typeof raw !== 'string' || raw === '') return null;
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    return null;
  }
  return isNonEmptyPlainObject(parsed) ? parsed : null;
}

/** What a ping's echoed state means for the local state. */
export type RemoteStateVerdict =
  /** The platform emptied the state (the UI's "Reset state"): drop the local state. */
  | { reset: true; reason: 'remote-emptied' }
  | {
      reset: false;
      reason: /** The echo equals the local state. */
        | 'in-sync'
        /** There is no local state to lose; the next ping sends "null". */
        | 'no-local-state'
        /** A different, non-empty echo: a stale read (issue #17472), not a reset. */
        | 'stale-echo'
        /** An empty echo right after an empty echo: the same reset read again, not a new one. */
        | 'repeated-empty-echo';
    };

/**
 * Decides whether a ping answer resets the local state.
 *
 * pycti drops the local state whenever the echo differs from it. On platforms whose ping re-reads the
 * connector before the write is visible (opencti#17472) the echo is the *previous* state, so pycti
 * wiped fresh states and connectors re-imported everything. The rule here: only an empty echo ('' or
 * null; what `resetStateConnector` leaves) resets a non-null local state; any other difference is a
 * stale echo and is ignored (the next ping sends the local state again).
 *
 * `previousRemoteRaw` is the state echoed by the ping before (or returned by the registration).
 * After a reset the platform can echo the same '' once more when the following ping's write is not yet
 * visible; an empty echo that follows an empty echo is therefore that same reset, not a new one.
 */
export function detectRemoteReset(
  local: ConnectorState | null,
  remoteRaw: string | null | undefined,
  previousRemoteRaw?: string | null,
): RemoteStateVerdict {
  const localState = local !== null && isNonEmptyPlainObject(local) ? local : null;
  if (localState === null) return { reset: false, reason: 'no-local-state' };
  if (isEmptyEcho(remoteRaw)) {
    if (previousRemoteRaw !== undefined && isEmptyEcho(previousRemoteRaw)) {
      return { reset: false, reason: 'repeated-empty-echo' };
    }
    return { reset: true, reason: 'remote-emptied' };
  }
  // Compare as JSON, as the platform stores it: `undefined` members and the like vanish on the wire.
  const sent = parseState(serializeState(localState));
  const remote = parseState(remoteRaw);
  return deepEqual(sent, remote) ? { reset: false, reason: 'in-sync' } : { reset: false, reason: 'stale-echo' };
}

function isEmptyEcho(raw: string | null | undefined): boolean {
  return raw === null || raw === undefined || raw === '';
}

function isNonEmptyPlainObject(value: unknown): value is ConnectorState {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const proto: unknown = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) return false;
  return Object.keys(value).length > 0;
}

/** Structural equality of JSON values (key order does not matter, as for Python dicts). */
function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a) && Array.isArray(b)) {
    return a.length === b.length && a.every((item, i) => deepEqual(item, b[i]));
  }
  const aRecord = a as Record<string, unknown>;
  const bRecord = b as Record<string, unknown>;
  const aKeys = Object.keys(aRecord);
  if (aKeys.length !== Object.keys(bRecord).length) return false;
  return aKeys.every((key) => Object.hasOwn(bRecord, key) && deepEqual(aRecord[key], bRecord[key]));
}
