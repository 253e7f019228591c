/**
 * The platform's resolvers for the operations a connector uses, as root values over the stores. Errors are
 * GraphQL errors shaped like the platform's (`extensions.code`, `name`); see server.ts for the wire format.
 */
import { GraphQLError } from 'graphql';
import {
  type ConnectorInfo,
  ConnectorNotFoundError,
  type ConnectorRecord,
  type RegisterConnectorInput,
  splitScope,
} from './connectors.js';
import type { StoredEntity } from './entities.js';
import { internalIdFor } from './ids.js';
import type { PlaybookStepRecord } from './records.js';
import type { UploadedFile } from './server.js';
import type { BrokerConnection, ConnectorQueueNames } from './topology.js';
import type { WorkDocument, WorkStore } from './works.js';

/** A user of the stand-in platform. */
export interface PlatformUser {
  id: string;
  name: string;
}

/** Per-request context: who is calling (after `opencti-applicant-id` impersonation). */
export interface RequestContext {
  user: PlatformUser;
  draftId: string | undefined;
}

export interface EnrichmentRequest {
  mode: 'manual' | 'auto';
  userId: string;
  draftId?: string | null;
}

/** What the resolvers need from the platform facade. */
export interface ResolverServices {
  readonly version: string;
  readonly works: WorkStore;
  now(): Date;
  user(id: string): PlatformUser;
  connector(id: string): ConnectorRecord | undefined;
  connectors(): ConnectorRecord[];
  isActive(record: ConnectorRecord): boolean;
  entity(id: string): StoredEntity | undefined;
  brokerConnection(): BrokerConnection;
  queueNames(connectorId: string): ConnectorQueueNames;
  queueDetails(connectorId: string): Promise<{ messages_number: number; messages_size: number }>;
  registerConnector(input: RegisterConnectorInput, userId: string): Promise<ConnectorRecord>;
  pingConnector(id: string, state: string | null, info: ConnectorInfo | null): Promise<ConnectorRecord>;
  resetState(id: string): Promise<ConnectorRecord>;
  deleteConnector(id: string): Promise<void>;
  askEnrichment(connectorId: string, entityId: string, request: EnrichmentRequest): Promise<WorkDocument>;
  stixBundlePush(connectorId: string, bundle: string, workId: string | null, userId: string): Promise<void>;
  recordPlaybookStep(variables: PlaybookStepRecord['variables']): void;
  uploadPending(
    file: UploadedFile,
    options: { entityId: string | null; fileMarkings: string[]; userId: string; draftId: string | null },
  ): { id: string; name: string };
  draftWorkspaceAdd(input: { name: string; entityId: string | null; userId: string }): {
    id: string;
    name: string;
    entity_id: string | null;
  };
}

/** A business error as the platform raises it (`FunctionalError`, `UnsupportedError`...). */
export function platformError(code: string, message: string, httpStatus = 400): GraphQLError {
  return new GraphQLError(message, {
    extensions: { code, data: { http_status: httpStatus, genre: 'BUSINESS' } },
  });
}

const functionalError = (message: string): GraphQLError => platformError('FUNCTIONAL_ERROR', message);

type Args = Record<string, unknown>;

const str = (value: unknown): string | null => (typeof value === 'string' ? value : null);

/** The static S3 settings handed out in `config.s3` (the testkit has no object store). */
const S3_CONNECTION = {
  endpoint: '127.0.0.1',
  port: 9000,
  use_ssl: false,
  bucket_name: 'opencti-bucket',
  bucket_region: 'us-east-1',
  access_key: 'testkit-s3-access-key',
  secret_key: 'testkit-s3-secret-key',
};

function userView(user: PlatformUser): Record<string, unknown> {
  return {
    __typename: 'User',
    id: user.id,
    standard_id: `user--${internalIdFor(user.id)}`,
    entity_type: 'User',
    parent_types: ['Basic-Object', 'Internal-Object'],
    name: user.name,
  };
}

export function connectorView(record: ConnectorRecord, svc: ResolverServices): Record<string, unknown> {
  const names = svc.queueNames(record.id);
  return {
    __typename: 'Connector',
    id: record.id,
    standard_id: `connector--${internalIdFor(record.id)}`,
    entity_type: 'Connector',
    parent_types: ['Basic-Object', 'Internal-Object'],
    name: record.name,
    title: record.name,
    active: svc.isActive(record),
    auto: record.auto,
    auto_update: record.auto_update,
    enrichment_resolution: record.enrichment_resolution,
    only_contextual: record.only_contextual,
    playbook_compatible: record.playbook_compatible,
    connector_trigger_filters: null,
    connector_type: record.connector_type,
    connector_scope: splitScope(record.connector_scope),
    connector_state: record.connector_state,
    connector_state_reset: record.connector_state_reset,
    connector_state_timestamp: record.connector_state_timestamp,
    connector_user_id: record.connector_user_id,
    connector_user: () => userView(svc.user(record.connector_user_id)),
    connector_queue_details: () => svc.queueDetails(record.id),
    connector_info: record.connector_info,
    connector_priority_group: record.connector_priority_group,
    updated_at: record.updated_at,
    refreshed_at: record.updated_at,
    created_at: record.created_at,
    config: {
      connection: svc.brokerConnection(),
      s3: S3_CONNECTION,
      listen: names.listen,
      listen_routing: names.listen_routing,
      listen_exchange: names.listen_exchange,
      listen_callback_uri: record.listen_callback_uri,
      push: names.push,
      push_routing: names.push_routing,
      push_exchange: names.push_exchange,
      dead_letter_routing: names.dead_letter_routing,
    },
    works: (args: Args) =>
      svc.works
        .documentsOf(record.id)
        .filter((w) => args.status == null || w.status === args.status)
        .map((w) => workView(w, svc)),
    is_managed: false,
    built_in: record.built_in,
  };
}

export function workView(doc: WorkDocument, svc: ResolverServices): Record<string, unknown> {
  const user = svc.user(doc.user_id);
  const message = (m: WorkDocument['messages'][number]) => ({
    timestamp: m.timestamp,
    message: m.message,
    sequence: m.sequence ?? null,
    source: m.source ?? null,
  });
  return {
    __typename: 'Work',
    ...doc,
    user: { id: user.id, name: user.name, entity_type: 'User' },
    connector: () => {
      const record = svc.connector(doc.connector_id);
      return record === undefined ? null : connectorView(record, svc);
    },
    messages: doc.messages.map(message),
    errors: doc.errors.map(message),
    tracking: () => ({ ...svc.works.tracking(doc.id), import_last_processed: svc.works.lastProcessed(doc.id) }),
  };
}

function markingView(marking: StoredEntity['objectMarking'][number]): Record<string, unknown> {
  return {
    __typename: 'MarkingDefinition',
    ...marking,
    representative: { main: marking.definition, secondary: null },
    x_opencti_stix_ids: [],
    is_inferred: false,
    spec_version: '2.1',
  };
}

function metaView(entity: StoredEntity): Record<string, unknown> {
  return {
    representative: { main: entity.standard_id, secondary: null },
    x_opencti_stix_ids: [],
    is_inferred: false,
    spec_version: '2.1',
    created_at: entity.created_at,
    updated_at: entity.updated_at,
    created: entity.created_at,
    modified: entity.updated_at,
  };
}

function pageInfo(count: number): Record<string, unknown> {
  return { startCursor: '', endCursor: '', hasNextPage: false, hasPreviousPage: false, globalCount: count };
}

/** The GraphQL object of a stored entity, for any of the modelled types. */
export function entityView(entity: StoredEntity, svc: ResolverServices): Record<string, unknown> {
  const a = entity.attributes;
  const observableValue =
    entity.entity_type === 'Autonomous-System'
      ? String(a.number ?? '')
      : typeof a.value === 'string'
        ? a.value
        : undefined;
  const main = observableValue ?? (typeof a.name === 'string' ? a.name : entity.standard_id);
  return {
    __typename: entity.typename,
    id: entity.id,
    standard_id: entity.standard_id,
    entity_type: entity.entity_type,
    parent_types: entity.parent_types,
    ...metaView(entity),
    representative: { main, secondary: typeof a.description === 'string' ? a.description : null },
    revoked: false,
    confidence: 100,
    lang: 'en',
    ...a,
    observable_value: observableValue,
    createdBy: entity.createdBy === null ? null : entityView(entity.createdBy, svc),
    objectMarking: entity.objectMarking.map(markingView),
    objectOrganization: entity.grantedRefs.flatMap((id) => {
      const organization = svc.entity(id);
      return organization === undefined ? [] : [entityView(organization, svc)];
    }),
    objectLabel: entity.objectLabel.map((label) => ({
      __typename: 'Label',
      ...label,
      parent_types: ['Basic-Object', 'Stix-Object', 'Stix-Meta-Object'],
      ...metaView(entity),
      representative: { main: label.value, secondary: null },
    })),
    externalReferences: (args: Args) => {
      const first = typeof args.first === 'number' ? args.first : undefined;
      const refs = first === undefined ? entity.externalReferences : entity.externalReferences.slice(0, first);
      return {
        pageInfo: pageInfo(entity.externalReferences.length),
        edges: refs.map((ref) => ({
          cursor: ref.id,
          node: {
            __typename: 'ExternalReference',
            ...ref,
            parent_types: ['Basic-Object', 'Stix-Object', 'Stix-Meta-Object'],
            ...metaView(entity),
            representative: { main: ref.source_name, secondary: null },
            hash: null,
          },
        })),
      };
    },
    jobs: (args: Args) => {
      const works = svc.works.allDocuments().filter((w) => w.event_source_id === entity.standard_id);
      const first = typeof args.first === 'number' ? args.first : works.length;
      return works.slice(0, first).map((w) => workView(w, svc));
    },
  };
}

// --- works(filters) ---------------------------------------------------------------------------------

interface FilterInput {
  key?: unknown;
  values?: unknown;
  operator?: unknown;
  mode?: unknown;
}
interface FilterGroupInput {
  mode?: unknown;
  filters?: unknown;
  filterGroups?: unknown;
}

function matchesFilter(doc: WorkDocument, filter: FilterInput): boolean {
  const keys = Array.isArray(filter.key) ? filter.key.map(String) : [];
  const values = Array.isArray(filter.values) ? filter.values.map(String) : [];
  const operator = typeof filter.operator === 'string' ? filter.operator : 'eq';
  const combine = filter.mode === 'and' ? 'every' : 'some';
  const record = doc as unknown as Record<string, unknown>;
  return keys.some((key) => {
    const field = record[key];
    const actual = field === null || field === undefined ? null : String(field);
    if (operator === 'nil') return actual === null;
    if (operator === 'not_nil') return actual !== null;
    const hit = (value: string): boolean => actual === value;
    const matched = values[combine](hit);
    return operator === 'not_eq' ? !matched : matched;
  });
}

function matchesGroup(doc: WorkDocument, group: FilterGroupInput | null | undefined): boolean {
  if (group === null || group === undefined) return true;
  const filters = Array.isArray(group.filters) ? (group.filters as FilterInput[]) : [];
  const groups = Array.isArray(group.filterGroups) ? (group.filterGroups as FilterGroupInput[]) : [];
  const results = [...filters.map((f) => matchesFilter(doc, f)), ...groups.map((g) => matchesGroup(doc, g))];
  if (results.length === 0) return true;
  return group.mode === 'or' ? results.some(Boolean) : results.every(Boolean);
}

// --- root values ------------------------------------------------------------------------------------

function requireConnector(svc: ResolverServices, id: string): ConnectorRecord {
  const record = svc.connector(id);
  if (record === undefined) throw functionalError('No connector found with the specified ID');
  return record;
}

async function mapNotFound<T>(operation: () => Promise<T>): Promise<T> {
  try {
    return await operation();
  } catch (err) {
    if (err instanceof ConnectorNotFoundError) throw functionalError(err.message);
    throw err;
  }
}

export function queryRoot(svc: ResolverServices): Record<string, unknown> {
  return {
    about: () => ({ version: svc.version }),
    connector: (args: Args) => {
      const record = svc.connector(String(args.id));
      return record === undefined ? null : connectorView(record, svc);
    },
    connectors: () => svc.connectors().map((record) => connectorView(record, svc)),
    connectorsForWorker: () => svc.connectors().map((record) => connectorView(record, svc)),
    work: (args: Args) => {
      const doc = svc.works.document(String(args.id));
      return doc === undefined ? null : workView(doc, svc);
    },
    works: (args: Args) => {
      const orderMode = args.orderMode === 'asc' ? 1 : -1;
      const orderBy = args.orderBy === 'status' ? 'status' : 'timestamp';
      const docs = svc.works
        .allDocuments()
        .filter((doc) => matchesGroup(doc, args.filters as FilterGroupInput | null))
        .sort((x, y) => (x[orderBy] < y[orderBy] ? -orderMode : x[orderBy] > y[orderBy] ? orderMode : 0));
      const first = typeof args.first === 'number' ? args.first : docs.length;
      return {
        pageInfo: { ...pageInfo(docs.length), hasNextPage: docs.length > first },
        edges: docs.slice(0, first).map((doc) => ({ cursor: doc.id, node: workView(doc, svc) })),
      };
    },
    isWorkAlive: (args: Args) => svc.works.isAlive(String(args.id)),
    stixCoreObject: (args: Args) => {
      const entity = svc.entity(String(args.id));
      return entity === undefined ? null : entityView(entity, svc);
    },
    stixCyberObservable: (args: Args) => {
      const entity = svc.entity(String(args.id));
      return entity?.parent_types.includes('Stix-Cyber-Observable') ? entityView(entity, svc) : null;
    },
    stixDomainObject: (args: Args) => {
      const entity = svc.entity(String(args.id));
      return entity?.parent_types.includes('Stix-Domain-Object') ? entityView(entity, svc) : null;
    },
  };
}

export function mutationRoot(svc: ResolverServices): Record<string, unknown> {
  return {
    registerConnector: async (args: Args, ctx: RequestContext) => {
      const input = args.input as RegisterConnectorInput | null | undefined;
      if (input === null || input === undefined) throw functionalError('Missing connector registration input');
      if (input.name.trim().length < 2) throw functionalError('Connector name must be at least 2 characters');
      return connectorView(await svc.registerConnector(input, ctx.user.id), svc);
    },
    pingConnector: async (args: Args) => {
      const record = await mapNotFound(() =>
        svc.pingConnector(
          String(args.id),
          str(args.state),
          (args.connectorInfo as ConnectorInfo | null | undefined) ?? null,
        ),
      );
      return connectorView(record, svc);
    },
    resetStateConnector: async (args: Args) =>
      connectorView(await mapNotFound(() => svc.resetState(String(args.id))), svc),
    deleteConnector: async (args: Args) => {
      const id = String(args.id);
      requireConnector(svc, id);
      await svc.deleteConnector(id);
      return id;
    },
    workAdd: (args: Args, ctx: RequestContext) => {
      const record = requireConnector(svc, String(args.connectorId));
      const doc = svc.works.create({
        connectorId: record.id,
        connectorType: record.connector_type,
        name: str(args.friendlyName),
        sourceId: record.id,
        userId: ctx.user.id,
        receivedTime: svc.now().toISOString(),
      });
      return workView(doc, svc);
    },
    workEdit: (args: Args) => {
      const id = String(args.id);
      const works = svc.works;
      return {
        delete: () => {
          works.delete(id);
          return id;
        },
        ping: () => {
          works.ping(id);
          return id;
        },
        reportExpectation: (a: Args) => {
          works.reportExpectation(id, (a.error as { error?: string; source?: string } | null | undefined) ?? null);
          return id;
        },
        addExpectations: (a: Args) => {
          works.addExpectations(id, typeof a.expectations === 'number' ? a.expectations : 0);
          return id;
        },
        addDraftContext: (a: Args) => {
          works.addDraftContext(id, str(a.draftContext));
          return id;
        },
        toReceived: (a: Args) => {
          works.toReceived(id, str(a.message));
          return id;
        },
        toProcessed: (a: Args) => {
          works.toProcessed(id, str(a.message), a.inError === true);
          return id;
        },
      };
    },
    workDelete: (args: Args) => {
      requireConnector(svc, String(args.connectorId));
      svc.works.deleteForConnector(String(args.connectorId));
      return true;
    },
    stixBundlePush: async (args: Args, ctx: RequestContext) => {
      await svc.stixBundlePush(String(args.connectorId), String(args.bundle), str(args.work_id), ctx.user.id);
      return true;
    },
    uploadPending: (args: Args, ctx: RequestContext) => {
      const file = args.file as UploadedFile | null | undefined;
      if (!file || !Buffer.isBuffer(file.content)) {
        throw platformError('FUNCTIONAL_ERROR', 'uploadPending expects a file sent as a multipart request');
      }
      const markings = Array.isArray(args.file_markings) ? args.file_markings.map(String) : [];
      return svc.uploadPending(file, {
        entityId: str(args.entityId),
        fileMarkings: markings,
        userId: ctx.user.id,
        draftId: ctx.draftId === undefined || ctx.draftId === '' ? null : ctx.draftId,
      });
    },
    draftWorkspaceAdd: (args: Args, ctx: RequestContext) => {
      const input = (args.input ?? {}) as { name?: unknown; entity_id?: unknown };
      return svc.draftWorkspaceAdd({ name: String(input.name), entityId: str(input.entity_id), userId: ctx.user.id });
    },
    playbookStepExecution: (args: Args) => {
      svc.recordPlaybookStep(args as unknown as PlaybookStepRecord['variables']);
      return true;
    },
    stixCoreObjectEdit: (args: Args, ctx: RequestContext) => {
      const entityId = String(args.id);
      const ask = async (connectorId: string) =>
        workView(
          await svc.askEnrichment(connectorId, entityId, {
            mode: 'manual',
            userId: ctx.user.id,
            draftId: ctx.draftId ?? null,
          }),
          svc,
        );
      return {
        askEnrichment: (a: Args) => ask(String(a.connectorId)),
        askEnrichments: async (a: Args) => {
          const ids = Array.isArray(a.connectorIds) ? a.connectorIds.map(String) : [];
          const result: unknown[] = [];
          for (const connectorId of ids) result.push(await ask(connectorId));
          return result;
        },
      };
    },
  };
}
