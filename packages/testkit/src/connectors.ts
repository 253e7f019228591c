/**
 * Connector records with the platform's registration, ping and reset semantics (platform.md b):
 *
 * - registerConnector creates or patches the record; `connector_user_id` is rebound to the calling user;
 *   the state is never reset by a re-registration;
 * - pingConnector stores the state string verbatim — unless a reset is pending, in which case the sent state
 *   is ignored, the flag cleared, `updated_at` left alone, and '' echoed back — and stores connector_info;
 * - resetStateConnector sets the state to '' with the reset flag (the platform also purges both queues,
 *   which the facade does).
 */
import { TestPlatformError } from './errors.js';

/** The registration input, as `RegisterConnectorInput`. */
export interface RegisterConnectorInput {
  id: string;
  name: string;
  type: string;
  scope?: readonly string[] | null;
  auto?: boolean | null;
  auto_update?: boolean | null;
  enrichment_resolution?: string | null;
  only_contextual?: boolean | null;
  playbook_compatible?: boolean | null;
  listen_callback_uri?: string | null;
  /** Declared by platforms newer than 7.260318.0 only (TestPlatformOptions.connectorMetadata). */
  xtm_one_intent?: string | null;
  version?: string | null;
  slug?: string | null;
}

/** `ConnectorInfoInput` as sent in pings. */
export interface ConnectorInfo {
  run_and_terminate: boolean;
  buffering: boolean;
  queue_threshold: number;
  queue_messages_size: number;
  next_run_datetime?: string | null;
  last_run_datetime?: string | null;
}

export interface RegistrationRecord {
  at: string;
  input: RegisterConnectorInput;
  userId: string;
  /** True for the first registration (the record was created). */
  created: boolean;
}

export interface PingRecord {
  at: string;
  /** The state string the connector sent (null when it sent none). */
  sentState: string | null;
  sentInfo: ConnectorInfo | null;
  /** True when this ping consumed a pending reset (its state was ignored). */
  consumedReset: boolean;
  /** The state the platform answered with. */
  echoedState: string | null;
}

/** The stored connector (the platform's Connector internal object). */
export interface ConnectorRecord {
  id: string;
  name: string;
  connector_type: string;
  /** Stored comma-joined by the platform; null when empty. */
  connector_scope: string | null;
  auto: boolean;
  auto_update: boolean;
  enrichment_resolution: string | null;
  only_contextual: boolean;
  playbook_compatible: boolean;
  listen_callback_uri: string | null;
  /** The version and slug the connector reported (null when it did not, or its platform cannot store them). */
  version: string | null;
  slug: string | null;
  connector_user_id: string;
  connector_state: string | null;
  connector_state_reset: boolean;
  connector_state_timestamp: string;
  connector_info: ConnectorInfo | null;
  connector_priority_group: 'DEFAULT' | 'REALTIME';
  created_at: string;
  updated_at: string;
  built_in: boolean;
}

/** What `platform.connector(id)` returns: the record plus its history, copied. */
export interface ConnectorSnapshot extends ConnectorRecord {
  /** The scope as GraphQL returns it (split back into an array). */
  scope: string[];
  /** Liveness as the platform computes it: last update less than 5 minutes ago. */
  active: boolean;
  registrations: RegistrationRecord[];
  pings: PingRecord[];
  resets: string[];
}

interface ConnectorEntry {
  record: ConnectorRecord;
  registrations: RegistrationRecord[];
  pings: PingRecord[];
  resets: string[];
}

const LIVENESS_MS = 5 * 60 * 1000;

/** The platform's "No connector found" business error, raised by ping on an unknown id. */
export class ConnectorNotFoundError extends TestPlatformError {
  constructor() {
    super('No connector found with the specified ID');
  }
}

export class ConnectorStore {
  readonly #connectors = new Map<string, ConnectorEntry>();
  readonly #now: () => Date;
  readonly #changed: () => void;

  constructor(now: () => Date, changed: () => void) {
    this.#now = now;
    this.#changed = changed;
  }

  /** Creates or patches the connector; returns the record and whether it was created. */
  register(input: RegisterConnectorInput, userId: string): { record: ConnectorRecord; created: boolean } {
    const at = this.#now().toISOString();
    const scope = input.scope && input.scope.length > 0 ? input.scope.join(',') : null;
    const patch = {
      name: input.name,
      connector_type: input.type,
      connector_scope: scope,
      auto: input.auto ?? false,
      auto_update: input.auto_update ?? false,
      enrichment_resolution: input.enrichment_resolution ?? null,
      only_contextual: input.only_contextual ?? false,
      playbook_compatible: input.playbook_compatible ?? false,
      listen_callback_uri: input.listen_callback_uri ?? null,
      // Kept from an earlier registration when this one does not say.
      ...(input.version === undefined ? {} : { version: input.version }),
      ...(input.slug === undefined ? {} : { slug: input.slug }),
      connector_user_id: userId,
      built_in: false,
      updated_at: at,
    };
    const existing = this.#connectors.get(input.id);
    const created = existing === undefined;
    const entry: ConnectorEntry = existing ?? {
      record: {
        id: input.id,
        version: null,
        slug: null,
        ...patch,
        connector_state: null,
        connector_state_reset: false,
        connector_state_timestamp: at,
        connector_info: null,
        connector_priority_group: 'DEFAULT',
        created_at: at,
      },
      registrations: [],
      pings: [],
      resets: [],
    };
    if (existing !== undefined) Object.assign(existing.record, patch);
    entry.registrations.push({ at, input: structuredClone(input), userId, created });
    this.#connectors.set(input.id, entry);
    this.#changed();
    return { record: entry.record, created };
  }

  /**
   * Applies a ping. `staleEcho` makes the answer carry the state as it was before this ping wrote (the
   * platform re-reads Elasticsearch after writing, and that read can be stale: issue #17472).
   */
  ping(id: string, state: string | null, info: ConnectorInfo | null, staleEcho = false): ConnectorRecord {
    const entry = this.#connectors.get(id);
    if (entry === undefined) throw new ConnectorNotFoundError();
    const record = entry.record;
    const previousState = record.connector_state;
    const at = this.#now().toISOString();
    const consumedReset = record.connector_state_reset;
    if (consumedReset) {
      record.connector_state_reset = false;
    } else {
      record.updated_at = at;
      record.connector_state = state;
    }
    if (info !== null) record.connector_info = { ...info };
    const echoed = staleEcho ? previousState : record.connector_state;
    entry.pings.push({ at, sentState: state, sentInfo: info, consumedReset, echoedState: echoed });
    this.#changed();
    return staleEcho ? { ...record, connector_state: previousState } : record;
  }

  /** The UI's "Reset state": state '' and the reset flag, timestamped. */
  resetState(id: string): ConnectorRecord {
    const entry = this.#connectors.get(id);
    if (entry === undefined) throw new ConnectorNotFoundError();
    const at = this.#now().toISOString();
    entry.record.connector_state = '';
    entry.record.connector_state_reset = true;
    entry.record.connector_state_timestamp = at;
    entry.resets.push(at);
    this.#changed();
    return entry.record;
  }

  /** Sets the stored state directly (a test preparing "what the platform already has"). */
  setState(id: string, state: string | null): void {
    const entry = this.#connectors.get(id);
    if (entry === undefined) throw new ConnectorNotFoundError();
    entry.record.connector_state = state;
    this.#changed();
  }

  delete(id: string): boolean {
    const deleted = this.#connectors.delete(id);
    if (deleted) this.#changed();
    return deleted;
  }

  get(id: string): ConnectorRecord | undefined {
    return this.#connectors.get(id)?.record;
  }

  all(): ConnectorRecord[] {
    return [...this.#connectors.values()].map((entry) => entry.record);
  }

  isActive(record: ConnectorRecord): boolean {
    return record.built_in || this.#now().getTime() - Date.parse(record.updated_at) < LIVENESS_MS;
  }

  snapshot(id: string): ConnectorSnapshot | undefined {
    const entry = this.#connectors.get(id);
    if (entry === undefined) return undefined;
    return {
      ...structuredClone(entry.record),
      scope: splitScope(entry.record.connector_scope),
      active: this.isActive(entry.record),
      registrations: structuredClone(entry.registrations),
      pings: structuredClone(entry.pings),
      resets: [...entry.resets],
    };
  }
}

/** The platform splits the stored comma-joined scope back into an array. */
export function splitScope(scope: string | null): string[] {
  return scope ? scope.split(',') : [];
}
