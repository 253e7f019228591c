/**
 * A connector is one declarative object. The SDK owns the process around it: configuration, logging,
 * registration, ping, queues, works, TLP gating, retries, metrics, shutdown and the dry-run CLI.
 */
import type { z } from 'zod';
import type { BaseConfig, ConfigOf, ConfigShape, Env } from '../config/index.js';
import type { HttpClient, HttpClientOptions } from '../http/index.js';
import type { Logger } from '../log/index.js';
import type { StixBundle, TlpLevel } from '../stix/index.js';

/** The connector's settings merged over the base settings (a connector may override a base default). */
export type ConnectorConfig<S extends ConfigShape> = Omit<BaseConfig, keyof ConfigOf<S>> & ConfigOf<S>;

export interface SetupContext<C> {
  config: C;
  logger: Logger;
  /** A vendor HTTP client with the SDK's proxy, CA, timeouts, retries, rate limits and redaction. */
  http(options: Omit<HttpClientOptions, 'logger' | 'signal'>): HttpClient;
  /** Fires on shutdown (SIGTERM, Ctrl-C): set-up is cut short at once. */
  signal: AbortSignal;
  /** True for `main.js enrich …` and `main.js import --dry-run`: nothing reaches OpenCTI. */
  dryRun: boolean;
}

export interface EntityMarking {
  id?: string;
  standard_id: string;
  definition_type: string | null;
  definition: string | null;
}

/** The entity an enrichment works on, read from OpenCTI as pycti reads it. */
export interface EnrichmentEntity {
  /** The STIX standard id (`ipv4-addr--…`). */
  id: string;
  /** OpenCTI's internal id, when known. */
  internalId: string | null;
  /** OpenCTI entity type (`IPv4-Addr`, `Domain-Name`, `Url`). */
  entityType: string;
  /** The observable value (or the name of a domain object), when it has one. */
  value: string | null;
  /** The entity's TLP: the highest TLP among its markings, TLP:CLEAR when it has none. */
  tlp: TlpLevel;
  /** Its markings as OpenCTI returns them. */
  markings: EntityMarking[];
  /** Standard ids of its markings: what objects built from it should carry (upstream behaviour). */
  markingIds: string[];
  labels: string[];
  description: string | null;
  /** The STIX 2.1 form (the platform's `stix_entity`), re-sent by connectors that update the observable. */
  stix: Record<string, unknown>;
  /** The GraphQL form, for anything else. */
  raw: Record<string, unknown>;
}

export interface EnrichContext<C, Client> {
  config: C;
  client: Client;
  logger: Logger;
  /** Fires when the shutdown's grace period is over: the message goes back to the queue. Pass it to vendor calls. */
  signal: AbortSignal;
  /** CONNECTOR_CONFIDENCE_LEVEL when set. */
  confidence: number | undefined;
  /** True when the enrichment runs as a playbook step. */
  playbook: boolean;
  /**
   * True when the platform asked on its own (CONNECTOR_AUTO: the entity was just created, or updated with
   * CONNECTOR_AUTO_UPDATE), not a user's "Enrich" nor a playbook step. A connector whose results are in its
   * own scope uses it to avoid enriching what it just created, for ever.
   */
  auto: boolean;
  /** Other STIX objects of the context (the playbook's bundle), when any. */
  stixObjects: readonly Record<string, unknown>[];
  now(): Date;
}

export interface EnrichResult {
  /** What to send. No bundle, or an empty one: nothing is sent. */
  bundle?: StixBundle | null;
  /** One line for the work ("Enriched 1.2.3.4: malicious, 12 objects"). A default is written otherwise. */
  message?: string;
}

export interface CliRewrite {
  /** Rewrites the command line before the SDK parses it (a connector's legacy flags). */
  rewriteArgs?(argv: readonly string[], env: Env): { argv: string[]; env: Env };
  /** Extra lines for `--help`. */
  help?: string;
}

interface CommonDefinition<S extends ConfigShape, Client> {
  /** Display name, the default CONNECTOR_NAME. */
  name: string;
  /** Short id: user agent, image name (`cti/connector-<slug>`), the catalog slug reported at registration. */
  slug: string;
  /**
   * The connector's version (semantic versioning), reported at registration where the platform accepts it;
   * `packageVersion(import.meta.url)` reads it from the connector's package.json, as its manifest does.
   */
  version?: string;
  /** The connector's own settings; spread over the base settings, so they may override a default. */
  config: S;
  /** Builds the vendor client once, at start-up. */
  setup(ctx: SetupContext<ConnectorConfig<S>>): Client | Promise<Client>;
  cli?: CliRewrite;
}

export interface EnrichmentDefinition<S extends ConfigShape = ConfigShape, Client = unknown>
  extends CommonDefinition<S, Client> {
  kind: 'enrichment';
  /** Entity types handled (the default CONNECTOR_SCOPE). */
  scope: readonly string[];
  /** The highest TLP whose entities may be sent to the vendor. The gate runs before `enrich`. */
  maxTlp(config: ConnectorConfig<S>): TlpLevel;
  /** Registered as playbook_compatible: answers playbook steps with playbookStepExecution. */
  playbookCompatible?: boolean;
  enrich(entity: EnrichmentEntity, ctx: EnrichContext<ConnectorConfig<S>, Client>): Promise<EnrichResult>;
}

export interface ImportItem<State> {
  /** A bundle to send. */
  bundle?: StixBundle | null;
  /** The state to save once this item's bundle, and every one before it, is confirmed by the broker. */
  state?: State;
  /** The work (friendly name) this bundle belongs to; default: the run's work. */
  work?: string;
}

export interface ImportContext<C, Client, State> {
  config: C;
  client: Client;
  logger: Logger;
  /**
   * Fires when the item in hand must be abandoned: the shutdown's grace period is over (a SIGTERM alone
   * only stops the run after the current item), or the state was reset from the UI (the run restarts from
   * the first-run settings). Pass it to every vendor call.
   */
  signal: AbortSignal;
  /** The saved state; null on a first run or after a reset from the UI. */
  state: State | null;
  /** Records a problem on the work (it shows in the work's errors) without failing the run. */
  reportError(message: string, options?: { work?: string; source?: string }): Promise<void>;
  dryRun: boolean;
  now(): Date;
}

export interface ImportDefinition<S extends ConfigShape = ConfigShape, Client = unknown, State = unknown>
  extends CommonDefinition<S, Client> {
  kind: 'import';
  /** Informational scope (the default CONNECTOR_SCOPE). */
  scope?: readonly string[];
  /** The shape of the saved state, with upstream's keys so a state written by the Python connector carries over. */
  state: z.ZodType<State>;
  /** The run's work name; default "<name> run @ <ISO date>". */
  workName?(config: ConnectorConfig<S>, now: Date): string;
  run(ctx: ImportContext<ConnectorConfig<S>, Client, State>): AsyncIterable<ImportItem<State>>;
}

/** Either kind of connector; without type arguments, any connector. */
export type ConnectorDefinition<S extends ConfigShape = ConfigShape, Client = unknown, State = unknown> =
  | EnrichmentDefinition<S, Client>
  | ImportDefinition<S, Client, State>;

/** Declares an internal-enrichment connector. */
export function defineEnrichment<S extends ConfigShape, Client>(
  definition: Omit<EnrichmentDefinition<S, Client>, 'kind'>,
): EnrichmentDefinition<S, Client> {
  return { ...definition, kind: 'enrichment' };
}

/** Declares an external-import connector. */
export function defineImport<S extends ConfigShape, Client, State>(
  definition: Omit<ImportDefinition<S, Client, State>, 'kind'>,
): ImportDefinition<S, Client, State> {
  return { ...definition, kind: 'import' };
}
