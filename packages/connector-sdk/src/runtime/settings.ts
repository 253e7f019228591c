/**
 * A connector's settings: the base settings, the definition's defaults for its name and scope, then its own
 * (which may override a base one), parsed once from the environment and checked against the command.
 */
import {
  type BaseConfig,
  baseConfig,
  type ConfigFile,
  type ConfigShape,
  type Env,
  env,
  loadConfig,
} from '../config/index.js';
import { ConfigError } from '../errors/index.js';
import type { Command } from './cli.js';
import type { ConnectorConfig, ConnectorDefinition } from './define.js';

/** What the settings' shape is built from. */
export interface SettingsSource {
  name: string;
  scope?: readonly string[] | undefined;
  config: ConfigShape;
}

/** The full settings shape: base, then the definition's defaults for name and scope, then its own. */
export function shapeOf(definition: SettingsSource): ConfigShape {
  return {
    ...baseConfig,
    CONNECTOR_NAME: env.string({ minLength: 2, default: definition.name, description: 'The name shown in OpenCTI' }),
    CONNECTOR_SCOPE: env.list({
      default: [...(definition.scope ?? [])],
      description: 'Comma-separated entity types (or MIME types) the connector handles',
    }),
    ...definition.config,
  };
}

/** One parse of the environment, seen two ways. */
export interface Settings<S extends ConfigShape> {
  /** The SDK's own settings (a connector's override of one of them included): what the runtime reads. */
  base: BaseConfig;
  /** Every setting: what the connector's hooks receive. */
  connector: ConnectorConfig<S>;
}

/** Stand-ins for the platform settings a dry run does not need; the environment's and config.yml's values win. */
const DRY_RUN_PLATFORM: Env = {
  OPENCTI_URL: 'http://dry-run.invalid',
  OPENCTI_TOKEN: 'dry-run',
  CONNECTOR_ID: '00000000-0000-4000-8000-000000000000',
  // A dry run is one run: no schedule to require (SpyCloud's period is otherwise mandatory).
  CONNECTOR_DURATION_PERIOD: '0',
};

/**
 * Parses the settings for `command` (a dry run needs no platform) from the environment, then config.yml when
 * there is one, and checks that the command and CONNECTOR_TYPE fit the connector's kind. Every problem is a
 * ConfigError naming the setting (and its config.yml key when the value came from there).
 */
export function loadSettings<S extends ConfigShape, Client, State>(
  definition: ConnectorDefinition<S, Client, State>,
  command: Command,
  environment: Env,
  file?: ConfigFile,
): Settings<S> {
  const dryRun = command.kind !== 'daemon';
  const parsed = loadConfig(shapeOf(definition), {
    env: environment,
    dotenvPath: false,
    ...(file ? { file } : {}),
    ...(dryRun ? { fallback: DRY_RUN_PLATFORM } : {}),
  });
  // The shape parsed is the base shape with the definition's own spread over it, which is what both views
  // describe; the type system cannot see through a generic spread, so this is the one place it is told.
  const settings = { base: parsed as BaseConfig, connector: parsed as ConnectorConfig<S> };
  const expectedType = definition.kind === 'enrichment' ? 'INTERNAL_ENRICHMENT' : 'EXTERNAL_IMPORT';
  const { CONNECTOR_TYPE } = settings.base;
  if (CONNECTOR_TYPE && CONNECTOR_TYPE !== expectedType) {
    throw new ConfigError([
      { variable: 'CONNECTOR_TYPE', message: `this connector is ${expectedType}, got "${CONNECTOR_TYPE}"` },
    ]);
  }
  if (command.kind === 'enrich' && definition.kind !== 'enrichment') {
    throw new ConfigError([{ variable: 'command', message: `${definition.name} imports; use: import --dry-run` }]);
  }
  if (command.kind === 'import' && definition.kind !== 'import') {
    throw new ConfigError([{ variable: 'command', message: `${definition.name} enriches; use: enrich <value>` }]);
  }
  return settings;
}
