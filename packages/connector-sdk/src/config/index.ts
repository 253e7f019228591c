export { type BaseConfig, baseConfig, CONNECTOR_TYPES, type ConnectorType, type LogLevel } from './base.js';
export { DurationError, type DurationProblem, MAX_DURATION_SECONDS, parseDurationSeconds } from './duration.js';
export { env, type FieldMeta, type FieldOptions, fieldMeta } from './fields.js';
export { type ConfigJsonSchema, configJsonSchema } from './json-schema.js';
export {
  type ConfigOf,
  type ConfigShape,
  type Env,
  envNames,
  type LoadConfigOptions,
  loadConfig,
  readEnvironment,
  redactConfig,
  secretKeys,
} from './load.js';
