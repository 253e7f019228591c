/**
 * The stand-in platform: wires the stores, the GraphQL server, the RabbitMQ topology and the worker, and
 * offers tests a way to drive it (ask for enrichments, playbook steps, inject faults) and to observe it
 * (connectors, works, objects, push messages, requests, waits).
 */
import {
  type ConnectorInfo,
  ConnectorNotFoundError,
  type ConnectorRecord,
  type ConnectorSnapshot,
  ConnectorStore,
  type RegisterConnectorInput,
} from './connectors.js';
import { creatableEntityType, type EntityInput, EntityStore, type StoredEntity } from './entities.js';
import { TestPlatformError } from './errors.js';
import { FaultInjector } from './faults.js';
import { internalIdFor } from './ids.js';
import { type KnowledgeRecord, KnowledgeStore } from './knowledge.js';
import { TLP_MARKING_IDS, type TlpLevel } from './markings.js';
import {
  type DraftRecord,
  type IngestedObject,
  type ListenMessageRecord,
  matchesRequest,
  type PlaybookStepRecord,
  type PushMessageRecord,
  parseJsonObject,
  type RecordedRequest,
  Recorder,
  type RequestFilter,
  type WorkbenchFileRecord,
} from './records.js';
import { type EnrichmentRequest, type PlatformUser, platformError, type ResolverServices } from './resolvers.js';
import { testkitSchema } from './schema.js';
import { GraphqlServer } from './server.js';
import { StixViolationError, stixBundleViolations, stixObjectViolations } from './stix-validation.js';
import { timestampFormProblems } from './timestamp-form.js';
import { type BrokerConnection, brokerConnectionOf, type ConnectorQueueNames, Topology } from './topology.js';
import { type CallbackDelivery, Worker } from './worker.js';
import { type WorkDocument, type WorkSnapshot, WorkStore } from './works.js';

/** The token the platform accepts unless `token` is given. */
export const DEFAULT_TEST_TOKEN = 'testkit-0d6a4f1e-3c2b-4e8f-9a71-5b6c8d9e0f12';
/** The platform's built-in admin user. */
export const ADMIN_USER_ID = '88ec0c6a-13ce-5e39-b486-354fe4a7084f';
/** The platform's built-in "automation manager" user: the applicant of playbook messages. */
export const AUTOMATION_MANAGER_USER_ID = 'c49fe040-2dad-412d-af07-ce639204ad55';
/** The user the token authenticates unless `connectorUserId` is given. */
export const DEFAULT_CONNECTOR_USER_ID = '6a1f5b0e-2d47-4c3a-8e9b-1f0c2d3e4a5b';
/** `about.version` unless `version` is given: the pycti release the protocol reference describes. */
export const DEFAULT_PLATFORM_VERSION = '6.8.10';

export interface TestPlatformOptions {
  /** Broker URL; default env AMQP_URL or amqp://guest:guest@127.0.0.1:5672. Handed out in config.connection. */
  amqpUrl?: string;
  /** The accepted API token (default {@link DEFAULT_TEST_TOKEN}). */
  token?: string;
  /** HTTP port on 127.0.0.1; 0 (default) picks a free one. */
  port?: number;
  /** `about.version` (default '6.8.10'). */
  version?: string;
  /** Run the worker that consumes push queues (default true). */
  worker?: boolean;
  /** The platform's `rabbitmq.queue_prefix`, prepended to every exchange, queue and routing key. */
  queuePrefix?: string;
  /** The id of the user the token authenticates (becomes `connector_user_id` at registration). */
  connectorUserId?: string;
  /** Whether `opencti-applicant-id` is honoured (the token's user has BYPASS). Default true. */
  bypass?: boolean;
  /** The clock for every timestamp the platform writes (default the system clock). */
  now?: () => Date;
  /** Pause before a listen message whose HTTP callback did not answer 202 is requeued (default 10 000 ms, the real worker's least). */
  callbackRetryMs?: number;
  /**
   * Timestamps in what connectors send (pushed bundles, playbook answers) must be in the suite's one form,
   * `…T08:15:00.000Z`: 'strict' (default) makes `close()` throw listing the others; 'off' for tests that
   * send hand-written bundles on purpose.
   */
  timestampForm?: 'strict' | 'off';
  /**
   * What to do with objects that break STIX 2.1 (every ingested object and playbook answer is checked):
   * 'strict' (default) records them and makes `close()` throw, listing them, so no suite passes on invalid
   * STIX; 'record' only records them (`stixViolations()`), for tests that send invalid objects on purpose.
   */
  stixValidation?: 'strict' | 'record';
  /**
   * Model a platform newer than 7.260318.0, whose `RegisterConnectorInput` also declares `xtm_one_intent`,
   * `version` and `slug` (stored on the connector). Default false. The registration input otherwise follows
   * `version`: a field added after it is refused, as the real platform refuses it.
   */
  connectorMetadata?: boolean;
  /** Allow schema introspection (`__type`, `__schema`), default true; false models a platform that disabled it. */
  introspection?: boolean;
  /**
   * Emulate CONNECTOR_AUTO: an observable or Indicator the worker imports that the platform did not hold is
   * created (with the author and TLP markings the import gave it) and every registered enrichment connector
   * with `auto` whose scope has its type is asked to enrich it (mode 'auto', trigger 'create'), as the
   * platform does on creation. Default false: a test then drives every enrichment itself.
   */
  autoEnrichment?: boolean;
}

/** One STIX 2.1 violation in what a connector sent. */
export interface StixViolationRecord {
  seq: number;
  connectorId: string | null;
  workId: string | null;
  /** An object the worker ingested, a playbook step's answer, or a bundle uploaded for review. */
  source: 'push' | 'playbook' | 'workbench';
  message: string;
}

export interface AskEnrichmentOptions {
  /** 'manual' (the UI's Enrich button, default) or 'auto' (on creation/update). */
  mode?: 'manual' | 'auto';
  /** `internal.trigger`; default 'update' for manual, 'create' for auto. */
  trigger?: 'create' | 'update';
  /** `internal.applicant_id`; the platform sends null (the connector acts as itself). */
  applicantId?: string | null;
  /** `internal.draft_id`; also names the work "… in draft <id>" and sets its draft_context. */
  draftId?: string | null;
  /**
   * `event.stix_objects`: null (default, what the platform sends for every type but Security-Coverage), a
   * string sent verbatim, or objects wrapped into a bundle string.
   */
  stixObjects?: null | string | ReadonlyArray<Record<string, unknown>>;
  /** The user who asked (the work's user_id); default the admin. */
  userId?: string;
  /** `event.validation_mode` (review before import: workbench or draft); absent unless given. */
  validationMode?: 'workbench' | 'draft';
  /** `event.force_validation`; absent unless given. */
  forceValidation?: boolean;
}

export interface AskPlaybookOptions {
  trigger?: 'create' | 'update';
  playbookId?: string;
  executionId?: string;
  eventId?: string;
  stepId?: string;
  previousStepId?: string;
}

/** What `askPlaybook` sent, so a test can match the `playbookStepExecution` answer. */
export interface PlaybookRequest {
  message: Record<string, unknown>;
  executionId: string;
  eventId: string;
  playbookId: string;
  stepId: string;
  previousStepId: string;
  dataInstanceId: string;
}

export interface WaitOptions {
  /** Default 10 000 ms. */
  timeoutMs?: number;
  /** Said in the rejection when the wait times out. */
  message?: string;
}

export interface WaitForWorkOptions {
  /**
   * 'complete' (default): status complete. 'any-processed': the connector called toProcessed (complete or
   * still waiting for expectations).
   */
  status?: 'complete' | 'any-processed';
  timeoutMs?: number;
}

/** Worker control for fault tests. */
export interface WorkerControl {
  readonly running: boolean;
  /** Stop consuming: messages pile up in the push queues (unacked ones are requeued). */
  pause(): Promise<void>;
  resume(): Promise<void>;
  /** Deliveries made to HTTP-listen callbacks. */
  readonly callbacks: readonly CallbackDelivery[];
}

interface Waiter {
  check: () => boolean;
}

const DEFAULT_WAIT_MS = 10_000;
const POLL_MS = 25;

export class TestPlatform {
  /** The accepted API token. */
  readonly token: string;
  /** Fault injection: GraphQL faults and stale ping echoes. See also `stop()`, `deleteQueue()`, `setQueueSize()`. */
  readonly faults = new FaultInjector();
  /** Pause/resume the worker. */
  readonly worker: WorkerControl;

  readonly #version: string;
  readonly #now: () => Date;
  readonly #recorder = new Recorder();
  readonly #connectors: ConnectorStore;
  readonly #works: WorkStore;
  readonly #entities: EntityStore;
  readonly #topology: Topology;
  readonly #worker: Worker | undefined;
  readonly #server: GraphqlServer;
  readonly #broker: BrokerConnection;
  readonly #users = new Map<string, PlatformUser>();
  readonly #registered = new Set<string>();
  readonly #queueSizes = new Map<string, number>();
  readonly #waiters = new Set<Waiter>();
  readonly #knowledge: KnowledgeStore;
  readonly #stixViolations: StixViolationRecord[] = [];
  readonly #stixValidation: 'strict' | 'record';
  #playbookCount = 0;
  #closed = false;
  readonly #timestampForm: 'strict' | 'off';

  private constructor(
    options: Required<Pick<TestPlatformOptions, 'token' | 'version'>> & TestPlatformOptions,
    topology: Topology,
    amqpUrl: string,
  ) {
    this.token = options.token;
    this.#version = options.version;
    this.#now = options.now ?? (() => new Date());
    this.#topology = topology;
    this.#broker = brokerConnectionOf(amqpUrl);
    const changed = () => this.#notify();
    this.#connectors = new ConnectorStore(this.#now, changed);
    this.#works = new WorkStore(this.#now, changed);
    this.#entities = new EntityStore(this.#now);
    this.#timestampForm = options.timestampForm ?? 'strict';
    this.#knowledge = new KnowledgeStore(this.#entities);
    this.#stixValidation = options.stixValidation ?? 'strict';
    const tokenUser = { id: options.connectorUserId ?? DEFAULT_CONNECTOR_USER_ID, name: 'connector user' };
    for (const user of [
      { id: ADMIN_USER_ID, name: 'admin' },
      { id: AUTOMATION_MANAGER_USER_ID, name: 'AUTOMATION MANAGER' },
      tokenUser,
    ]) {
      this.#users.set(user.id, user);
    }
    this.#worker =
      options.worker === false
        ? undefined
        : new Worker({
            topology,
            works: this.#works,
            recorder: this.#recorder,
            now: this.#now,
            changed,
            callbackToken: this.token,
            userAgent: `pycti/${this.#version}`,
            callbackRetryMs: options.callbackRetryMs ?? 10_000,
            ingest: (object, { connectorId, workId, draftId }) => {
              this.#recordViolations(stixObjectViolations(object), connectorId, workId, 'push');
              // What goes into a draft stays there until someone approves it: not in the platform's knowledge.
              if (draftId !== null) return;
              const id = typeof object.id === 'string' ? object.id : '';
              const created = this.#knowledge.get(id) === undefined && this.#entities.get(id) === undefined;
              this.#knowledge.import(object);
              if (created && options.autoEnrichment === true) this.#autoEnrich(object);
            },
          });
    const worker = this.#worker;
    this.worker = {
      get running() {
        return worker?.running ?? false;
      },
      pause: async () => worker?.pause(),
      resume: async () => worker?.resume(),
      get callbacks() {
        return worker?.callbacks ?? [];
      },
    };
    this.#server = new GraphqlServer({
      token: this.token,
      schema: testkitSchema({ platformVersion: this.#version, connectorMetadata: options.connectorMetadata ?? false }),
      introspection: options.introspection ?? true,
      port: options.port ?? 0,
      services: this.#services(),
      recorder: this.#recorder,
      faults: this.faults,
      tokenUser,
      bypass: options.bypass ?? true,
      isWorkAlive: (id) => this.#works.isAlive(id),
      changed,
    });
  }

  /** Connects to the broker and starts the GraphQL server. */
  static async start(options: TestPlatformOptions = {}): Promise<TestPlatform> {
    const amqpUrl = options.amqpUrl ?? process.env.AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672';
    let topology: Topology;
    try {
      topology = await Topology.connect(amqpUrl, options.queuePrefix ?? '');
    } catch (err) {
      throw new TestPlatformError(
        `The test platform cannot reach RabbitMQ at ${redactUrl(amqpUrl)}: ${err instanceof Error ? err.message : String(err)} (is it running? \`rabbitmq-server -detached\`)`,
        { cause: err },
      );
    }
    const platform = new TestPlatform(
      { ...options, token: options.token ?? DEFAULT_TEST_TOKEN, version: options.version ?? DEFAULT_PLATFORM_VERSION },
      topology,
      amqpUrl,
    );
    try {
      await platform.#server.start();
    } catch (err) {
      await topology.close();
      throw new TestPlatformError(`The test platform cannot listen: ${String(err)}`, { cause: err });
    }
    return platform;
  }

  /** Base URL; give it to connectors as OPENCTI_URL (GraphQL is at `${url}/graphql`). */
  get url(): string {
    return this.#server.url;
  }

  /** The `config.connection` handed to connectors. */
  get brokerConnection(): BrokerConnection {
    return { ...this.#broker };
  }

  // --- knowledge ----------------------------------------------------------------------------------

  /** Registers an entity connectors can read with `stixCoreObject(id)`; returns it with its STIX form. */
  addEntity(input: EntityInput): StoredEntity {
    const entity = this.#entities.add(input);
    this.#notify();
    return entity;
  }

  /** A stored entity by internal or standard id. */
  entity(id: string): StoredEntity | undefined {
    return this.#entities.get(id);
  }

  // --- driving connectors -------------------------------------------------------------------------

  /**
   * What the platform does when a user clicks "Enrich" (mode 'manual') or when an entity is created
   * (mode 'auto'): creates the work (status wait) then publishes the enrichment message to the connector's
   * listen queue. Returns the work id.
   */
  async askEnrichment(connectorId: string, entityId: string, options: AskEnrichmentOptions = {}): Promise<string> {
    const work = await this.#askEnrichment(connectorId, entityId, {
      mode: options.mode ?? 'manual',
      userId: options.userId ?? ADMIN_USER_ID,
      draftId: options.draftId ?? null,
      applicantId: options.applicantId ?? null,
      trigger: options.trigger,
      stixObjects: options.stixObjects ?? null,
      ...(options.validationMode === undefined ? {} : { validationMode: options.validationMode }),
      ...(options.forceValidation === undefined ? {} : { forceValidation: options.forceValidation }),
    });
    return work.id;
  }

  /**
   * A playbook "Enrich through connector" step: no work, applicant = the automation manager, `event.bundle`
   * an object (default: a bundle holding the entity's STIX form). The connector must answer with
   * `playbookStepExecution`, recorded in {@link playbookSteps}.
   */
  async askPlaybook(
    connectorId: string,
    entityId: string,
    bundle?: Record<string, unknown>,
    options: AskPlaybookOptions = {},
  ): Promise<PlaybookRequest> {
    this.#requireRegistered(connectorId);
    const entity = this.#entities.get(entityId);
    const dataInstanceId = entity?.standard_id ?? entityId;
    if (entity === undefined && bundle === undefined) {
      throw new TestPlatformError(`askPlaybook: entity ${entityId} is unknown; add it first or pass a bundle`);
    }
    this.#playbookCount += 1;
    const n = this.#playbookCount;
    const request: PlaybookRequest = {
      executionId: options.executionId ?? internalIdFor(`playbook-execution-${n}`),
      eventId: options.eventId ?? `${this.#now().getTime()}-${n}`,
      playbookId: options.playbookId ?? internalIdFor('playbook'),
      stepId: options.stepId ?? internalIdFor(`playbook-step-${n}`),
      previousStepId: options.previousStepId ?? internalIdFor(`playbook-previous-step-${n}`),
      dataInstanceId,
      message: {},
    };
    request.message = {
      internal: {
        work_id: null,
        playbook: {
          event_id: request.eventId,
          execution_id: request.executionId,
          playbook_id: request.playbookId,
          data_instance_id: dataInstanceId,
          step_id: request.stepId,
          previous_step_id: request.previousStepId,
        },
        applicant_id: AUTOMATION_MANAGER_USER_ID,
        trigger: options.trigger ?? 'create',
        mode: 'auto',
      },
      event: {
        entity_id: dataInstanceId,
        bundle: bundle ?? {
          type: 'bundle',
          id: `bundle--${internalIdFor(`playbook-bundle-${n}`)}`,
          objects: entity === undefined ? [] : [entity.stix_entity],
        },
      },
    };
    await this.#publishListen(connectorId, JSON.stringify(request.message), 'playbook', null);
    return request;
  }

  /** Publishes an arbitrary body to a connector's listen queue (malformed-message tests). */
  async publishListenRaw(connectorId: string, body: string | Buffer): Promise<void> {
    this.#requireRegistered(connectorId);
    await this.#publishListen(connectorId, body, 'raw', null);
  }

  /** The UI's "Reset state": state '' + reset flag, both queues purged. */
  async resetState(connectorId: string): Promise<void> {
    await this.#resetState(connectorId);
  }

  /** Sets the state the platform holds for a connector (test setup: "a state was saved earlier"). */
  setConnectorState(connectorId: string, state: string | null): void {
    this.#connectors.setState(connectorId, state);
  }

  /** Runs the connector manager's sweep once: older stuck works closed by a newer one. Returns their ids. */
  sweepWorks(): string[] {
    return this.#works.sweep();
  }

  // --- faults -------------------------------------------------------------------------------------

  /** Stops the HTTP server (the platform becomes unreachable); `start()` brings it back on the same port. */
  async stop(): Promise<void> {
    await this.#server.stop();
  }

  async start(): Promise<void> {
    if (this.#closed) throw new TestPlatformError('The test platform is closed');
    await this.#server.start();
  }

  /** What `connector_queue_details.messages_size` reports (bytes); null goes back to the default (0). */
  setQueueSize(connectorId: string, bytes: number | null): void {
    if (bytes === null) this.#queueSizes.delete(connectorId);
    else this.#queueSizes.set(connectorId, bytes);
  }

  /** Deletes one of a connector's queues under its consumer (the next register or ping re-creates it). */
  async deleteQueue(connectorId: string, which: 'listen' | 'push'): Promise<void> {
    const names = this.#topology.names(connectorId);
    await this.#topology.deleteQueue(which === 'listen' ? names.listen : names.push);
  }

  /**
   * Limits one of a connector's queues to `maxLength` messages with overflow 'reject-publish' (default):
   * publishers then get broker nacks once it is full — what an operator's queue policy does, and what
   * pycti treats as back-pressure. Pause the worker to let a push queue fill. The queue is re-created (its
   * messages are lost) and the connector's queues re-asserted; `unlimitQueue` undoes it.
   */
  async limitQueue(
    connectorId: string,
    which: 'listen' | 'push',
    maxLength: number,
    overflow: 'reject-publish' | 'drop-head' = 'reject-publish',
  ): Promise<void> {
    const record = this.#requireRegistered(connectorId);
    const names = this.#topology.names(connectorId);
    await this.#topology.limit(which === 'listen' ? names.listen : names.push, maxLength, overflow);
    await this.#worker?.unwatch(connectorId);
    await this.#registerQueues(record);
  }

  async unlimitQueue(connectorId: string, which: 'listen' | 'push'): Promise<void> {
    const record = this.#requireRegistered(connectorId);
    const names = this.#topology.names(connectorId);
    await this.#topology.unlimit(which === 'listen' ? names.listen : names.push);
    await this.#worker?.unwatch(connectorId);
    await this.#registerQueues(record);
  }

  /** The queue and routing names a connector gets in `config`. */
  queueNames(connectorId: string): ConnectorQueueNames {
    return this.#topology.names(connectorId);
  }

  /** Ready messages in a connector's queue (undefined when the queue does not exist). */
  async queueDepth(connectorId: string, which: 'listen' | 'push'): Promise<number | undefined> {
    const names = this.#topology.names(connectorId);
    return this.#topology.messageCount(which === 'listen' ? names.listen : names.push);
  }

  // --- observation --------------------------------------------------------------------------------

  /** A connector's record and history (registrations, pings, resets), or undefined. */
  connector(id: string): ConnectorSnapshot | undefined {
    return this.#connectors.snapshot(id);
  }

  /** A work's document, counters and operation history, or undefined. */
  work(id: string): WorkSnapshot | undefined {
    return this.#works.snapshot(id);
  }

  /** Every work of a connector, oldest first (deleted ones included, flagged). */
  worksOf(connectorId: string): WorkSnapshot[] {
    return this.#works.snapshotsOf(connectorId);
  }

  /** STIX objects the worker ingested, for a connector or for one work. */
  objects(scope: string | { workId: string }): IngestedObject[] {
    return this.#recorder.objects.filter((o) =>
      typeof scope === 'string' ? o.connectorId === scope : o.workId === scope.workId,
    );
  }

  /** Push-queue messages the worker handled (all connectors when no id). */
  pushMessages(connectorId?: string): PushMessageRecord[] {
    return this.#recorder.pushMessages.filter((m) => connectorId === undefined || m.connectorId === connectorId);
  }

  /** Messages the platform published to listen queues. */
  listenMessages(connectorId?: string): ListenMessageRecord[] {
    return this.#recorder.listenMessages.filter((m) => connectorId === undefined || m.connectorId === connectorId);
  }

  /** `playbookStepExecution` calls received. */
  /**
   * The import workbench's pending files, as the platform keeps them: one per name (`import/pending/<name>`),
   * the last upload of a name replacing the earlier ones. `uploads` has every upload, in order.
   */
  workbenchFiles(options: { uploads?: boolean } = {}): WorkbenchFileRecord[] {
    if (options.uploads) return [...this.#recorder.workbenchFiles];
    const byId = new Map<string, WorkbenchFileRecord>();
    for (const file of this.#recorder.workbenchFiles) {
      byId.delete(file.id);
      byId.set(file.id, file);
    }
    return [...byId.values()];
  }

  /** The drafts connectors created, in order. */
  drafts(): DraftRecord[] {
    return [...this.#recorder.drafts];
  }

  /** The objects the worker received into a draft (they are not in the platform's knowledge). */
  draftObjects(draftId: string): IngestedObject[] {
    return this.#recorder.objects.filter((o) => o.draftId === draftId);
  }

  playbookSteps(): PlaybookStepRecord[] {
    return [...this.#recorder.playbookSteps];
  }

  /**
   * What the platform holds for a STIX id once the worker imported what connectors sent (author, markings,
   * labels, external references, organisations, score, description), read as pycti's importer reads each
   * object; for an entity registered with addEntity and never re-sent, what it was registered with.
   */
  knowledge(id: string): KnowledgeRecord | undefined {
    return this.#knowledge.get(id);
  }

  /** Every element the worker imported, in first-import order. */
  importedKnowledge(): KnowledgeRecord[] {
    return this.#knowledge.all();
  }

  /** STIX 2.1 violations found in what connectors sent (ingested objects and playbook answers). */
  stixViolations(): StixViolationRecord[] {
    return this.#stixViolations.map((v) => ({ ...v }));
  }

  /** Throws a StixViolationError listing every violation recorded so far (`close()` does it in strict mode). */
  assertValidStix(): void {
    if (this.#stixViolations.length === 0) return;
    throw new StixViolationError(
      'What connectors sent the stand-in platform',
      this.#stixViolations.map((v) => `${v.source} (connector ${v.connectorId ?? '?'}): ${v.message}`),
    );
  }

  /** GraphQL requests received, optionally filtered by operation / root field / predicate. */
  requests(filter?: RequestFilter): RecordedRequest[] {
    return this.#recorder.requests.filter((r) => matchesRequest(r, filter));
  }

  /**
   * Resolves with the first truthy value `check` returns, re-checking on every platform event and every
   * 25 ms; rejects after `timeoutMs` with `message`.
   */
  waitFor<T>(check: () => T | undefined | null | false, options: WaitOptions = {}): Promise<T> {
    const timeoutMs = options.timeoutMs ?? DEFAULT_WAIT_MS;
    return new Promise<T>((resolve, reject) => {
      let settled = false;
      const waiter: Waiter = {
        check: () => {
          if (settled) return true;
          let value: T | undefined | null | false;
          try {
            value = check();
          } catch (err) {
            finish();
            reject(err);
            return true;
          }
          if (value === undefined || value === null || value === false) return false;
          finish();
          resolve(value);
          return true;
        },
      };
      const poll = setInterval(() => waiter.check(), POLL_MS);
      const timer = setTimeout(() => {
        if (settled) return;
        finish();
        reject(new TestPlatformError(`${options.message ?? 'waitFor: condition not met'} (after ${timeoutMs} ms)`));
      }, timeoutMs);
      const finish = () => {
        settled = true;
        clearInterval(poll);
        clearTimeout(timer);
        this.#waiters.delete(waiter);
      };
      this.#waiters.add(waiter);
      waiter.check();
    });
  }

  /** Waits for a work to complete (or to be processed); rejects listing the work's state on timeout. */
  async waitForWork(workId: string, options: WaitForWorkOptions = {}): Promise<WorkSnapshot> {
    const wanted = options.status ?? 'complete';
    try {
      return await this.waitFor(
        () => {
          const work = this.#works.snapshot(workId);
          if (work === undefined) return undefined;
          if (wanted === 'complete') return work.status === 'complete' ? work : undefined;
          return work.processed_time !== null || work.status === 'complete' ? work : undefined;
        },
        { timeoutMs: options.timeoutMs ?? DEFAULT_WAIT_MS },
      );
    } catch (err) {
      throw new TestPlatformError(
        `Work ${workId} did not reach "${wanted}" within ${options.timeoutMs ?? DEFAULT_WAIT_MS} ms: ${describeWork(this.#works.snapshot(workId))}`,
        { cause: err },
      );
    }
  }

  /** Stops the worker and the server, deletes the queues of every connector registered here, disconnects. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#worker?.close();
    await this.#server.stop();
    for (const id of this.#registered) await this.#topology.deleteQueues(id);
    await this.#topology.close();
    this.#waiters.clear();
    // After the clean-up, so a failing check leaves nothing behind.
    const problems = this.#timestampForm === 'strict' ? this.timestampFormProblems() : [];
    if (problems.length > 0) {
      throw new TestPlatformError(
        `Connectors sent timestamps in another form than …T08:15:00.000Z:\n${problems.slice(0, 20).join('\n')}` +
          (problems.length > 20 ? `\n… ${problems.length - 20} more` : ''),
      );
    }
    if (this.#stixValidation === 'strict') this.assertValidStix();
  }

  /** Date-times in pushed bundles and playbook answers written otherwise than `…T08:15:00.000Z`. */
  timestampFormProblems(): string[] {
    return [
      ...this.#recorder.pushMessages.flatMap((m) =>
        timestampFormProblems(m.bundle).map((p) => `push #${m.seq} (connector ${m.connectorId}) ${p}`),
      ),
      ...this.#recorder.playbookSteps.flatMap((step) =>
        timestampFormProblems(step.bundle).map((p) => `playbook answer #${step.seq} ${p}`),
      ),
    ];
  }

  // --- internals ----------------------------------------------------------------------------------

  #recordViolations(
    messages: readonly string[],
    connectorId: string | null,
    workId: string | null,
    source: StixViolationRecord['source'],
  ): void {
    for (const message of messages) {
      this.#stixViolations.push({ seq: this.#recorder.nextSeq(), connectorId, workId, source, message });
    }
  }

  #notify(): void {
    for (const waiter of [...this.#waiters]) waiter.check();
  }

  #requireRegistered(connectorId: string): ConnectorRecord {
    const record = this.#connectors.get(connectorId);
    if (record === undefined) {
      throw new TestPlatformError(`Connector ${connectorId} is not registered on the test platform`);
    }
    return record;
  }

  async #publishListen(
    connectorId: string,
    body: string | Buffer,
    kind: ListenMessageRecord['kind'],
    workId: string | null,
  ): Promise<void> {
    const buffer = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
    await this.#topology.publishListen(connectorId, buffer);
    this.#recorder.listenMessages.push({
      seq: this.#recorder.nextSeq(),
      at: this.#now().toISOString(),
      connectorId,
      kind,
      body: buffer.toString('utf8'),
      workId,
    });
    this.#notify();
  }

  /** Auto enrichments asked for, in order: what the platform published on creation (autoEnrichment). */
  readonly autoEnrichments: Array<{
    connectorId: string;
    entityId: string;
    entityType: string;
    workId: string | null;
  }> = [];

  /** CONNECTOR_AUTO on creation (options.autoEnrichment): the new element stored, then each auto connector asked. */
  #autoEnrich(object: Record<string, unknown>): void {
    const entityType = creatableEntityType(String(object.type));
    if (entityType === undefined) return;
    const author =
      typeof object.created_by_ref === 'string'
        ? object.created_by_ref
        : typeof object.x_opencti_created_by_ref === 'string'
          ? object.x_opencti_created_by_ref
          : null;
    const markings = (Array.isArray(object.object_marking_refs) ? object.object_marking_refs : []).flatMap((ref) => {
      const tlp = Object.entries(TLP_MARKING_IDS).find(([, id]) => id === ref)?.[0];
      return tlp === undefined ? [] : [tlp as TlpLevel];
    });
    const str = (v: unknown) => (typeof v === 'string' ? v : undefined);
    let entity: StoredEntity;
    try {
      const authorEntity = author === null ? null : this.#knowledge.author(author);
      entity = this.#entities.add({
        entity_type: entityType,
        standard_id: String(object.id),
        ...(str(object.value) !== undefined ? { value: str(object.value) } : {}),
        ...(typeof object.number === 'number' ? { number: object.number } : {}),
        ...(str(object.name) !== undefined ? { name: str(object.name) } : {}),
        ...(str(object.pattern) !== undefined
          ? { pattern: str(object.pattern), pattern_type: str(object.pattern_type) }
          : {}),
        markings,
        ...(authorEntity ? { createdBy: authorEntity } : {}),
      });
    } catch {
      return; // not an element the testkit can store (a shape its schema does not model)
    }
    this.#notify();
    for (const record of this.#connectors.all()) {
      const scope = (record.connector_scope ?? '').split(',').map((s) => s.trim().toLowerCase());
      if (record.connector_type !== 'INTERNAL_ENRICHMENT' || !record.auto || !this.#registered.has(record.id)) continue;
      if (!scope.includes(entityType.toLowerCase())) continue;
      const asked = { connectorId: record.id, entityId: entity.standard_id, entityType, workId: null as string | null };
      this.autoEnrichments.push(asked);
      this.#askEnrichment(record.id, entity.standard_id, {
        mode: 'auto',
        userId: ADMIN_USER_ID,
        draftId: null,
        applicantId: null,
        trigger: 'create',
        stixObjects: null,
      }).then(
        (work) => {
          asked.workId = work.id;
        },
        () => undefined,
      );
    }
  }

  async #askEnrichment(
    connectorId: string,
    entityId: string,
    request: EnrichmentRequest & {
      applicantId: string | null;
      trigger: 'create' | 'update' | undefined;
      stixObjects: null | string | ReadonlyArray<Record<string, unknown>>;
      validationMode?: 'workbench' | 'draft';
      forceValidation?: boolean;
    },
  ): Promise<WorkDocument> {
    const record = this.#requireRegistered(connectorId);
    const entity = this.#entities.get(entityId);
    if (entity === undefined) {
      throw new TestPlatformError(`Entity ${entityId} is unknown to the test platform; add it with addEntity()`);
    }
    const draftId = request.draftId ?? null;
    const baseName = request.mode === 'manual' ? 'Manual enrichment' : `Enrichment (${entity.standard_id})`;
    const work = this.#works.create({
      connectorId,
      connectorType: record.connector_type,
      name: draftId === null ? baseName : `${baseName} in draft ${draftId}`,
      sourceId: entity.standard_id,
      userId: request.userId,
      draftContext: draftId,
    });
    const stixObjects =
      request.stixObjects === null || typeof request.stixObjects === 'string'
        ? request.stixObjects
        : JSON.stringify({
            type: 'bundle',
            id: `bundle--${internalIdFor(`enrichment-bundle-${work.id}`)}`,
            objects: request.stixObjects,
          });
    const message = {
      internal: {
        work_id: work.id,
        applicant_id: request.applicantId,
        draft_id: draftId,
        mode: request.mode,
        trigger: request.trigger ?? (request.mode === 'manual' ? 'update' : 'create'),
      },
      event: {
        event_type: 'INTERNAL_ENRICHMENT',
        entity_id: entity.standard_id,
        entity_type: entity.entity_type,
        stix_entity: JSON.stringify(entity.stix_entity),
        stix_objects: stixObjects,
        ...(request.validationMode === undefined ? {} : { validation_mode: request.validationMode }),
        ...(request.forceValidation === undefined ? {} : { force_validation: request.forceValidation }),
      },
    };
    await this.#publishListen(connectorId, JSON.stringify(message), 'enrichment', work.id);
    return work;
  }

  async #resetState(connectorId: string): Promise<ConnectorRecord> {
    const record = this.#connectors.resetState(connectorId);
    await this.#topology.purge(connectorId);
    return record;
  }

  async #registerQueues(record: ConnectorRecord): Promise<void> {
    const scope = record.connector_scope === null ? null : record.connector_scope.split(',');
    await this.#topology.registerConnectorQueues(record.id, record.name, record.connector_type, scope);
    this.#registered.add(record.id);
    await this.#worker?.watch(record.id, record.listen_callback_uri);
  }

  async #queueDetails(connectorId: string): Promise<{ messages_number: number; messages_size: number }> {
    // 7.x sums push_ and listen_; the size comes from the management API, which the testkit does not have:
    // like the platform when that API fails, it reports 0 unless a test set a size.
    const names = this.#topology.names(connectorId);
    const push = (await this.#topology.messageCount(names.push)) ?? 0;
    const listen = (await this.#topology.messageCount(names.listen)) ?? 0;
    return { messages_number: push + listen, messages_size: this.#queueSizes.get(connectorId) ?? 0 };
  }

  /** As the platform (7.260318.0, `sendStixBundle`): no draft, whatever `opencti-draft-id` the request had. */
  async #stixBundlePush(connectorId: string, bundleText: string, workId: string | null, userId: string): Promise<void> {
    const invalid = () => platformError('UNSUPPORTED_ERROR', 'Invalid bundle', 500);
    const bundle = parseJsonObject(bundleText);
    const objects = Array.isArray(bundle?.objects) ? (bundle.objects as unknown[]) : [];
    if (bundle === null || bundle.type !== 'bundle' || objects.length === 0) throw invalid();
    const record = this.#connectors.get(connectorId);
    if (record === undefined) throw invalid();
    let effectiveWorkId = workId !== null && workId !== '' ? workId : null;
    if (effectiveWorkId === null) {
      const work = this.#works.create({
        connectorId,
        connectorType: record.connector_type,
        name: `${record.name} run @ ${this.#now().toISOString()}`,
        sourceId: connectorId,
        userId,
        receivedTime: this.#now().toISOString(),
      });
      effectiveWorkId = work.id;
      if (objects.length === 1) this.#works.addExpectations(work.id, 1);
    }
    const message = {
      type: 'bundle',
      applicant_id: userId,
      content: Buffer.from(bundleText, 'utf8').toString('base64'),
      work_id: effectiveWorkId,
      update: true,
    };
    await this.#topology.publishPush(connectorId, Buffer.from(JSON.stringify(message), 'utf8'));
  }

  #services(): ResolverServices {
    return {
      version: this.#version,
      works: this.#works,
      now: () => this.#now(),
      user: (id) => this.#users.get(id) ?? { id, name: id },
      connector: (id) => this.#connectors.get(id),
      connectors: () => this.#connectors.all(),
      isActive: (record) => this.#connectors.isActive(record),
      entity: (id) => this.#entities.get(id),
      brokerConnection: () => ({ ...this.#broker }),
      queueNames: (id) => this.#topology.names(id),
      queueDetails: (id) => this.#queueDetails(id),
      registerConnector: async (input: RegisterConnectorInput, userId: string) => {
        // Like the platform: the queues first (a broker refusal fails the registration), then the record.
        const scope = input.scope && input.scope.length > 0 ? [...input.scope] : null;
        await this.#topology.registerConnectorQueues(input.id, input.name, input.type, scope);
        this.#registered.add(input.id);
        const { record } = this.#connectors.register(input, userId);
        await this.#worker?.watch(record.id, record.listen_callback_uri);
        return record;
      },
      pingConnector: async (id: string, state: string | null, info: ConnectorInfo | null) => {
        const existing = this.#connectors.get(id);
        if (existing === undefined) throw new ConnectorNotFoundError();
        await this.#registerQueues(existing);
        return this.#connectors.ping(id, state, info, this.faults.takeStalePing(id));
      },
      resetState: (id) => this.#resetState(id),
      deleteConnector: async (id) => {
        this.#works.deleteForConnector(id);
        await this.#worker?.unwatch(id);
        await this.#topology.deleteQueues(id);
        this.#registered.delete(id);
        this.#connectors.delete(id);
      },
      askEnrichment: (connectorId, entityId, request) => {
        if (this.#connectors.get(connectorId) === undefined) {
          return Promise.reject(platformError('FUNCTIONAL_ERROR', 'No connector found with the specified ID'));
        }
        if (this.#entities.get(entityId) === undefined) {
          return Promise.reject(platformError('FUNCTIONAL_ERROR', 'Cannot find the element to enrich'));
        }
        return this.#askEnrichment(connectorId, entityId, {
          ...request,
          applicantId: null,
          trigger: undefined,
          stixObjects: null,
        });
      },
      stixBundlePush: (connectorId, bundle, workId, userId) =>
        this.#stixBundlePush(connectorId, bundle, workId, userId),
      uploadPending: (file, { entityId, fileMarkings, userId, draftId }) => {
        const content = file.content.toString('utf8');
        const bundle = parseJsonObject(content);
        const record: WorkbenchFileRecord = {
          seq: this.#recorder.nextSeq(),
          at: this.#now().toISOString(),
          id: `import/pending/${file.filename}`,
          name: file.filename,
          mimeType: file.mimetype,
          entityId,
          fileMarkings,
          userId,
          draftId,
          content,
          bundle,
        };
        this.#recorder.workbenchFiles.push(record);
        this.#recordViolations(
          bundle === null ? ['the workbench file is not a JSON bundle'] : stixBundleViolations(bundle),
          null,
          null,
          'workbench',
        );
        this.#notify();
        return { id: record.id, name: record.name };
      },
      draftWorkspaceAdd: ({ name, entityId, userId }) => {
        const id = internalIdFor(`draft-${this.#recorder.drafts.length}-${name}`);
        this.#recorder.drafts.push({
          seq: this.#recorder.nextSeq(),
          at: this.#now().toISOString(),
          id,
          name,
          entityId,
          userId,
        });
        this.#notify();
        return { id, name, entity_id: entityId };
      },
      recordPlaybookStep: (variables) => {
        const bundle = parseJsonObject(variables.bundle);
        this.#recorder.playbookSteps.push({
          seq: this.#recorder.nextSeq(),
          at: this.#now().toISOString(),
          variables: { ...variables },
          bundle,
          previousBundle: parseJsonObject(variables.previous_bundle),
        });
        this.#recordViolations(
          bundle === null ? ['the answer is not a JSON bundle'] : stixBundleViolations(bundle),
          null,
          null,
          'playbook',
        );
        this.#notify();
      },
    };
  }
}

/** Starts a stand-in platform; see {@link TestPlatformOptions}. Always `close()` it. */
export function startTestPlatform(options?: TestPlatformOptions): Promise<TestPlatform> {
  return TestPlatform.start(options);
}

function describeWork(work: WorkSnapshot | undefined): string {
  if (work === undefined) return 'no such work';
  const tracking = `${work.tracking.import_processed_number ?? '-'}/${work.tracking.import_expected_number ?? '-'} processed`;
  const messages = work.messages.map((m) => m.message).join(' | ') || 'none';
  const errors = work.errors.map((e) => e.message).join(' | ') || 'none';
  const ops = work.operations.map((o) => o.op).join(', ');
  return `status ${work.status}${work.deleted ? ' (deleted)' : ''}, ${tracking}, alive ${work.alive}, messages: ${messages}; errors: ${errors}; calls: ${ops}`;
}

function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password !== '') parsed.password = '***';
    return parsed.toString();
  } catch {
    return '<invalid URL>';
  }
}
