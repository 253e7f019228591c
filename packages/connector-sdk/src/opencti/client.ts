/**
 * The OpenCTI GraphQL client: registration, ping and state, works, the entity read of enrichments,
 * queue sizes, bundle push over HTTP and playbook answers; plus `request()` for any other document.
 *
 * It speaks like pycti 6.8.10 on the wire (reference/protocol-notes.md#graphql-transport: POST <url>/graphql,
 * Bearer token, custom
 * headers, `opencti-applicant-id` / `opencti-draft-id` only where asked), and differs where pycti is
 * fragile: a per-request timeout (pycti: 300 s), bounded retries chosen per call (retry.ts), typed
 * errors (failure.ts), a startup wait that tells a bad token from a platform still starting.
 */
import { validateHeaderName, validateHeaderValue } from 'node:http';
import { z } from 'zod';
import { ConfigError, PlatformError } from '../errors/index.js';
import { redactString, redactUrl, registerSecret } from '../log/redact.js';
import { sleep } from '../time/index.js';
import { readGraphQLData } from './answer.js';
import type { ConnectorInfo } from './connector-info.js';
import { connectorMetadata } from './connector-metadata.js';
import {
  DRAFT_WORKSPACE_ADD,
  GET_CONNECTOR,
  HEALTH_CHECK,
  PING_CONNECTOR,
  PLAYBOOK_STEP_EXECUTION,
  READ_STIX_CORE_OBJECT,
  REGISTER_CONNECTOR,
  REGISTER_CONNECTOR_INPUT_FIELDS,
  STIX_BUNDLE_PUSH,
  UPLOAD_PENDING,
  WORK_ADD,
  WORK_ADD_DRAFT_CONTEXT,
  WORK_ADD_EXPECTATIONS,
  WORK_PING,
  WORK_REPORT_EXPECTATION,
  WORK_STATUS,
  WORK_TO_PROCESSED,
  WORK_TO_RECEIVED,
} from './documents.js';
import { type EnrichmentEntity, toEnrichmentEntity } from './entity.js';
import { type ClassifiedFailure, classifyFailure } from './failure.js';
import { encodeMultipartForm } from './multipart.js';
import {
  backoffDelay,
  DEFAULT_RETRY_POLICY,
  mayRetry,
  type RetryMode,
  type RetryPolicy,
  validateRetryPolicy,
} from './retry.js';
import { type ConnectorState, serializeState } from './state.js';
import {
  createNodeTransport,
  formatSeconds,
  type NodeTransport,
  RequestTimeout,
  resolveTlsSettings,
} from './transport.js';
import {
  acceptsConnectorMetadata,
  acceptsRegistrationField,
  type PlatformVersion,
  parsePlatformVersion,
  SCHEMA_GATED_REGISTRATION_FIELDS,
} from './version.js';

/** The subset of a pino logger the client uses; lines are `(attributes, message)`. */
export interface OpenCtiLogger {
  debug(attributes: object, message: string): void;
  info(attributes: object, message: string): void;
  warn(attributes: object, message: string): void;
  error(attributes: object, message: string): void;
}

export interface OpenCtiClientOptions {
  /** OPENCTI_URL, the platform base URL; the endpoint is `<url>/graphql` (trailing slashes tolerated). */
  url: string;
  /** OPENCTI_TOKEN. Registered as a secret: it is masked wherever it would be printed. */
  token: string;
  /**
   * OPENCTI_SSL_VERIFY: false (pycti's default) skips certificate verification, true verifies against
   * the system store, a string is the path of a PEM CA bundle added to the system store.
   */
  sslVerify?: boolean | string;
  /** OPENCTI_CUSTOM_HEADERS, parsed: sent on every request (after the base headers, as pycti does). */
  customHeaders?: Record<string, string>;
  /** e.g. "cti-connector-sdk/0.1.0 (crowdsec)". */
  userAgent: string;
  /** Per request, default 60 s. */
  timeoutMs?: number;
  logger?: OpenCtiLogger;
  /** Retries of transient failures; default 3 attempts, 0.5 s doubling up to 5 s. */
  retry?: RetryPolicy;
  /** The platform version when already known; otherwise read from `about.version` when needed. */
  platformVersion?: string;
}

export type ConnectorType =
  | 'EXTERNAL_IMPORT'
  | 'INTERNAL_IMPORT_FILE'
  | 'INTERNAL_ENRICHMENT'
  | 'INTERNAL_ANALYSIS'
  | 'INTERNAL_EXPORT_FILE'
  | 'STREAM';

export interface RegisterConnectorInput {
  /** CONNECTOR_ID, chosen by the connector (normally a UUIDv4). */
  id: string;
  name: string;
  type: ConnectorType;
  /** CONNECTOR_SCOPE split on ","; entity types for enrichment, MIME types for import/export. */
  scope: string[];
  auto: boolean;
  only_contextual: boolean;
  playbook_compatible: boolean;
  /** Enrich on update too (platform >= 6.8.9; dropped with a warning on older platforms). Default false. */
  auto_update?: boolean;
  /**
   * "none" (pycti's value: the connector resolves the STIX itself) or "stix_bundle" (the platform
   * sends `stix_objects` where it can). Platform >= 6.8.9 only. Default "none".
   */
  enrichment_resolution?: string;
  /** HTTP listen protocol callback (platform >= 6.5.7). */
  listen_callback_uri?: string | null;
  /**
   * The connector's version (semantic versioning, or "rolling") and catalog slug, which the platform shows
   * and compares with its catalog. Sent only to a platform whose schema declares both (version.ts).
   */
  version?: string | null;
  slug?: string | null;
}

export interface RabbitMqConnection {
  host: string;
  vhost: string;
  use_ssl: boolean;
  port: number;
  user: string;
  pass: string;
}

export interface RegisteredConnector {
  id: string;
  /** The stored state, raw (see state.ts parseState). */
  connector_state: string | null;
  /** The user the token belongs to: the default applicant of pushed bundles. */
  connector_user_id: string | null;
  config: {
    connection: RabbitMqConnection;
    listen: string;
    listen_routing: string;
    listen_exchange: string;
    push: string;
    push_routing: string;
    push_exchange: string;
  };
}

export interface PingResult {
  id: string;
  /** The state as the platform answers it: '' right after a UI reset (state.ts detectRemoteReset). */
  connector_state: string | null;
  connector_info: ConnectorInfo | null;
}

export interface QueueSize {
  messagesNumber: number;
  /** Decimal megabytes (bytes / 1e6), as pycti compares with CONNECTOR_QUEUE_THRESHOLD. */
  sizeMb: number;
}

/** Variables of `playbookStepExecution`, from the playbook message (reference/protocol-notes.md#enrichment-messages). */
export interface PlaybookStepVariables {
  execution_id: string;
  event_id: string;
  /** UTC `YYYY-MM-DDTHH:MM:SS+00:00` (pycti's `date_now()`), when the step started. */
  execution_start: string;
  data_instance_id: string;
  playbook_id: string;
  previous_step_id: string;
  step_id: string;
  /** The bundle the step received, serialized. */
  previous_bundle: string;
  /** The resulting bundle, serialized. */
  bundle: string;
}

export interface CallOptions {
  /** Sends `opencti-applicant-id` (act on behalf of that user; honoured for users with BYPASS). */
  applicantId?: string | null;
  /** Sends `opencti-draft-id` (work inside that draft) when non-empty. */
  draftId?: string | null;
}

export interface RequestOptions extends CallOptions {
  /**
   * Retry policy of this call (retry.ts). true (default): a query retries any transient failure, a
   * mutation only failures that provably did not reach the platform. false: a single attempt.
   */
  retry?: boolean | RetryMode;
  /** Cancels the call (and its retries). */
  signal?: AbortSignal;
}

export interface WaitOptions {
  /** How long to keep trying, in milliseconds from now. */
  deadlineMs: number;
  signal?: AbortSignal;
  /** First delay between attempts, doubling (with jitter) up to `maxDelayMs`. Defaults 1 s and 30 s. */
  baseDelayMs?: number;
  maxDelayMs?: number;
}

/** A file sent with a GraphQL multipart request, as the `Upload` scalar expects it. */
export interface UploadFile {
  name: string;
  content: string | Uint8Array;
  mimeType: string;
}

interface Call extends CallOptions {
  operation: string;
  mode: RetryMode;
  signal?: AbortSignal | undefined;
  timeoutMs?: number | undefined;
  /** Sends the call as a GraphQL multipart request, this file in the variable named. */
  upload?: { variable: string; file: UploadFile } | undefined;
}

const DEFAULT_TIMEOUT_MS = 60_000;
const APPLICANT_HEADER = 'opencti-applicant-id';
const DRAFT_HEADER = 'opencti-draft-id';

const silentLogger: OpenCtiLogger = { debug() {}, info() {}, warn() {}, error() {} };

export class OpenCtiClient {
  /** `<url>/graphql`. */
  readonly endpoint: string;
  /** The platform base URL, credentials masked: for messages. */
  readonly displayUrl: string;
  private readonly endpointUrl: URL;
  /** Every request's headers, names lower-cased: token, user agent, accept, custom headers (content type per body). */
  private readonly headers: Record<string, string>;
  private readonly transport: NodeTransport;
  private readonly logger: OpenCtiLogger;
  private readonly retryPolicy: RetryPolicy;
  private readonly timeoutMs: number;
  private platformVersion: string | undefined;
  /** Fields of RegisterConnectorInput the platform declares: undefined until asked, null if it would not say. */
  private declaredRegistrationFields: ReadonlySet<string> | null | undefined;

  constructor(options: OpenCtiClientOptions) {
    const base = normalizeBaseUrl(options.url);
    this.endpoint = `${base}/graphql`;
    this.endpointUrl = new URL(this.endpoint);
    this.displayUrl = redactUrl(base);
    if (typeof options.token !== 'string' || options.token.trim() === '') {
      throw new ConfigError([
        { variable: 'OPENCTI_TOKEN', message: 'the API token of the connector user is required' },
      ]);
    }
    registerSecret(options.token);
    if (!isHeaderValue('authorization', `Bearer ${options.token}`)) {
      // Node refuses such a header at every request: a start-up error says which setting, not a 5-minute wait.
      throw new ConfigError([
        {
          variable: 'OPENCTI_TOKEN',
          message: 'contains a line break or another character an HTTP header cannot carry: remove it',
        },
      ]);
    }
    this.logger = options.logger ?? silentLogger;
    this.retryPolicy = validateRetryPolicy(options.retry ?? DEFAULT_RETRY_POLICY);
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    if (!Number.isFinite(this.timeoutMs) || this.timeoutMs <= 0) {
      throw new RangeError(`invalid OpenCTI timeout ${String(options.timeoutMs)} ms`);
    }
    this.platformVersion = options.platformVersion;

    const tlsSettings = resolveTlsSettings(options.sslVerify);
    if (!tlsSettings.rejectUnauthorized && base.startsWith('https:')) {
      this.logger.warn(
        { url: this.displayUrl },
        `The TLS certificate of ${this.displayUrl} is not verified (OPENCTI_SSL_VERIFY is false)`,
      );
    }
    this.transport = createNodeTransport(tlsSettings);
    this.headers = baseHeaders(options.token, options.userAgent, options.customHeaders);
  }

  /** `about { version }`, with the client's retries. Remembers the version for registration. */
  async health(): Promise<{ version: string }> {
    const data = await this.call<{ about: unknown }>(HEALTH_CHECK, {}, { operation: 'healthCheck', mode: 'transient' });
    return this.rememberVersion(data.about);
  }

  /**
   * Waits for the platform at start-up: retries every failure but a rejected token with exponential
   * backoff until `deadlineMs` has passed, logging one warning per failed attempt. A rejected token
   * (HTTP 401/403, AUTH_REQUIRED, FORBIDDEN_ACCESS) fails at once: waiting cannot fix it; so does a TLS
   * certificate the settings do not trust, as a ConfigError naming OPENCTI_SSL_VERIFY.
   */
  async waitUntilReachable(options: WaitOptions): Promise<{ version: string }> {
    const policy = { baseDelayMs: options.baseDelayMs ?? 1_000, maxDelayMs: options.maxDelayMs ?? 30_000 };
    const deadline = performance.now() + options.deadlineMs;
    for (let attempt = 1; ; attempt += 1) {
      const remaining = Math.max(1, Math.round(deadline - performance.now()));
      const call: Call = {
        operation: 'healthCheck',
        mode: 'none',
        signal: options.signal,
        timeoutMs: Math.min(this.timeoutMs, remaining),
      };
      let failure: ClassifiedFailure;
      try {
        // One bare attempt: this loop is the retry, and classifies the raw failure itself.
        const answer = await this.attempt(encodeRequest(HEALTH_CHECK, {}, call), call);
        return this.rememberVersion(answer.about);
      } catch (err) {
        failure = classifyFailure(err, { operation: 'healthCheck', endpoint: this.endpoint });
      }
      if (failure.error.auth) throw failure.error;
      if (failure.misconfigured) throw new ConfigError([failure.misconfigured], { cause: failure.error });
      if (options.signal?.aborted) throw cancelled('healthCheck', options.signal);
      const left = deadline - performance.now();
      if (left <= 0) {
        throw new PlatformError(
          `OpenCTI not reachable at ${this.displayUrl} after ${attempt} attempt${attempt === 1 ? '' : 's'} in ${formatSeconds(options.deadlineMs)} (${failure.reason})`,
          { operation: 'healthCheck', retryable: true, status: failure.error.status },
          { cause: failure.error },
        );
      }
      const delay = Math.min(backoffDelay(attempt, policy), Math.ceil(left));
      this.logger.warn(
        { url: this.displayUrl, attempt, reason: failure.reason, delayMs: delay },
        `OpenCTI not reachable at ${this.displayUrl} (${failure.reason}), attempt ${attempt}, next in ${formatSeconds(delay)}`,
      );
      try {
        await sleep(delay, options.signal);
      } catch {
        throw cancelled('healthCheck', options.signal);
      }
    }
  }

  /**
   * Registers (or re-registers) the connector. `auto_update`, `enrichment_resolution` and
   * `listen_callback_uri` are sent only to a platform that accepts them (version.ts); the platform
   * version is read first when not yet known. The RabbitMQ password returned is registered as a secret.
   */
  async registerConnector(
    input: RegisterConnectorInput,
    options: { deadlineMs?: number; signal?: AbortSignal } = {},
  ): Promise<RegisteredConnector> {
    if (options.deadlineMs === undefined) return this.registerOnce(input);
    // At start-up the registration waits for the platform as the health check does: a platform that
    // answers the health check but 5xx on registerConnector (a restart behind a proxy) is not a reason to exit.
    const policy = { baseDelayMs: 1_000, maxDelayMs: 30_000 };
    const deadline = performance.now() + options.deadlineMs;
    for (let attempt = 1; ; attempt += 1) {
      try {
        return await this.registerOnce(input);
      } catch (err) {
        if (!(err instanceof PlatformError) || !err.retryable || err.auth) throw err;
        const left = deadline - performance.now();
        if (left <= 0) throw err;
        const delay = Math.min(backoffDelay(attempt, policy), Math.ceil(left));
        this.logger.warn(
          { attempt, delayMs: delay },
          `OpenCTI did not accept the registration (${err.message}), attempt ${attempt}, next in ${formatSeconds(delay)}`,
        );
        try {
          await sleep(delay, options.signal);
        } catch {
          throw cancelled('RegisterConnector', options.signal);
        }
      }
    }
  }

  private async registerOnce(input: RegisterConnectorInput): Promise<RegisteredConnector> {
    const version = await this.knownPlatformVersion();
    const metadata = connectorMetadata(input.version, input.slug);
    const declared = metadata.version !== null || metadata.slug !== null ? await this.registrationInputFields() : null;
    const { variables, dropped } = buildRegistrationInput(
      { ...input, version: metadata.version, slug: metadata.slug },
      version,
      declared,
    );
    for (const problem of metadata.problems) this.logger.warn({ version: input.version }, `${problem}: it is not sent`);
    for (const field of dropped) {
      const metadataField = (SCHEMA_GATED_REGISTRATION_FIELDS as readonly string[]).includes(field);
      // Every platform released so far lacks version and slug: worth a line, not a warning.
      (metadataField ? this.logger.info.bind(this.logger) : this.logger.warn.bind(this.logger))(
        { field, platformVersion: this.platformVersion ?? null },
        `OpenCTI ${this.platformVersion ?? '(unknown version)'} does not support ${field}: it is not sent`,
      );
    }
    const data = await this.call<{ registerConnector: unknown }>(
      REGISTER_CONNECTOR,
      { input: variables },
      { operation: 'RegisterConnector', mode: 'transient' },
    );
    const registered = parseAnswer(registeredSchema, data.registerConnector, 'RegisterConnector');
    registerSecret(registered.config.connection.pass);
    return registered;
  }

  /**
   * Keep-alive with the local state (serialized as pycti does: "null" when none) and the scheduler
   * information. Not retried once it may have reached the platform: the ping that consumes a UI reset
   * answers '' only once. The next periodic ping is the retry.
   */
  async pingConnector(id: string, state: ConnectorState | null, info: ConnectorInfo): Promise<PingResult> {
    const data = await this.call<{ pingConnector: unknown }>(
      PING_CONNECTOR,
      { id, state: serializeState(state), connectorInfo: info },
      { operation: 'PingConnector', mode: 'unsent' },
    );
    return parseAnswer(pingSchema, data.pingConnector, 'PingConnector');
  }

  /** Messages and bytes waiting in the connector's queues (reference/protocol-notes.md#scheduling-and-back-pressure). */
  async getConnectorQueueSize(id: string): Promise<QueueSize> {
    const data = await this.call<{ connector: unknown }>(
      GET_CONNECTOR,
      { id },
      { operation: 'GetConnector', mode: 'transient' },
    );
    if (data.connector === null || data.connector === undefined) {
      throw new PlatformError(`OpenCTI has no connector ${id} (GetConnector answered null)`, {
        operation: 'GetConnector',
        retryable: false,
      });
    }
    const connector = parseAnswer(queueSchema, data.connector, 'GetConnector');
    return {
      messagesNumber: connector.connector_queue_details.messages_number,
      sizeMb: connector.connector_queue_details.messages_size / 1_000_000,
    };
  }

  /** Creates a work (status "progress"); returns its id. Retried only when provably not received. */
  async workAdd(connectorId: string, friendlyName: string): Promise<string> {
    const data = await this.call<{ workAdd: unknown }>(
      WORK_ADD,
      { connectorId, friendlyName },
      { operation: 'workAdd', mode: 'unsent' },
    );
    return parseAnswer(z.object({ id: z.string().min(1) }), data.workAdd, 'workAdd').id;
  }

  // Work messages are shown to every analyst in the OpenCTI UI: redacted here, whatever built them.
  async workToReceived(workId: string, message: string): Promise<void> {
    await this.call(
      WORK_TO_RECEIVED,
      { id: workId, message: redactString(message) },
      { operation: 'workToReceived', mode: 'transient' },
    );
  }

  async workToProcessed(workId: string, message: string, inError = false): Promise<void> {
    await this.call(
      WORK_TO_PROCESSED,
      { id: workId, message: redactString(message), inError },
      { operation: 'workToProcessed', mode: 'transient' },
    );
  }

  /** Adds `expectations` to the work's expected count. A counter: retried only when provably not received. */
  async workAddExpectations(workId: string, expectations: number): Promise<void> {
    if (!Number.isInteger(expectations) || expectations < 0) {
      throw new RangeError(`workAddExpectations: expectations must be a non-negative integer, got ${expectations}`);
    }
    await this.call(
      WORK_ADD_EXPECTATIONS,
      { id: workId, expectations },
      { operation: 'addExpectations', mode: 'unsent' },
    );
  }

  /** Reports one processed expectation, with an error when it failed. Retried only when provably not received. */
  async workReportExpectation(workId: string, error?: { error: string; source: string }): Promise<void> {
    await this.call(
      WORK_REPORT_EXPECTATION,
      { id: workId, error: error === undefined ? null : { ...error, error: redactString(error.error) } },
      { operation: 'reportExpectation', mode: 'unsent' },
    );
  }

  /**
   * The work's status and processed time, or null when the platform does not know the work (deleted,
   * or the connector's user may not read works).
   */
  async workStatus(workId: string): Promise<{ status: string; processedTime: string | null } | null> {
    const data = await this.call<{ work: { status: string; processed_time: string | null } | null }>(
      WORK_STATUS,
      { id: workId },
      { operation: 'WorkStatus', mode: 'transient' },
    );
    return data.work ? { status: data.work.status, processedTime: data.work.processed_time } : null;
  }

  /** Keeps a long-running work alive (`updated_at`). */
  async workPing(workId: string): Promise<void> {
    await this.call(WORK_PING, { id: workId }, { operation: 'pingWork', mode: 'transient' });
  }

  /**
   * Reads the entity of an enrichment message by internal or standard id. Null when the platform
   * returns none (unknown id, or not visible to the user acting).
   */
  async readEntity(id: string, options: CallOptions = {}): Promise<EnrichmentEntity | null> {
    const data = await this.call<{ stixCoreObject: unknown }>(
      READ_STIX_CORE_OBJECT,
      { id },
      {
        operation: 'ReadStixCoreObject',
        mode: 'transient',
        applicantId: options.applicantId,
        draftId: options.draftId,
      },
    );
    try {
      return toEnrichmentEntity(data.stixCoreObject);
    } catch (err) {
      throw new PlatformError(
        `OpenCTI ReadStixCoreObject returned an unexpected answer: ${err instanceof Error ? err.message : String(err)}`,
        { operation: 'ReadStixCoreObject', retryable: false },
        { cause: err },
      );
    }
  }

  /**
   * Sends a whole bundle through `stixBundlePush` (CONNECTOR_QUEUE_PROTOCOL=api). The platform queues
   * it for its workers; with no work id it opens a work itself. Retried only when provably not received.
   */
  async stixBundlePush(connectorId: string, bundle: string, workId: string | null): Promise<void> {
    const data = await this.call<{ stixBundlePush: unknown }>(
      STIX_BUNDLE_PUSH,
      { connectorId, bundle, work_id: workId },
      { operation: 'StixBundlePush', mode: 'unsent' },
    );
    if (data.stixBundlePush !== true) {
      throw new PlatformError(
        `OpenCTI StixBundlePush did not accept the bundle (answered ${JSON.stringify(data.stixBundlePush)})`,
        { operation: 'StixBundlePush', retryable: false },
      );
    }
  }

  /**
   * Review before import, workbench mode: `content` becomes a pending file of the import workbench (pycti's
   * `upload_pending_file`, a multipart request). A new file each time: retried only when provably not received.
   */
  async uploadPending(
    file: UploadFile,
    options: { entityId: string | null; fileMarkings: readonly string[] },
  ): Promise<{ id: string; name: string }> {
    const data = await this.call<{ uploadPending: unknown }>(
      UPLOAD_PENDING,
      { file: null, entityId: options.entityId, file_markings: [...options.fileMarkings] },
      { operation: 'UploadPending', mode: 'unsent', upload: { variable: 'file', file } },
    );
    return parseAnswer(z.object({ id: z.string().min(1), name: z.string() }), data.uploadPending, 'UploadPending');
  }

  /** Review before import, draft mode: creates the draft bundles are then sent into; returns its id. */
  async draftWorkspaceAdd(name: string, entityId: string | null): Promise<string> {
    const data = await this.call<{ draftWorkspaceAdd: unknown }>(
      DRAFT_WORKSPACE_ADD,
      { input: { name, entity_id: entityId } },
      { operation: 'draftWorkspaceAdd', mode: 'unsent' },
    );
    return parseAnswer(z.object({ id: z.string().min(1) }), data.draftWorkspaceAdd, 'draftWorkspaceAdd').id;
  }

  /** Records on a work the draft its bundles go into (the same value twice changes nothing: retried freely). */
  async workAddDraftContext(workId: string, draftId: string): Promise<void> {
    await this.call(
      WORK_ADD_DRAFT_CONTEXT,
      { id: workId, draftContext: draftId },
      { operation: 'addDraftContext', mode: 'transient' },
    );
  }

  /** Answers a playbook step: the playbook resumes with `bundle`. Retried only when provably not received. */
  async playbookStepExecution(variables: PlaybookStepVariables): Promise<void> {
    await this.call(PLAYBOOK_STEP_EXECUTION, { ...variables }, { operation: 'PlaybookStepExecution', mode: 'unsent' });
  }

  /**
   * Any GraphQL document, with the client's headers, timeout, retries and error mapping. Returns `data`.
   * The applicant and draft headers are sent only when given.
   */
  async request<T>(
    document: string,
    variables: Record<string, unknown> = {},
    options: RequestOptions = {},
  ): Promise<T> {
    const { operation, kind } = describeDocument(document);
    const mode: RetryMode =
      options.retry === false
        ? 'none'
        : options.retry === undefined || options.retry === true
          ? kind === 'query'
            ? 'transient'
            : 'unsent'
          : options.retry;
    return this.call<T>(document, variables, {
      operation,
      mode,
      applicantId: options.applicantId,
      draftId: options.draftId,
      signal: options.signal,
    });
  }

  /**
   * The input fields the platform's `RegisterConnectorInput` declares, read once through introspection as
   * pycti 7 reads them; null when the platform refuses to say (introspection disabled). A platform that
   * cannot be reached throws, as any call does.
   */
  private async registrationInputFields(): Promise<ReadonlySet<string> | null> {
    if (this.declaredRegistrationFields !== undefined) return this.declaredRegistrationFields;
    try {
      const data = await this.call<{ registerConnectorInput: unknown }>(
        REGISTER_CONNECTOR_INPUT_FIELDS,
        {},
        { operation: 'RegisterConnectorInputFields', mode: 'transient' },
      );
      const type = parseAnswer(
        z.object({ inputFields: z.array(z.object({ name: z.string() })).nullish() }).nullish(),
        data.registerConnectorInput,
        'RegisterConnectorInputFields',
      );
      this.declaredRegistrationFields = new Set((type?.inputFields ?? []).map((f) => f.name));
    } catch (err) {
      if (err instanceof PlatformError && (err.retryable || err.auth)) throw err;
      this.logger.info(
        { err },
        'OpenCTI does not say which registration fields it accepts (schema introspection refused): the connector version and slug are not sent',
      );
      this.declaredRegistrationFields = null;
    }
    return this.declaredRegistrationFields;
  }

  /** The platform version, once read by `health()` / `waitUntilReachable()` (or given in the options). */
  get knownVersion(): string | undefined {
    return this.platformVersion;
  }

  /** Closes idle keep-alive connections. */
  close(): void {
    this.transport.close();
  }

  private rememberVersion(about: unknown): { version: string } {
    const { version } = parseAnswer(z.object({ version: z.string() }), about, 'healthCheck');
    this.platformVersion = version;
    return { version };
  }

  private async knownPlatformVersion(): Promise<PlatformVersion | null> {
    if (this.platformVersion === undefined) await this.health();
    return parsePlatformVersion(this.platformVersion);
  }

  private async call<T>(document: string, variables: Record<string, unknown>, call: Call): Promise<T> {
    const attempts = call.mode === 'none' ? 1 : this.retryPolicy.attempts;
    // Encoded once for every attempt (a bundle is serialised once); a variable JSON cannot hold fails as a call.
    let outgoing: OutgoingBody | undefined;
    for (let attempt = 1; ; attempt += 1) {
      try {
        outgoing ??= encodeRequest(document, variables, call);
        // The caller's type for `data`: the platform's answer is checked by parseAnswer where it is used.
        return (await this.attempt(outgoing, call)) as T;
      } catch (err) {
        const failure = classifyFailure(err, { operation: call.operation, endpoint: this.endpoint });
        if (call.signal?.aborted) throw cancelled(call.operation, call.signal);
        const retry =
          attempt < attempts && mayRetry(call.mode, { retryable: failure.error.retryable, delivery: failure.delivery });
        if (!retry) throw failure.error;
        const delay = backoffDelay(attempt, this.retryPolicy);
        this.logger.warn(
          { operation: call.operation, attempt, attempts, reason: failure.reason, delayMs: delay },
          `OpenCTI ${call.operation} failed (${failure.reason}), attempt ${attempt} of ${attempts}, retrying in ${formatSeconds(delay)}`,
        );
        try {
          await sleep(delay, call.signal);
        } catch {
          throw cancelled(call.operation, call.signal);
        }
      }
    }
  }

  /** One request and its `data`; throws what failed, unclassified (transport, answer, timeout). */
  private async attempt(outgoing: OutgoingBody, call: Call): Promise<Record<string, unknown>> {
    const timeoutMs = call.timeoutMs ?? this.timeoutMs;
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(new RequestTimeout(timeoutMs)), timeoutMs);
    const outer = call.signal;
    const forwardAbort = (): void => controller.abort(outer?.reason);
    if (outer?.aborted) forwardAbort();
    else outer?.addEventListener('abort', forwardAbort, { once: true });
    try {
      const answer = await this.transport.send(this.endpointUrl, {
        method: 'POST',
        headers: { ...this.headers, ...callHeaders(call), 'content-type': outgoing.contentType },
        body: outgoing.body,
        signal: controller.signal,
      });
      return readGraphQLData(answer);
    } finally {
      clearTimeout(timer);
      outer?.removeEventListener('abort', forwardAbort);
    }
  }
}

/** A request body and its Content-Type. */
interface OutgoingBody {
  contentType: string;
  body: string | Uint8Array;
}

/**
 * The body of a call: `{query, variables}` JSON, as pycti sends it (no operationName); or, for a call with
 * a file, a GraphQL multipart request (the spec graphql-upload implements, which the platform uses): the
 * operation with the file's variable null, the map of part "0" to that variable, then the file.
 */
function encodeRequest(document: string, variables: Record<string, unknown>, call: Call): OutgoingBody {
  const upload = call.upload;
  if (upload === undefined) {
    return { contentType: 'application/json', body: JSON.stringify({ query: document, variables }) };
  }
  const { file } = upload;
  return encodeMultipartForm([
    {
      name: 'operations',
      value: JSON.stringify({ query: document, variables: { ...variables, [upload.variable]: null } }),
    },
    { name: 'map', value: JSON.stringify({ 0: [`variables.${upload.variable}`] }) },
    {
      name: '0',
      filename: file.name,
      contentType: file.mimeType,
      content: typeof file.content === 'string' ? Buffer.from(file.content, 'utf8') : file.content,
    },
  ]);
}

/**
 * The registration variables for a platform version (and, for the connector's version and slug, the input
 * fields its schema declares), and the gated fields left out.
 */
export function buildRegistrationInput(
  input: RegisterConnectorInput,
  version: PlatformVersion | null,
  declaredFields: ReadonlySet<string> | null = null,
): { variables: Record<string, unknown>; dropped: string[] } {
  const variables: Record<string, unknown> = {
    id: input.id,
    name: input.name,
    type: input.type,
    scope: input.scope,
    auto: input.auto,
    only_contextual: input.only_contextual,
    playbook_compatible: input.playbook_compatible,
  };
  const dropped: string[] = [];
  if (acceptsRegistrationField(version, 'auto_update')) variables.auto_update = input.auto_update ?? false;
  else if (input.auto_update === true) dropped.push('auto_update');
  if (acceptsRegistrationField(version, 'enrichment_resolution')) {
    variables.enrichment_resolution = input.enrichment_resolution ?? 'none';
  } else if (input.enrichment_resolution !== undefined && input.enrichment_resolution !== 'none') {
    dropped.push('enrichment_resolution');
  }
  // A callback URI is what makes the API listen protocol work at all: it is sent even to a platform
  // believed too old, so that the registration fails loudly instead of the connector never hearing.
  if (acceptsRegistrationField(version, 'listen_callback_uri') || isNonEmpty(input.listen_callback_uri)) {
    variables.listen_callback_uri = input.listen_callback_uri ?? null;
  }
  const metadata = { version: input.version ?? null, slug: input.slug ?? null };
  if (acceptsConnectorMetadata(declaredFields)) {
    for (const field of SCHEMA_GATED_REGISTRATION_FIELDS)
      if (metadata[field] !== null) variables[field] = metadata[field];
  } else {
    for (const field of SCHEMA_GATED_REGISTRATION_FIELDS) if (metadata[field] !== null) dropped.push(field);
  }
  return { variables, dropped };
}

function isNonEmpty(value: string | null | undefined): value is string {
  return typeof value === 'string' && value !== '';
}

function normalizeBaseUrl(raw: string): string {
  let url: URL;
  try {
    url = new URL(raw.trim());
  } catch {
    throw new ConfigError([{ variable: 'OPENCTI_URL', message: `not a URL: ${redactUrl(String(raw))}` }]);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new ConfigError([
      { variable: 'OPENCTI_URL', message: `must start with http:// or https://, got ${url.protocol}` },
    ]);
  }
  url.search = '';
  url.hash = '';
  return url.toString().replace(/\/+$/, '');
}

function baseHeaders(
  token: string,
  userAgent: string,
  custom: Record<string, string> | undefined,
): Record<string, string> {
  // Lower-cased names: a custom header replaces a base one of the same name, as in pycti's session headers.
  const headers: Record<string, string> = {
    authorization: `Bearer ${token}`,
    'user-agent': userAgent,
    accept: 'application/json',
  };
  for (const [name, value] of Object.entries(custom ?? {})) {
    if (!isHeaderName(name) || !isHeaderValue(name, value)) {
      throw new ConfigError([
        { variable: 'OPENCTI_CUSTOM_HEADERS', message: `"${name}" is not a valid HTTP header name or value` },
      ]);
    }
    if (CLIENT_OWNED_HEADERS.has(name.toLowerCase())) {
      throw new ConfigError([
        {
          variable: 'OPENCTI_CUSTOM_HEADERS',
          message: `"${name}" is set by the client for each request (it frames the body or names its type)`,
        },
      ]);
    }
    headers[name.toLowerCase()] = value;
  }
  return headers;
}

/** A custom value for these would break the request: a wrong length or encoding, JSON sent as something else. */
const CLIENT_OWNED_HEADERS: ReadonlySet<string> = new Set(['content-length', 'transfer-encoding', 'content-type']);

function callHeaders(call: Call): Record<string, string> {
  const headers: Record<string, string> = {};
  if (isNonEmpty(call.applicantId)) headers[APPLICANT_HEADER] = call.applicantId;
  if (isNonEmpty(call.draftId)) headers[DRAFT_HEADER] = call.draftId;
  return headers;
}

function describeDocument(document: string): { operation: string; kind: 'query' | 'mutation' | 'subscription' } {
  const withoutComments = document.replace(/#[^\n\r]*/g, '');
  const match = /^\s*(query|mutation|subscription)\b\s*([_A-Za-z][_0-9A-Za-z]*)?/.exec(withoutComments);
  if (!match) return { operation: 'anonymous query', kind: 'query' };
  const kind = match[1] as 'query' | 'mutation' | 'subscription';
  return { operation: match[2] ?? `anonymous ${kind}`, kind };
}

function cancelled(operation: string, signal: AbortSignal | undefined): PlatformError {
  return new PlatformError(
    `OpenCTI ${operation} was cancelled`,
    { operation, retryable: false },
    { cause: signal?.reason },
  );
}

function parseAnswer<S extends z.ZodType>(schema: S, value: unknown, operation: string): z.infer<S> {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  const problems = parsed.error.issues
    .slice(0, 3)
    .map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`)
    .join('; ');
  throw new PlatformError(`OpenCTI ${operation} returned an unexpected answer (${problems})`, {
    operation,
    retryable: false,
  });
}

const registeredSchema = z.object({
  id: z.string().min(1),
  connector_state: z
    .string()
    .nullish()
    .transform((v) => v ?? null),
  connector_user_id: z
    .string()
    .nullish()
    .transform((v) => v ?? null),
  config: z.object({
    connection: z.object({
      host: z.string(),
      vhost: z.string(),
      use_ssl: z.boolean(),
      port: z.number(),
      user: z.string(),
      pass: z.string(),
    }),
    listen: z.string(),
    listen_routing: z.string(),
    listen_exchange: z.string(),
    push: z.string(),
    push_routing: z.string(),
    push_exchange: z.string(),
  }),
});

const connectorInfoSchema = z.object({
  run_and_terminate: z.boolean(),
  buffering: z.boolean(),
  queue_threshold: z.number(),
  queue_messages_size: z.number(),
  next_run_datetime: z
    .string()
    .nullish()
    .transform((v) => v ?? null),
  last_run_datetime: z
    .string()
    .nullish()
    .transform((v) => v ?? null),
});

const pingSchema = z.object({
  id: z.string().min(1),
  connector_state: z
    .string()
    .nullish()
    .transform((v) => v ?? null),
  connector_info: connectorInfoSchema.nullish().transform((v) => v ?? null),
});

const queueSchema = z.object({
  connector_queue_details: z.object({ messages_number: z.number(), messages_size: z.number() }),
});

/** Whether node:http sends this header name (an HTTP token); it would refuse it at every request otherwise. */
function isHeaderName(name: string): boolean {
  try {
    validateHeaderName(name);
    return true;
  } catch {
    return false;
  }
}

/** Whether node:http sends this value: tab, visible ASCII and space, latin1 bytes; no line break. */
function isHeaderValue(name: string, value: string): boolean {
  try {
    validateHeaderValue(name, value);
    return true;
  } catch {
    return false;
  }
}
