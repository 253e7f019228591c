export { type BaseConfig, baseConfig, CONNECTOR_TYPES, type ConnectorType, type LogLevel } from './base.js';
export {
  CONFIG_FILE_NAME,
  type ConfigFile,
  type FileValue,
  locateConfigFile,
  MAX_CONFIG_FILE_BYTES,
  parseConfigText,
  readConfigFile,
} from './config-file.js';
export { DurationError, type DurationProblem, MAX_DURATION_SECONDS, parseDurationSeconds } from './duration.js';
export { env, type FieldMeta, type FieldOptions, fieldMeta } from './fields.js';
export { type ConfigJsonSchema, configJsonSchema } from './json-schema.js';
export { callbackPathProblem, listenConfig, MAX_CALLBACK_PATH_LENGTH } from './listen.js';
export {
  type ConfigOf,
  type ConfigShape,
  type Env,
  envNames,
  fileKeysOf,
  ignoredFileKeys,
  type LoadConfigOptions,
  loadConfig,
  readEnvironment,
  redactConfig,
  secretKeys,
} from './load.js';
export { PYCTI_ONLY_YAML_KEYS, yamlKeyOf, yamlKeys } from './yaml-keys.js';
