/**
 * What the stand-in platform saw, kept for assertions: GraphQL requests, push-queue messages, ingested STIX
 * objects and playbook step results. Every record carries a sequence number shared across kinds, so a test
 * can also assert ordering between them.
 */

/** One GraphQL request as received. Secrets (the Authorization header) are never recorded. */
export interface RecordedRequest {
  seq: number;
  at: string;
  /** The operation's name (`operationName` in the body, else the name in the document), or null. */
  operationName: string | null;
  /** 'query' | 'mutation' | null when the document did not parse. */
  operationType: string | null;
  /** The root fields selected, e.g. ['pingConnector'] or ['workEdit']. */
  rootFields: string[];
  query: string;
  variables: Record<string, unknown>;
  headers: {
    userAgent: string | undefined;
    /** undefined when the header was absent (distinct from an empty value). */
    applicantId: string | undefined;
    draftId: string | undefined;
    workId: string | undefined;
    contentType: string | undefined;
    /** True when an Authorization header was sent (its value is never recorded). */
    hasAuthorization: boolean;
  };
  /** Whether the Bearer token matched. */
  authenticated: boolean;
  /** The HTTP status answered (0 when the socket was dropped by a fault). */
  status: number;
  /** The errors answered, if any. */
  errors: Array<{ message: string; code?: string }>;
  /** True when an injected fault answered instead of the platform. */
  faulted: boolean;
}

/** A request filter: an operation or root-field name, an object of criteria, or a predicate. */
export type RequestFilter =
  | string
  | { operation?: string; rootField?: string; faulted?: boolean; authenticated?: boolean }
  | ((request: RecordedRequest) => boolean);

export function matchesRequest(request: RecordedRequest, filter: RequestFilter | undefined): boolean {
  if (filter === undefined) return true;
  if (typeof filter === 'function') return filter(request);
  if (typeof filter === 'string') return request.operationName === filter || request.rootFields.includes(filter);
  if (filter.operation !== undefined && request.operationName !== filter.operation) return false;
  if (filter.rootField !== undefined && !request.rootFields.includes(filter.rootField)) return false;
  if (filter.faulted !== undefined && request.faulted !== filter.faulted) return false;
  if (filter.authenticated !== undefined && request.authenticated !== filter.authenticated) return false;
  return true;
}

/** The push-message fields the worker reads, decoded from the message body. */
export interface PushEnvelope {
  type?: unknown;
  bundle_type?: unknown;
  applicant_id?: unknown;
  action_sequence?: unknown;
  entities_types?: unknown;
  update?: unknown;
  draft_id?: unknown;
  work_id?: unknown;
  no_split?: unknown;
  /** Every other key of the message, so nothing a publisher adds goes unseen. */
  [key: string]: unknown;
}

/**
 * What the worker did with a message:
 * - 'ingested': its objects were recorded and reported;
 * - 'rejected': nacked without requeue and without any report (invalid JSON, invalid content, no objects);
 * - 'dropped': acked without processing because its work is no longer alive (the 7.x worker).
 */
export type PushOutcome = 'ingested' | 'rejected' | 'dropped';

export interface PushMessageRecord {
  seq: number;
  at: string;
  connectorId: string;
  queue: string;
  /** The parsed message (null when the body is not JSON). `content` stays base64 here. */
  envelope: PushEnvelope | null;
  /** The decoded `content` when it parsed as JSON (the bundle). */
  bundle: Record<string, unknown> | null;
  outcome: PushOutcome;
  /** Why a message was rejected or dropped. */
  reason?: string;
  /** The number of STIX objects recorded from this message. */
  objectCount: number;
  properties: {
    deliveryMode: number | undefined;
    contentEncoding: string | undefined;
    contentType: string | undefined;
    headers: Record<string, unknown> | undefined;
  };
  /** Size of the raw body in bytes. */
  bodyBytes: number;
  /** The raw body, for messages that did not parse. */
  rawBody?: string;
}

/** A STIX object the worker ingested. */
export interface IngestedObject {
  seq: number;
  at: string;
  connectorId: string;
  workId: string | null;
  applicantId: string | null;
  draftId: string | null;
  update: boolean;
  object: Record<string, unknown>;
}

/** A `playbookStepExecution` call, with its bundles parsed when they are JSON. */
export interface PlaybookStepRecord {
  seq: number;
  at: string;
  variables: {
    execution_id: string;
    event_id: string;
    execution_start: string;
    data_instance_id: string;
    playbook_id: string;
    previous_step_id: string;
    step_id: string;
    previous_bundle: string;
    bundle: string;
  };
  bundle: Record<string, unknown> | null;
  previousBundle: Record<string, unknown> | null;
}

/** A message published to a listen queue by the platform. */
export interface ListenMessageRecord {
  seq: number;
  at: string;
  connectorId: string;
  kind: 'enrichment' | 'playbook' | 'raw';
  body: string;
  workId: string | null;
}

/**
 * A bundle a connector sent for review as a workbench file (`uploadPending`): the pending file as the
 * platform keeps it (`import/pending/<name>`; the same name again replaces it).
 */
export interface WorkbenchFileRecord {
  seq: number;
  at: string;
  /** `import/pending/<name>`, the platform's file id. */
  id: string;
  name: string;
  mimeType: string;
  entityId: string | null;
  fileMarkings: string[];
  /** The user the upload was made as. */
  userId: string;
  /** The draft context of the request, when it had one. */
  draftId: string | null;
  content: string;
  /** The content parsed, when it is a JSON object (a bundle). */
  bundle: Record<string, unknown> | null;
}

/** A draft a connector created (`draftWorkspaceAdd`) to send its bundles into. */
export interface DraftRecord {
  seq: number;
  at: string;
  id: string;
  name: string;
  entityId: string | null;
  userId: string;
}

export class Recorder {
  readonly requests: RecordedRequest[] = [];
  readonly workbenchFiles: WorkbenchFileRecord[] = [];
  readonly drafts: DraftRecord[] = [];
  readonly pushMessages: PushMessageRecord[] = [];
  readonly objects: IngestedObject[] = [];
  readonly playbookSteps: PlaybookStepRecord[] = [];
  readonly listenMessages: ListenMessageRecord[] = [];
  #seq = 0;

  nextSeq(): number {
    this.#seq += 1;
    return this.#seq;
  }
}

export function parseJsonObject(text: string): Record<string, unknown> | null {
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === 'object' && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : null;
  } catch {
    return null;
  }
}
