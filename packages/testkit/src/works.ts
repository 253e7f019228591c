/**
 * Works with the platform's two stores and its completion rules (platform.md b "workEdit", f):
 *
 * - the document (Elasticsearch in the platform): status wait → progress → complete, messages[], errors[]
 *   (at most 100 from reportExpectation), received/processed/completed times, import_expected_number,
 *   completed_number;
 * - the counters (a Redis hash in the platform): is_initialized, import_expected_number,
 *   import_processed_number, import_last_processed; `isWorkAlive` is "the hash is initialised".
 *
 * Completion: reportExpectation completes when processed == expected (Redis); toProcessed completes when the
 * document's expected is 0 or processed == expected, and then deletes the hash; a toProcessed that comes
 * first leaves completion to the last reportExpectation. A deleted work is not alive (WORK_NOT_ALIVE).
 */

/** The statuses a work goes through (`timeout` exists in the enum but is only computed for exports). */
export type WorkStatus = 'wait' | 'progress' | 'complete';

export interface WorkMessage {
  timestamp: string;
  message: string;
  sequence?: number;
  source?: string;
}

/** The work document (what the platform keeps in Elasticsearch). */
export interface WorkDocument {
  id: string;
  name: string | null;
  entity_type: 'Work';
  connector_id: string;
  event_type: string | null;
  event_source_id: string | null;
  user_id: string;
  status: WorkStatus;
  timestamp: string;
  updated_at: string;
  received_time: string | null;
  processed_time: string | null;
  completed_time: string | null;
  completed_number: number;
  import_expected_number: number;
  messages: WorkMessage[];
  errors: WorkMessage[];
  draft_context: string | null;
}

/** The work's counters (what the platform keeps in Redis). Absent once the work is deleted or closed. */
export interface WorkCounters {
  is_initialized: boolean;
  import_expected_number: number;
  import_processed_number: number;
  import_last_processed: string | null;
}

/** One call made on a work, in order: lets a test assert "addExpectations before publish" and the like. */
export interface WorkOperation {
  op:
    | 'create'
    | 'toReceived'
    | 'toProcessed'
    | 'addExpectations'
    | 'reportExpectation'
    | 'addDraftContext'
    | 'ping'
    | 'delete'
    | 'sweep';
  at: string;
  args: Record<string, unknown>;
}

/** What `platform.work(id)` returns: the document, the counters and the history, copied. */
export interface WorkSnapshot extends WorkDocument {
  /** `isWorkAlive`: the counters exist and are initialised. */
  alive: boolean;
  /** True once the work was deleted (the document is kept here so a test can still inspect it). */
  deleted: boolean;
  counters: WorkCounters | null;
  /** `Work.tracking` as the platform computes it: the document's figures once complete, else the counters. */
  tracking: { import_expected_number: number | null; import_processed_number: number | null };
  operations: WorkOperation[];
}

export interface CreateWorkOptions {
  connectorId: string;
  connectorType: string | null;
  name: string | null;
  sourceId: string | null;
  userId: string;
  /** Set for works created already received (workAdd, stixBundlePush): status `progress`. */
  receivedTime?: string | null;
  draftContext?: string | null;
}

interface WorkEntry {
  doc: WorkDocument;
  counters: WorkCounters | null;
  deleted: boolean;
  operations: WorkOperation[];
}

const MAX_REPORTED_ERRORS = 100;

const copy = <T>(value: T): T => structuredClone(value);

export class WorkStore {
  readonly #works = new Map<string, WorkEntry>();
  /** `work:<connectorId>`: the last work of each connector that reported an expectation. */
  readonly #lastReported = new Map<string, string>();
  readonly #now: () => Date;
  readonly #changed: () => void;

  constructor(now: () => Date, changed: () => void) {
    this.#now = now;
    this.#changed = changed;
  }

  /** Creates the document and the counters; id `work_<connectorId>_<ISO now>` like the platform. */
  create(options: CreateWorkOptions): WorkDocument {
    const at = this.#now();
    let stamp = at.getTime();
    // Two works created in the same millisecond would share an id on the platform; keep them distinct.
    while (this.#works.has(`work_${options.connectorId}_${new Date(stamp).toISOString()}`)) stamp += 1;
    const timestamp = new Date(stamp).toISOString();
    const receivedTime = options.receivedTime ?? null;
    const doc: WorkDocument = {
      id: `work_${options.connectorId}_${timestamp}`,
      name: options.name,
      entity_type: 'Work',
      connector_id: options.connectorId,
      event_type: options.connectorType,
      event_source_id: options.sourceId,
      user_id: options.userId,
      status: receivedTime !== null ? 'progress' : 'wait',
      timestamp,
      updated_at: at.toISOString(),
      received_time: receivedTime,
      processed_time: null,
      completed_time: null,
      completed_number: 0,
      import_expected_number: 0,
      messages: [],
      errors: [],
      draft_context: options.draftContext ?? null,
    };
    const entry: WorkEntry = {
      doc,
      counters: {
        is_initialized: true,
        import_expected_number: 0,
        import_processed_number: 0,
        import_last_processed: null,
      },
      deleted: false,
      operations: [],
    };
    this.#works.set(doc.id, entry);
    this.#record(entry, 'create', { name: options.name, sourceId: options.sourceId });
    return copy(doc);
  }

  /** The live document, or undefined when unknown or deleted (what the platform's `work(id)` sees). */
  document(id: string): WorkDocument | undefined {
    const entry = this.#works.get(id);
    return entry === undefined || entry.deleted ? undefined : entry.doc;
  }

  isAlive(id: string): boolean {
    return this.#works.get(id)?.counters?.is_initialized === true;
  }

  /** Works of a connector that still exist, newest first (the platform's default order). */
  documentsOf(connectorId: string): WorkDocument[] {
    return [...this.#works.values()]
      .filter((entry) => !entry.deleted && entry.doc.connector_id === connectorId)
      .map((entry) => entry.doc)
      .sort((a, b) => (a.timestamp < b.timestamp ? 1 : a.timestamp > b.timestamp ? -1 : 0));
  }

  allDocuments(): WorkDocument[] {
    return [...this.#works.values()].filter((entry) => !entry.deleted).map((entry) => entry.doc);
  }

  /** `Work.tracking`: from the document once complete, else from the counters. */
  tracking(id: string): WorkSnapshot['tracking'] {
    const entry = this.#works.get(id);
    if (entry === undefined) return { import_expected_number: null, import_processed_number: null };
    if (entry.doc.status === 'complete') {
      return {
        import_expected_number: entry.doc.import_expected_number,
        import_processed_number: entry.doc.completed_number,
      };
    }
    return {
      import_expected_number: entry.counters?.import_expected_number ?? null,
      import_processed_number: entry.counters?.import_processed_number ?? null,
    };
  }

  lastProcessed(id: string): string | null {
    return this.#works.get(id)?.counters?.import_last_processed ?? null;
  }

  snapshot(id: string): WorkSnapshot | undefined {
    const entry = this.#works.get(id);
    if (entry === undefined) return undefined;
    return {
      ...copy(entry.doc),
      alive: entry.counters?.is_initialized === true,
      deleted: entry.deleted,
      counters: copy(entry.counters),
      tracking: this.tracking(id),
      operations: copy(entry.operations),
    };
  }

  snapshotsOf(connectorId: string): WorkSnapshot[] {
    return [...this.#works.values()]
      .filter((entry) => entry.doc.connector_id === connectorId)
      .sort((a, b) => (a.doc.timestamp < b.doc.timestamp ? -1 : a.doc.timestamp > b.doc.timestamp ? 1 : 0))
      .flatMap((entry) => {
        const snap = this.snapshot(entry.doc.id);
        return snap === undefined ? [] : [snap];
      });
  }

  /** `workEdit.toReceived`: status progress, received_time, message appended when not empty. */
  toReceived(id: string, message: string | null | undefined): void {
    const entry = this.#live(id);
    if (entry === undefined) return;
    const at = this.#now().toISOString();
    entry.doc.status = 'progress';
    entry.doc.received_time = at;
    if (message) entry.doc.messages.push({ timestamp: at, message });
    this.#record(entry, 'toReceived', { message: message ?? null });
  }

  /**
   * `workEdit.toProcessed`: processed_time; complete when the document expects nothing or the counters say
   * processed == expected (then expected = completed = processed or 1, and the counters are deleted);
   * the message goes to errors[] when `inError`, else to messages[].
   */
  toProcessed(id: string, message: string | null | undefined, inError: boolean): void {
    const entry = this.#live(id);
    if (entry === undefined) return;
    const at = this.#now().toISOString();
    entry.doc.processed_time = at;
    const processed = entry.counters?.import_processed_number;
    const expected = entry.counters?.import_expected_number;
    const counted = entry.counters !== null && processed === expected;
    if (entry.doc.import_expected_number === 0 || counted) {
      const total = processed !== undefined && processed > 0 ? processed : 1;
      entry.doc.status = 'complete';
      entry.doc.import_expected_number = total;
      entry.doc.completed_number = total;
      entry.doc.completed_time = at;
      entry.counters = null;
    }
    if (message) (inError ? entry.doc.errors : entry.doc.messages).push({ timestamp: at, message });
    this.#record(entry, 'toProcessed', { message: message ?? null, inError });
  }

  /** `workEdit.addExpectations`: the document's expected += n (updated_at), and the counters' when alive. */
  addExpectations(id: string, expectations: number): void {
    const entry = this.#works.get(id);
    if (entry === undefined || entry.deleted) return;
    entry.doc.import_expected_number += expectations;
    entry.doc.updated_at = this.#now().toISOString();
    if (entry.counters?.is_initialized === true) entry.counters.import_expected_number += expectations;
    this.#record(entry, 'addExpectations', { expectations });
  }

  /**
   * `workEdit.reportExpectation`: processed += 1 on the counters; complete when processed == expected;
   * an error is appended to errors[] (at most 100). On a work whose counters are gone, nothing happens.
   */
  reportExpectation(id: string, error: { error?: string | null; source?: string | null } | null | undefined): void {
    const entry = this.#works.get(id);
    if (entry === undefined || entry.counters?.is_initialized !== true) {
      if (entry !== undefined) this.#record(entry, 'reportExpectation', { error: error ?? null, ignored: true });
      return;
    }
    const at = this.#now().toISOString();
    const counters = entry.counters;
    counters.import_processed_number += 1;
    counters.import_last_processed = at;
    this.#lastReported.set(entry.doc.connector_id, id);
    if (counters.import_processed_number === counters.import_expected_number) {
      entry.doc.status = 'complete';
      entry.doc.completed_number = counters.import_processed_number;
      entry.doc.completed_time = at;
    }
    if (error && entry.doc.errors.length < MAX_REPORTED_ERRORS) {
      entry.doc.errors.push({ timestamp: at, message: error.error ?? '', source: error.source ?? '' });
    }
    this.#record(entry, 'reportExpectation', { error: error ?? null });
  }

  addDraftContext(id: string, draftContext: string | null | undefined): void {
    const entry = this.#live(id);
    if (entry === undefined) return;
    entry.doc.draft_context = draftContext ?? null;
    entry.doc.updated_at = this.#now().toISOString();
    this.#record(entry, 'addDraftContext', { draftContext: draftContext ?? null });
  }

  ping(id: string): void {
    const entry = this.#live(id);
    if (entry === undefined) return;
    entry.doc.updated_at = this.#now().toISOString();
    this.#record(entry, 'ping', {});
  }

  /** Deletes the document and the counters; later calls on the work are not alive. */
  delete(id: string): void {
    const entry = this.#works.get(id);
    if (entry === undefined || entry.deleted) return;
    entry.deleted = true;
    entry.counters = null;
    this.#record(entry, 'delete', {});
  }

  deleteForConnector(connectorId: string): void {
    for (const doc of this.documentsOf(connectorId)) this.delete(doc.id);
  }

  /**
   * The connector manager's sweep (every 60 s on the platform): for each connector, every work older than
   * the last one that reported an expectation and still wait/progress is force-completed with
   * completed_number = its processed counter, and its counters are deleted. Returns the closed work ids.
   */
  sweep(): string[] {
    const closed: string[] = [];
    for (const [connectorId, lastId] of this.#lastReported) {
      const last = this.#works.get(lastId);
      if (last === undefined) continue;
      for (const entry of this.#works.values()) {
        if (entry.deleted || entry.doc.connector_id !== connectorId) continue;
        if (entry.doc.timestamp >= last.doc.timestamp || entry.doc.status === 'complete') continue;
        const at = this.#now().toISOString();
        entry.doc.status = 'complete';
        entry.doc.completed_number = entry.counters?.import_processed_number ?? 0;
        entry.doc.completed_time = at;
        entry.counters = null;
        this.#record(entry, 'sweep', { closedBy: lastId });
        closed.push(entry.doc.id);
      }
    }
    return closed;
  }

  #live(id: string): WorkEntry | undefined {
    const entry = this.#works.get(id);
    return entry === undefined || entry.deleted ? undefined : entry;
  }

  #record(entry: WorkEntry, op: WorkOperation['op'], args: Record<string, unknown>): void {
    entry.operations.push({ op, at: this.#now().toISOString(), args });
    this.#changed();
  }
}
