/**
 * A definition bound to its settings and its vendor client: what the runtime drives. The definition's type
 * parameters (its settings' shape, its client, its state) are fixed here, once, so that the processors, the
 * dry runs and the scheduler need no cast: they call hooks that already hold the settings and the client.
 */
import type { z } from 'zod';
import type { ConfigShape } from '../config/index.js';
import type { TlpLevel } from '../stix/index.js';
import type {
  ConnectorConfig,
  EnrichContext,
  EnrichmentDefinition,
  EnrichmentEntity,
  EnrichResult,
  ImportContext,
  ImportDefinition,
  ImportItem,
  SetupContext,
} from './define.js';

/** What the runtime hands an enrichment; the binding adds the settings and the client. */
export type EnrichCall = Omit<EnrichContext<unknown, unknown>, 'config' | 'client'>;
/** What the runtime hands an import run; the binding adds the settings and the client. */
export type ImportCall<State> = Omit<ImportContext<unknown, unknown, State>, 'config' | 'client'>;

interface BoundCommon {
  /** Display name (the default CONNECTOR_NAME). */
  readonly name: string;
  /** Short id: user agent, rate-limit key, the catalog slug reported at registration. */
  readonly slug: string;
  /** The connector's version, reported at registration where the platform accepts it. */
  readonly version: string | undefined;
}

export interface BoundEnrichment extends BoundCommon {
  readonly kind: 'enrichment';
  /** The highest TLP whose entities may reach the vendor, read from the settings. */
  readonly maxTlp: TlpLevel;
  readonly playbookCompatible: boolean;
  enrich(entity: EnrichmentEntity, call: EnrichCall): Promise<EnrichResult>;
}

export interface BoundImport<State> extends BoundCommon {
  readonly kind: 'import';
  /** The saved state's shape: a saved state that does not match it is not handed to `run`. */
  readonly state: z.ZodType<State>;
  /** The run's work name. */
  workName(now: Date): string;
  run(call: ImportCall<State>): AsyncIterable<ImportItem<State>>;
}

export type BoundConnector<State = unknown> = BoundEnrichment | BoundImport<State>;

/** Builds the enrichment's vendor client (its `setup`) and binds it, with the settings, into its hooks. */
export async function bindEnrichment<S extends ConfigShape, Client>(
  definition: EnrichmentDefinition<S, Client>,
  setup: SetupContext<ConnectorConfig<S>>,
): Promise<BoundEnrichment> {
  const client = await definition.setup(setup);
  const { config } = setup;
  return {
    kind: 'enrichment',
    name: definition.name,
    slug: definition.slug,
    version: definition.version,
    maxTlp: definition.maxTlp(config),
    playbookCompatible: definition.playbookCompatible ?? false,
    enrich: (entity, call) => definition.enrich(entity, { ...call, config, client }),
  };
}

/** Builds the import's vendor client (its `setup`) and binds it, with the settings, into its hooks. */
export async function bindImport<S extends ConfigShape, Client, State>(
  definition: ImportDefinition<S, Client, State>,
  setup: SetupContext<ConnectorConfig<S>>,
): Promise<BoundImport<State>> {
  const client = await definition.setup(setup);
  const { config } = setup;
  return {
    kind: 'import',
    name: definition.name,
    slug: definition.slug,
    version: definition.version,
    state: definition.state,
    workName: (now) => definition.workName?.(config, now) ?? `${definition.name} run @ ${now.toISOString()}`,
    run: (call) => definition.run({ ...call, config, client }),
  };
}
