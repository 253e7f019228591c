/**
 * How OpenCTI and XTM Composer deploy a connector from a catalog (reference/catalog/README.md): the platform
 * loads the catalog file, checks each deployable contract's config schema, turns what an admin types into the
 * stored configuration, and the manager starts the image with that configuration and the platform's settings as
 * its only environment. The tests give a connector exactly that environment, so a catalog entry the platform
 * would refuse, or a configuration it would store that the connector cannot start with, fails here.
 */
import { randomUUID } from 'node:crypto';
import { Ajv, type ErrorObject } from 'ajv';
import * as formatsModule from 'ajv-formats';

/** A contract of a catalog file, as far as deploying it goes. */
export interface CatalogContract {
  title: string;
  slug: string;
  manager_supported?: boolean;
  container_image?: string;
  container_version?: string;
  container_type?: string;
  config_schema?: {
    type?: string;
    properties: Record<string, { type?: string; default?: unknown; format?: string }>;
    required: string[];
    additionalProperties?: boolean;
  };
}

export interface CatalogFile {
  id: string;
  name: string;
  description: string;
  contracts: CatalogContract[];
}

/** Settings the platform sets itself: not in the deployment form. */
export const NOT_IN_THE_FORM = ['OPENCTI_TOKEN', 'OPENCTI_URL', 'CONNECTOR_TYPE', 'CONNECTOR_RUN_AND_TERMINATE'];

// ajv-formats is CommonJS: its plugin is the module itself or its default, depending on the loader.
const addFormats = ((formatsModule as { default?: unknown }).default ?? formatsModule) as (
  ajv: Ajv,
  formats: string[],
) => Ajv;

/** The validator the platform builds once: Ajv's defaults (strict mode), coercing types, six formats. */
function platformAjv(): Ajv {
  const ajv = new Ajv({ coerceTypes: true });
  addFormats(ajv, ['password', 'uri', 'duration', 'email', 'date-time', 'date']);
  return ajv;
}

export class CatalogRejectedError extends Error {}

/**
 * Loads a catalog file as the platform does at start-up: every deployable contract must name its image and type,
 * and its config schema must compile. Throws CatalogRejectedError naming the contract otherwise.
 */
export function loadCatalog(text: string): CatalogFile {
  const catalog = JSON.parse(text) as CatalogFile;
  const ajv = platformAjv();
  for (const contract of catalog.contracts) {
    if (!contract.manager_supported || !contract.config_schema) continue;
    if (!contract.container_image) throw new CatalogRejectedError(`${contract.title}: no container_image`);
    if (!contract.container_type) throw new CatalogRejectedError(`${contract.title}: no container_type`);
    const { type, properties, required, additionalProperties } = contract.config_schema;
    try {
      ajv.compile({ type, properties, required, additionalProperties });
    } catch (err) {
      throw new CatalogRejectedError(
        `${contract.title}: not a valid JSON schema definition: ${(err as Error).message}`,
      );
    }
  }
  return catalog;
}

/** The form's fields: the config schema's properties but those the platform sets. */
export function deploymentForm(contract: CatalogContract): string[] {
  return Object.keys(contract.config_schema?.properties ?? {}).filter((k) => !NOT_IN_THE_FORM.includes(k));
}

function asStored(value: unknown, type: string | undefined): string {
  if (type === 'array' && Array.isArray(value)) return value.join(',');
  return String(value);
}

/**
 * The configuration the platform stores for a deployment: what the admin typed (form field → text) and, for a
 * field left empty, its default; a field with neither is left out. Validated as the platform validates it
 * (throws naming the field). Secrets are kept in clear here: the manager decrypts them before the container.
 */
export function storedConfiguration(
  contract: CatalogContract,
  typed: Readonly<Record<string, string>>,
): Record<string, string> {
  const schema = contract.config_schema;
  if (!schema) throw new Error(`${contract.title}: no config_schema to deploy it with`);
  const form = deploymentForm(contract);
  for (const key of Object.keys(typed)) {
    if (!form.includes(key)) throw new Error(`${contract.title}: ${key} is not a field of its deployment form`);
  }
  const stored: Record<string, string> = {};
  for (const key of form) {
    const property = schema.properties[key] ?? {};
    const value = typed[key];
    if (value !== undefined && value !== '') {
      if (property.type === 'boolean' && value !== 'true' && value !== 'false') {
        throw new Error(`Field "${key}" must be a boolean value (true or false)`);
      }
      if (property.type === 'integer' && Number.isNaN(Number.parseInt(value, 10))) {
        throw new Error(`Field "${key}" must be a valid integer`);
      }
      stored[key] = property.type === 'integer' ? String(Number.parseInt(value, 10)) : value;
    } else if (property.default !== undefined && property.default !== null) {
      stored[key] = asStored(property.default, property.type);
    }
  }
  const required = schema.required.filter((k) => k !== 'CONNECTOR_ID' && !NOT_IN_THE_FORM.includes(k));
  const checked: Record<string, unknown> = {};
  const properties: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(stored)) {
    const property = schema.properties[key] ?? {};
    checked[key] =
      property.type === 'array'
        ? value
            .split(',')
            .map((v) => v.trim())
            .filter((v) => v !== '')
        : value;
    properties[key] = property;
  }
  for (const key of required) properties[key] = schema.properties[key];
  const validate = platformAjv().compile({ type: schema.type, properties, required, additionalProperties: false });
  if (!validate(checked)) {
    throw new Error(`Invalid contract configuration for ${contract.title}: ${describe(validate.errors ?? [])}`);
  }
  return stored;
}

function describe(errors: readonly ErrorObject[]): string {
  return errors
    .map((e) =>
      e.keyword === 'required'
        ? `missing required field "${String(e.params.missingProperty)}"`
        : `${e.instancePath.replace(/^\//, '')} ${e.message ?? e.keyword}`,
    )
    .join('; ');
}

export interface ManagedConnector {
  /** <container_image>:<container_version>, as the manager pulls it. */
  image: string;
  /** The container's whole environment. */
  env: Record<string, string>;
}

/**
 * A connector deployed from a contract: the image the manager runs and the environment it gives the container:
 * the stored configuration, the connector's id, name and type, a token, the platform's proxy settings (none
 * configured here) and the manager's own OPENCTI_URL and configuration hash.
 */
export function managedConnector(
  contract: CatalogContract,
  typed: Readonly<Record<string, string>>,
  platform: { url: string; token: string; name?: string; connectorId?: string },
): ManagedConnector {
  if (!contract.container_image || !contract.container_version || !contract.container_type) {
    throw new Error(`${contract.title}: no container_image, container_version or container_type`);
  }
  return {
    image: `${contract.container_image}:${contract.container_version}`,
    env: {
      ...storedConfiguration(contract, typed),
      CONNECTOR_ID: platform.connectorId ?? randomUUID(),
      CONNECTOR_NAME: platform.name ?? contract.title,
      CONNECTOR_TYPE: contract.container_type,
      OPENCTI_TOKEN: platform.token,
      HTTPS_PROXY_REJECT_UNAUTHORIZED: 'false',
      OPENCTI_URL: platform.url,
      OPENCTI_CONFIG_HASH: randomUUID().replaceAll('-', '').slice(0, 16),
    },
  };
}
