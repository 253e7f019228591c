/**
 * The testkit's SDL is a strict subset of the real OpenCTI schema, and it answers pycti's documents.
 */
import { readFileSync } from 'node:fs';
import {
  buildSchema,
  type GraphQLField,
  type GraphQLNamedType,
  type GraphQLSchema,
  isEnumType,
  isInputObjectType,
  isInterfaceType,
  isObjectType,
  isRequiredArgument,
  isScalarType,
  isUnionType,
  parse,
  print,
  validate,
  validateSchema,
} from 'graphql';
import { describe, expect, it } from 'vitest';
import { TESTKIT_SCHEMA_PATH, testkitSchema } from '../src/index.js';
import { ALL_DOCUMENTS } from './pycti-documents.js';

const REAL_SCHEMA_PATH = new URL('../../../reference/opencti-merged.graphql', import.meta.url);
/** The connector module of a platform later than 7.260318.0 (reference/README.md). */
const LATER_CONNECTOR_SCHEMA_PATH = new URL('../../../reference/opencti-connector-later.graphql', import.meta.url);
const real = buildSchema(readFileSync(REAL_SCHEMA_PATH, 'utf8'));

const kindOf = (type: GraphQLNamedType): string =>
  isObjectType(type)
    ? 'object'
    : isInterfaceType(type)
      ? 'interface'
      : isInputObjectType(type)
        ? 'input'
        : isEnumType(type)
          ? 'enum'
          : isUnionType(type)
            ? 'union'
            : 'scalar';

/** Every way `subset` is not a strict subset of `full`, as readable lines (empty when it is). */
function subsetViolations(subset: GraphQLSchema, full: GraphQLSchema): string[] {
  const problems: string[] = [];
  for (const [name, type] of Object.entries(subset.getTypeMap())) {
    if (name.startsWith('__')) continue;
    const other = full.getType(name);
    if (other === undefined || other === null) {
      problems.push(`type ${name} does not exist`);
      continue;
    }
    if (kindOf(type) !== kindOf(other)) {
      problems.push(`type ${name} is a ${kindOf(type)} here, a ${kindOf(other)} there`);
      continue;
    }
    if (isEnumType(type) && isEnumType(other)) {
      const values = new Set(other.getValues().map((v) => v.name));
      for (const value of type.getValues()) {
        if (!values.has(value.name)) problems.push(`enum ${name} has no value ${value.name}`);
      }
    }
    if (isInputObjectType(type) && isInputObjectType(other)) {
      const mine = type.getFields();
      const theirs = other.getFields();
      for (const field of Object.values(theirs)) {
        const here = mine[field.name];
        if (here === undefined) problems.push(`input ${name} lacks field ${field.name}`);
        else if (String(here.type) !== String(field.type)) {
          problems.push(`input ${name}.${field.name} is ${String(here.type)}, there ${String(field.type)}`);
        }
      }
      for (const field of Object.keys(mine)) {
        if (theirs[field] === undefined) problems.push(`input ${name}.${field} does not exist`);
      }
    }
    if ((isObjectType(type) || isInterfaceType(type)) && (isObjectType(other) || isInterfaceType(other))) {
      const interfaces = new Set(other.getInterfaces().map((i) => i.name));
      for (const implemented of type.getInterfaces()) {
        if (!interfaces.has(implemented.name)) problems.push(`${name} does not implement ${implemented.name}`);
      }
      const theirs = other.getFields() as Record<string, GraphQLField<unknown, unknown>>;
      for (const field of Object.values(type.getFields() as Record<string, GraphQLField<unknown, unknown>>)) {
        const there = theirs[field.name];
        if (there === undefined) {
          problems.push(`field ${name}.${field.name} does not exist`);
          continue;
        }
        if (String(field.type) !== String(there.type)) {
          problems.push(`field ${name}.${field.name} is ${String(field.type)}, there ${String(there.type)}`);
        }
        for (const arg of field.args) {
          const match = there.args.find((a) => a.name === arg.name);
          if (match === undefined) problems.push(`argument ${name}.${field.name}(${arg.name}) does not exist`);
          else if (String(match.type) !== String(arg.type)) {
            problems.push(
              `argument ${name}.${field.name}(${arg.name}) is ${String(arg.type)}, there ${String(match.type)}`,
            );
          }
        }
        for (const arg of there.args) {
          if (isRequiredArgument(arg) && !field.args.some((a) => a.name === arg.name)) {
            problems.push(`argument ${name}.${field.name}(${arg.name}) is required there but missing here`);
          }
        }
      }
    }
  }
  return problems;
}

describe('schema/testkit.graphql', () => {
  const subset = testkitSchema();

  it('builds into a valid schema', () => {
    expect(validateSchema(subset)).toEqual([]);
    expect(TESTKIT_SCHEMA_PATH.endsWith('schema/testkit.graphql')).toBe(true);
  });

  it('is a strict subset of the real OpenCTI schema: types, fields, arguments, types of each, enum values', () => {
    expect(subsetViolations(subset, real)).toEqual([]);
  });

  it('maps its roots onto the real roots', () => {
    expect(subset.getQueryType()?.name).toBe(real.getQueryType()?.name);
    expect(subset.getMutationType()?.name).toBe(real.getMutationType()?.name);
  });

  it('models the operations the brief lists', () => {
    const query = Object.keys(subset.getQueryType()?.getFields() ?? {});
    const mutation = Object.keys(subset.getMutationType()?.getFields() ?? {});
    expect(query).toEqual(
      expect.arrayContaining(['about', 'connector', 'connectors', 'work', 'works', 'isWorkAlive', 'stixCoreObject']),
    );
    expect(mutation).toEqual(
      expect.arrayContaining([
        'registerConnector',
        'pingConnector',
        'resetStateConnector',
        'workAdd',
        'workEdit',
        'stixBundlePush',
        'playbookStepExecution',
        'stixCoreObjectEdit',
      ]),
    );
  });

  it('has no scalar the real schema lacks', () => {
    const scalars = Object.values(subset.getTypeMap()).filter((t) => isScalarType(t) && !t.name.startsWith('__'));
    for (const scalar of scalars) expect(real.getType(scalar.name), scalar.name).toBeTruthy();
  });

  it('detects a field whose type differs, an invented field and an incomplete input (the check can fail)', () => {
    const wrong = buildSchema(`
      type Query { about: AppInfo connector(id: ID!): Connector }
      type AppInfo { version: String inventedField: Int }
      type Connector { id: ID! }
      enum State { wait finished }
      input WorkErrorInput { error: String }
      type Mutation { reportIt(error: WorkErrorInput): Boolean }
    `);
    const problems = subsetViolations(wrong, real);
    expect(problems).toEqual(
      expect.arrayContaining([
        'field AppInfo.version is String, there String!',
        'field AppInfo.inventedField does not exist',
        'argument Query.connector(id) is ID!, there String!',
        'enum State has no value finished',
        'input WorkErrorInput lacks field source',
        'field Mutation.reportIt does not exist',
      ]),
    );
  });

  const inputFields = (schema: GraphQLSchema) => {
    const type = schema.getType('RegisterConnectorInput');
    return isInputObjectType(type) ? Object.values(type.getFields()).map((f) => `${f.name}: ${String(f.type)}`) : [];
  };

  it('declares the registration fields each platform version accepts, as that version does', () => {
    const names = (version: string) =>
      inputFields(testkitSchema({ platformVersion: version })).map((f) => f.split(':')[0]);
    expect(names('6.5.6')).not.toContain('listen_callback_uri');
    expect(names('6.5.7')).toContain('listen_callback_uri');
    expect(names('6.8.8')).not.toEqual(expect.arrayContaining(['auto_update']));
    expect(names('6.8.8')).not.toContain('enrichment_resolution');
    expect(names('6.8.9')).toEqual(expect.arrayContaining(['auto_update', 'enrichment_resolution']));
    expect(inputFields(testkitSchema({ platformVersion: '7.260318.0' }))).toEqual(inputFields(real));
  });

  it('as a later platform, has exactly the later upstream RegisterConnectorInput (version, slug...)', () => {
    const later = parse(readFileSync(LATER_CONNECTOR_SCHEMA_PATH, 'utf8'));
    const declared = later.definitions.flatMap((d) =>
      d.kind === 'InputObjectTypeDefinition' && d.name.value === 'RegisterConnectorInput'
        ? (d.fields ?? []).map((f) => `${f.name.value}: ${print(f.type)}`)
        : [],
    );
    expect(declared).toContain('slug: String');
    expect(inputFields(testkitSchema({ platformVersion: '7.260901.0', connectorMetadata: true }))).toEqual(declared);
  });

  it.each(Object.entries(ALL_DOCUMENTS))('validates pycti document %s against both schemas', (_name, document) => {
    const ast = parse(document);
    expect(validate(real, ast).map((e) => e.message)).toEqual([]);
    expect(validate(subset, ast).map((e) => e.message)).toEqual([]);
  });
});
