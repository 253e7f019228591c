/**
 * The testkit's GraphQL schema: built from `schema/testkit.graphql`, a strict subset of the real OpenCTI
 * schema (test/schema.test.ts checks every type, field and argument against it).
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { buildSchema, type GraphQLSchema } from 'graphql';

/** Absolute path of the SDL file (the same from `src/` and from the built `dist/`). */
export const TESTKIT_SCHEMA_PATH = fileURLToPath(new URL('../schema/testkit.graphql', import.meta.url));

let cached: GraphQLSchema | undefined;

/** The executable schema (resolvers come from the root value; abstract types resolve by `__typename`). */
export function testkitSchema(): GraphQLSchema {
  cached ??= buildSchema(readFileSync(TESTKIT_SCHEMA_PATH, 'utf8'));
  return cached;
}
