export type { Command } from './cli.js';
export {
  type ConnectorConfig,
  type ConnectorDefinition,
  defineEnrichment,
  defineImport,
  type EnrichContext,
  type EnrichmentDefinition,
  type EnrichmentEntity,
  type EnrichResult,
  type EntityMarking as EnrichmentMarking,
  type ImportContext,
  type ImportDefinition,
  type ImportItem,
  type SetupContext,
} from './define.js';
export { describe as describeError } from './enrichment.js';
export { dryRunEntity, guessEntityType, stixTypeOf, toEnrichmentEntity } from './entity.js';
export { Metrics } from './metrics.js';
export { packageVersion } from './package-version.js';
export { type RunOptions, runConnector } from './run.js';
export { shapeOf } from './settings.js';
