/**
 * The connector's settings as the JSON Schema OpenCTI's connector catalog reads
 * (`__metadata__/connector_config_schema.json`): env var names as properties, secrets `writeOnly` with
 * `format: password`, defaults, enums, and the required ones. Generated from the same zod shape the
 * connector parses its environment with, so the manifest cannot drift from the code.
 */
import { z } from 'zod';
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

export function configJsonSchema(shape: ConfigShape, slug: string): ConfigJsonSchema {
  const properties: Record<string, Record<string, unknown>> = {};
  const required: string[] = [];
  for (const [name, schema] of Object.entries(shape)) {
    const meta = fieldMeta(schema);
    // zod's own view of the raw env value (a string), then what the field helper knows of the parsed value.
    const generated = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
    const property: Record<string, unknown> = {};
    const description =
      meta.description ?? (typeof generated.description === 'string' ? generated.description : undefined);
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
    if (meta.aliases?.length) property['x-aliases'] = [...meta.aliases];
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
