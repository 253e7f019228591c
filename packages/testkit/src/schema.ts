/**
 * The testkit's GraphQL schema: built from `schema/testkit.graphql`, a strict subset of the real OpenCTI
 * schema (test/schema.test.ts checks every type, field and argument against it).
 *
 * `RegisterConnectorInput` follows the platform version the stand-in reports, as the real input grew:
 * `listen_callback_uri` from 6.5.7, `auto_update` and `enrichment_resolution` from 6.8.9, so a connector
 * sending a field its platform lacks is refused as the real one refuses it (a GraphQL validation error).
 * `xtm_one_intent`, `version` and `slug` come after 7.260318.0 (no release number known): a stand-in built
 * with `connectorMetadata` declares them, as a later platform does.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { buildASTSchema, type DocumentNode, type GraphQLSchema, Kind, parse, visit } from 'graphql';

/** Absolute path of the SDL file (the same from `src/` and from the built `dist/`). */
export const TESTKIT_SCHEMA_PATH = fileURLToPath(new URL('../schema/testkit.graphql', import.meta.url));

export interface SchemaVariant {
  /** The platform version reported in `about` (default: every field the SDL declares). */
  platformVersion?: string;
  /** Declare the registration fields added after 7.260318.0 (`xtm_one_intent`, `version`, `slug`). */
  connectorMetadata?: boolean;
}

/** Registration input fields and the platform version that added each. */
const REGISTRATION_FIELD_SINCE: Record<string, readonly [number, number, number]> = {
  listen_callback_uri: [6, 5, 7],
  auto_update: [6, 8, 9],
  enrichment_resolution: [6, 8, 9],
};
/** Fields of a later RegisterConnectorInput, in its order. */
export const CONNECTOR_METADATA_FIELDS = ['xtm_one_intent', 'version', 'slug'] as const;

function versionParts(raw: string | undefined): [number, number, number] | null {
  const match = raw === undefined ? null : /^\s*v?(\d+)\.(\d+)(?:\.(\d+))?/.exec(raw);
  return match ? [Number(match[1]), Number(match[2]), Number(match[3] ?? '0')] : null;
}

function atLeast(version: readonly number[], min: readonly number[]): boolean {
  for (let i = 0; i < 3; i += 1) {
    if ((version[i] ?? 0) !== (min[i] ?? 0)) return (version[i] ?? 0) > (min[i] ?? 0);
  }
  return true;
}

let sdl: DocumentNode | undefined;
const cache = new Map<string, GraphQLSchema>();

/** The executable schema (resolvers come from the root value; abstract types resolve by `__typename`). */
export function testkitSchema(variant: SchemaVariant = {}): GraphQLSchema {
  const version = versionParts(variant.platformVersion);
  const key = `${version?.join('.') ?? 'all'}|${variant.connectorMetadata === true}`;
  const cached = cache.get(key);
  if (cached !== undefined) return cached;
  sdl ??= parse(readFileSync(TESTKIT_SCHEMA_PATH, 'utf8'));
  const document = visit(sdl, {
    InputObjectTypeDefinition(node) {
      if (node.name.value !== 'RegisterConnectorInput') return undefined;
      const kept = (node.fields ?? []).filter((field) => {
        const since = REGISTRATION_FIELD_SINCE[field.name.value];
        return since === undefined || version === null || atLeast(version, since);
      });
      const added = variant.connectorMetadata
        ? CONNECTOR_METADATA_FIELDS.map((name) => ({
            kind: Kind.INPUT_VALUE_DEFINITION,
            name: { kind: Kind.NAME, value: name },
            type: { kind: Kind.NAMED_TYPE, name: { kind: Kind.NAME, value: 'String' } },
          }))
        : [];
      return { ...node, fields: [...kept, ...added] };
    },
  });
  const schema = buildASTSchema(document);
  cache.set(key, schema);
  return schema;
}
