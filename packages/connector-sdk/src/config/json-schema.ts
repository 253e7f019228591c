/**
 * The connector's settings as the JSON Schema OpenCTI's connector catalog reads
 * (`__metadata__/connector_config_schema.json`): env var names as properties, secrets `writeOnly` with
 * `format: password`, defaults, enums, and the required ones. Generated from the same zod shape the
 * connector parses its environment with, so the manifest cannot drift from the code.
 *
 * Upstream's conventions (reference/catalog/README.md): CONNECTOR_ID is left out, since the platform assigns
 * it to a connector it deploys; CONNECTOR_TYPE is a `const`. The platform compiles a deployable connector's
 * schema with Ajv in strict mode, which refuses any keyword it does not know: other names a setting answers
 * to are said in its description, not in an `x-` keyword.
 */
import { z } from 'zod';
import type { ConnectorType } from './base.js';
import { fieldMeta } from './fields.js';
import type { ConfigShape } from './load.js';

export interface ConfigJsonSchema {
  $schema: string;
  $id: string;
  type: 'object';
  properties: Record<string, Record<string, unknown>>;
  required: string[];
  additionalProperties: true;
}

/** Settings the platform gives a connector it deploys: not in the schema an admin fills in. */
const ASSIGNED_BY_THE_PLATFORM = new Set(['CONNECTOR_ID']);

export function configJsonSchema(shape: ConfigShape, slug: string, connectorType: ConnectorType): ConfigJsonSchema {
  const properties: Record<string, Record<string, unknown>> = {};
  const required: string[] = [];
  for (const [name, schema] of Object.entries(shape)) {
    if (ASSIGNED_BY_THE_PLATFORM.has(name)) continue;
    if (name === 'CONNECTOR_TYPE') {
      properties[name] = { const: connectorType, default: connectorType, type: 'string' };
      continue;
    }
    const meta = fieldMeta(schema);
    // zod's own view of the raw env value (a string), then what the field helper knows of the parsed value.
    const generated = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
    const property: Record<string, unknown> = {};
    const described =
      meta.description ?? (typeof generated.description === 'string' ? generated.description : undefined);
    const description = meta.aliases?.length ? withAliases(described, meta.aliases) : described;
    if (meta.defaultValue !== undefined) property.default = meta.defaultValue;
    if (description) property.description = description;
    if (meta.kind === 'array') {
      property.items = { type: 'string', ...(meta.values ? { enum: [...meta.values] } : {}) };
    } else if (meta.values) {
      property.enum = [...meta.values];
    }
    if (meta.secret) {
      property.format = 'password';
      property.writeOnly = true;
    }
    property.type = meta.kind ?? (typeof generated.type === 'string' ? generated.type : 'string');
    properties[name] = property;
    // A setting is required when the environment cannot leave it out.
    if (!schema.safeParse(undefined).success) required.push(name);
  }
  return {
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    $id: `https://www.filigran.io/connectors/${slug}_config.schema.json`,
    type: 'object',
    properties,
    required,
    additionalProperties: true,
  };
}

/** "API key" and ['OLD_KEY'] → "API key. Also read from OLD_KEY." */
function withAliases(description: string | undefined, aliases: readonly string[]): string {
  const also = `Also read from ${aliases.join(' or ')}.`;
  return description ? `${description.replace(/[.]$/, '')}. ${also}` : also;
}
