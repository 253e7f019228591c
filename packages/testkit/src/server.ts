/**
 * The GraphQL endpoint (`POST /graphql`) on 127.0.0.1, answering like the platform:
 *
 * - `Authorization: Bearer <token>`; a missing or wrong token gets HTTP 200 with
 *   `{"errors":[{"message":"You must be logged in","extensions":{"code":"AUTH_REQUIRED"}}]}`;
 * - `opencti-applicant-id` impersonates that user (the token's user has BYPASS), `opencti-draft-id` is the
 *   draft context, and a request carrying `opencti-work-id` of a work that is not alive is refused with
 *   WORK_NOT_ALIVE (6.9.19+);
 * - a document that does not parse or validate gets HTTP 400 (Apollo's GRAPHQL_PARSE_FAILED /
 *   GRAPHQL_VALIDATION_FAILED); business errors come back with HTTP 200, `extensions.code` and `name`.
 *
 * Every request is recorded (operation, variables, the headers connectors set) before faults and
 * authentication apply, so tests can assert on what was sent even when it failed.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse, STATUS_CODES } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  type DocumentNode,
  execute,
  GraphQLError,
  type GraphQLSchema,
  getOperationAST,
  NoSchemaIntrospectionCustomRule,
  type OperationDefinitionNode,
  parse,
  specifiedRules,
  validate,
} from 'graphql';
import type { FaultInjector, GraphqlFaultSpec } from './faults.js';
import type { RecordedRequest, Recorder } from './records.js';
import { mutationRoot, type PlatformUser, queryRoot, type RequestContext, type ResolverServices } from './resolvers.js';

export interface GraphqlServerOptions {
  token: string;
  /** The schema this platform answers with (its version's registration input). */
  schema: GraphQLSchema;
  /** Whether `__schema`/`__type` introspection is allowed (a platform may disable it). */
  introspection: boolean;
  port: number;
  services: ResolverServices;
  recorder: Recorder;
  faults: FaultInjector;
  /** The user the token authenticates. */
  tokenUser: PlatformUser;
  /** Whether `opencti-applicant-id` is honoured (the token's user has BYPASS). */
  bypass: boolean;
  isWorkAlive(workId: string): boolean;
  changed(): void;
}

interface GraphqlBody {
  query?: unknown;
  variables?: unknown;
  operationName?: unknown;
}

interface Answer {
  status: number;
  body: Record<string, unknown>;
}

export const AUTH_REQUIRED_BODY = {
  errors: [{ message: 'You must be logged in', extensions: { code: 'AUTH_REQUIRED' } }],
};

const WORK_NOT_ALIVE_MESSAGE = 'Work is no longer alive, no request can be done within the context of this work';

const header = (req: IncomingMessage, name: string): string | undefined => {
  const value = req.headers[name];
  return Array.isArray(value) ? value.join(', ') : value;
};

export class GraphqlServer {
  readonly #options: GraphqlServerOptions;
  readonly #query: Record<string, unknown>;
  readonly #mutation: Record<string, unknown>;
  #server: Server | undefined;
  #port: number;

  constructor(options: GraphqlServerOptions) {
    this.#options = options;
    this.#port = options.port;
    this.#query = queryRoot(options.services);
    this.#mutation = mutationRoot(options.services);
  }

  /** Base URL (`http://127.0.0.1:<port>`); connectors get it as OPENCTI_URL. */
  get url(): string {
    return `http://127.0.0.1:${this.#port}`;
  }

  get listening(): boolean {
    return this.#server?.listening === true;
  }

  /** Listens on 127.0.0.1 (on the same port as before after a `stop()`). */
  async start(): Promise<void> {
    if (this.listening) return;
    const server = createServer((req, res) => {
      void this.#handle(req, res).catch(() => {
        if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/json' });
        res.end(
          JSON.stringify({ errors: [{ message: 'Internal testkit error', extensions: { code: 'UNKNOWN_ERROR' } }] }),
        );
      });
    });
    // Keep-alive sockets would hold the port after stop(); the platform does not keep them long either.
    server.keepAliveTimeout = 5_000;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.#port, '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
    this.#port = (server.address() as AddressInfo).port;
    this.#server = server;
  }

  /** Stops answering: closes the listener and every open connection (the platform is "down"). */
  async stop(): Promise<void> {
    const server = this.#server;
    if (server === undefined) return;
    this.#server = undefined;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeAllConnections();
    await closed;
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '/').split('?')[0];
    if (path !== '/graphql') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('Not found');
      return;
    }
    if (req.method !== 'POST') {
      res.writeHead(405, { 'content-type': 'text/plain', allow: 'POST' }).end('Method not allowed');
      return;
    }
    const raw = await readBody(req);
    const { recorder, faults, changed } = this.#options;
    const contentType = header(req, 'content-type') ?? '';
    const body: GraphqlBody | null = /^multipart\/form-data/i.test(contentType)
      ? await parseMultipart(raw, contentType)
      : parseJsonBody(raw.toString('utf8'));
    const query = typeof body?.query === 'string' ? body.query : '';
    const variables =
      typeof body?.variables === 'object' && body.variables !== null ? (body.variables as Record<string, unknown>) : {};
    const requestedName = typeof body?.operationName === 'string' ? body.operationName : undefined;
    const document = parseCached(query);
    const operation = document === undefined ? null : (getOperationAST(document, requestedName) ?? null);
    const authorization = header(req, 'authorization');
    const record: RecordedRequest = {
      seq: recorder.nextSeq(),
      at: this.#options.services.now().toISOString(),
      operationName: requestedName ?? operation?.name?.value ?? null,
      operationType: operation?.operation ?? null,
      rootFields: operation === null ? [] : rootFieldsOf(operation),
      query,
      variables,
      headers: {
        userAgent: header(req, 'user-agent'),
        applicantId: header(req, 'opencti-applicant-id'),
        draftId: header(req, 'opencti-draft-id'),
        workId: header(req, 'opencti-work-id'),
        contentType: header(req, 'content-type'),
        hasAuthorization: authorization !== undefined,
      },
      authenticated: isBearer(authorization, this.#options.token),
      status: 0,
      errors: [],
      faulted: false,
    };
    recorder.requests.push(record);
    changed();

    const fault = faults.takeGraphql(record.operationName, record.rootFields);
    if (fault !== undefined) {
      const answered = await this.#applyFault(fault, req, res, record);
      if (answered) return;
    }

    const answer = await this.#answer(record, body, document, operation, variables, requestedName);
    record.status = answer.status;
    record.errors = errorsOf(answer.body);
    changed();
    res.writeHead(answer.status, { 'content-type': 'application/json; charset=utf-8' });
    res.end(JSON.stringify(answer.body));
  }

  /** Applies a fault; true when it answered (or dropped) the request itself. */
  async #applyFault(
    fault: GraphqlFaultSpec,
    req: IncomingMessage,
    res: ServerResponse,
    record: RecordedRequest,
  ): Promise<boolean> {
    record.faulted = true;
    if (fault.delayMs !== undefined && fault.delayMs > 0) await sleep(fault.delayMs);
    if (fault.drop === true) {
      record.status = 0;
      this.#options.changed();
      req.socket.destroy();
      return true;
    }
    if (fault.status !== undefined) {
      record.status = fault.status;
      this.#options.changed();
      const text =
        fault.body ?? `<html><body><h1>${fault.status} ${STATUS_CODES[fault.status] ?? ''}</h1></body></html>`;
      res.writeHead(fault.status, { 'content-type': 'text/html' }).end(text);
      return true;
    }
    if (fault.error !== undefined) {
      const body = { errors: [fault.error], data: null };
      record.status = 200;
      record.errors = errorsOf(body);
      this.#options.changed();
      res.writeHead(200, { 'content-type': 'application/json; charset=utf-8' }).end(JSON.stringify(body));
      return true;
    }
    return false;
  }

  async #answer(
    record: RecordedRequest,
    body: GraphqlBody | null,
    document: DocumentNode | undefined,
    operation: OperationDefinitionNode | null,
    variables: Record<string, unknown>,
    operationName: string | undefined,
  ): Promise<Answer> {
    if (body === null) {
      return requestError(400, 'BAD_REQUEST', 'POST body must be a JSON object with a "query"');
    }
    if (!record.authenticated) {
      return { status: 200, body: structuredClone(AUTH_REQUIRED_BODY) };
    }
    const workId = record.headers.workId;
    if (workId !== undefined && workId !== '' && !this.#options.isWorkAlive(workId)) {
      return {
        status: 500,
        body: {
          errors: [formatError(new GraphQLError(WORK_NOT_ALIVE_MESSAGE, { extensions: { code: 'WORK_NOT_ALIVE' } }))],
        },
      };
    }
    if (document === undefined) {
      try {
        parse(typeof body.query === 'string' ? body.query : '');
      } catch (err) {
        const message = err instanceof Error ? err.message : 'Syntax error';
        return requestError(400, 'GRAPHQL_PARSE_FAILED', message);
      }
    }
    if (document === undefined || operation === null) {
      return requestError(400, 'BAD_REQUEST', 'No operation to execute in the document');
    }
    const schema = this.#options.schema;
    const validationErrors = validateCached(schema, document, this.#options.introspection);
    if (validationErrors.length > 0) {
      return {
        status: 400,
        body: {
          errors: validationErrors.map((e) =>
            formatError(
              new GraphQLError(e.message, { nodes: e.nodes, extensions: { code: 'GRAPHQL_VALIDATION_FAILED' } }),
            ),
          ),
        },
      };
    }
    const context: RequestContext = { user: this.#caller(record), draftId: record.headers.draftId };
    const result = await execute({
      schema,
      document,
      rootValue: operation.operation === 'mutation' ? this.#mutation : this.#query,
      contextValue: context,
      variableValues: variables,
      operationName: operationName ?? null,
    });
    const errors = result.errors?.map((e) => formatError(e));
    if (!('data' in result) || result.data === undefined) {
      // Variables that do not coerce: a request error, which Apollo answers with 400 BAD_USER_INPUT.
      return {
        status: 400,
        body: { errors: (result.errors ?? []).map((e) => formatError(e, 'BAD_USER_INPUT')) },
      };
    }
    return { status: 200, body: errors === undefined ? { data: result.data } : { errors, data: result.data } };
  }

  #caller(record: RecordedRequest): PlatformUser {
    const applicant = record.headers.applicantId;
    if (this.#options.bypass && applicant !== undefined && applicant !== '') {
      return this.#options.services.user(applicant);
    }
    return this.#options.tokenUser;
  }
}

function rootFieldsOf(operation: OperationDefinitionNode): string[] {
  return operation.selectionSet.selections.flatMap((selection) =>
    selection.kind === 'Field' ? [selection.name.value] : [],
  );
}

function isBearer(authorization: string | undefined, token: string): boolean {
  if (authorization === undefined) return false;
  const [scheme, value, ...rest] = authorization.trim().split(/\s+/);
  return rest.length === 0 && scheme?.toLowerCase() === 'bearer' && value === token;
}

/** The platform's error shape: graphql-js fields plus `name` = the error code. */
function formatError(error: GraphQLError, defaultCode = 'UNKNOWN_ERROR'): Record<string, unknown> {
  const json = error.toJSON() as unknown as Record<string, unknown>;
  const extensions = (json.extensions as Record<string, unknown> | undefined) ?? {};
  const code = typeof extensions.code === 'string' ? extensions.code : defaultCode;
  return { ...json, name: code, extensions: { ...extensions, code } };
}

function requestError(status: number, code: string, message: string): Answer {
  return { status, body: { errors: [{ message, name: code, extensions: { code } }] } };
}

function errorsOf(body: Record<string, unknown>): RecordedRequest['errors'] {
  const errors = Array.isArray(body.errors) ? (body.errors as Array<Record<string, unknown>>) : [];
  return errors.map((e) => {
    const extensions = e.extensions as Record<string, unknown> | undefined;
    const code = typeof extensions?.code === 'string' ? extensions.code : undefined;
    return code === undefined ? { message: String(e.message) } : { message: String(e.message), code };
  });
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

function parseJsonBody(text: string): GraphqlBody | null {
  try {
    const parsed: unknown = JSON.parse(text);
    return typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed) ? (parsed as GraphqlBody) : null;
  } catch {
    return null;
  }
}

/** A file received through a GraphQL multipart request: what an `Upload` variable holds here. */
export interface UploadedFile {
  filename: string;
  mimetype: string;
  content: Buffer;
}

/**
 * A GraphQL multipart request (the spec graphql-upload implements, as the platform does): `operations` is
 * the JSON body with null where files go, `map` says which form field fills which variable path. Parsed
 * with the runtime's own multipart reader (undici's FormData); anything malformed is a bad request.
 */
async function parseMultipart(raw: Buffer, contentType: string): Promise<GraphqlBody | null> {
  let form: FormData;
  try {
    form = await new Response(new Uint8Array(raw), { headers: { 'content-type': contentType } }).formData();
  } catch {
    return null;
  }
  const operations = form.get('operations');
  const map = form.get('map');
  if (typeof operations !== 'string' || typeof map !== 'string') return null;
  const body = parseJsonBody(operations);
  let paths: unknown;
  try {
    paths = JSON.parse(map);
  } catch {
    return null;
  }
  if (body === null || typeof paths !== 'object' || paths === null) return null;
  for (const [field, targets] of Object.entries(paths as Record<string, unknown>)) {
    const file = form.get(field);
    if (!(file instanceof Blob) || !Array.isArray(targets)) return null;
    const uploaded: UploadedFile = {
      filename: (file as Blob & { name?: string }).name ?? field,
      mimetype: file.type,
      content: Buffer.from(await file.arrayBuffer()),
    };
    for (const target of targets) {
      if (typeof target !== 'string' || !setPath(body, target.split('.'), uploaded)) return null;
    }
  }
  return body;
}

/** Sets `value` at `path` inside `root` (objects and arrays that already exist); false when the path is absent. */
function setPath(root: unknown, path: readonly string[], value: unknown): boolean {
  let node: unknown = root;
  for (const [index, key] of path.entries()) {
    if (typeof node !== 'object' || node === null) return false;
    const container = node as Record<string, unknown>;
    if (index === path.length - 1) {
      if (!(key in container)) return false;
      container[key] = value;
      return true;
    }
    node = container[key];
  }
  return false;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Parsed and validated documents by query text, as Apollo's document cache does: a connector sends the
 * same few documents thousands of times, and parsing and validating each again dominated the cost of a
 * request.
 */
const parsedDocuments = new Map<string, DocumentNode | undefined>();
const validations = new WeakMap<GraphQLSchema, Map<boolean, WeakMap<DocumentNode, readonly GraphQLError[]>>>();
const DOCUMENT_CACHE_LIMIT = 500;

function parseCached(query: string): DocumentNode | undefined {
  if (parsedDocuments.has(query)) return parsedDocuments.get(query);
  let document: DocumentNode | undefined;
  try {
    document = parse(query);
  } catch {
    document = undefined;
  }
  if (parsedDocuments.size >= DOCUMENT_CACHE_LIMIT) parsedDocuments.clear();
  parsedDocuments.set(query, document);
  return document;
}

function validateCached(
  schema: GraphQLSchema,
  document: DocumentNode,
  introspection: boolean,
): readonly GraphQLError[] {
  let bySchema = validations.get(schema);
  if (bySchema === undefined) {
    bySchema = new Map();
    validations.set(schema, bySchema);
  }
  let byDocument = bySchema.get(introspection);
  if (byDocument === undefined) {
    byDocument = new WeakMap();
    bySchema.set(introspection, byDocument);
  }
  let errors = byDocument.get(document);
  if (!errors) {
    errors = validate(
      schema,
      document,
      introspection ? specifiedRules : [...specifiedRules, NoSchemaIntrospectionCustomRule],
    );
    byDocument.set(document, errors);
  }
  return errors;
}
