/**
 * The connectors as the cross-connector suites, the demo and the bench drive them: each folder's
 * `test/conformance.ts` (its fake vendor, its secrets, what to enrich) joined to its definition. Found at run
 * time, so a new folder is covered by every suite without an edit anywhere else.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { type ConnectorDefinition, fieldMeta, shapeOf } from '@cti/connector-sdk/internal';
import type { Conformance, FakeRequest } from '@cti/connector-testkit';
import { type LoadedConnector, requireConnectors, settingsByEnvName } from './folder.js';
import { REPO_ROOT } from './paths.js';

export interface ConnectorCase extends Conformance {
  slug: string;
  kind: 'enrichment' | 'import';
  /** Absolute path of connectors/<slug>. */
  dir: string;
  definition: ConnectorDefinition;
  /** src/main.ts, for spawned runs. */
  main: string;
  faultable(req: FakeRequest): boolean;
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null;

/** What is wrong with a folder's conformance case, as sentences naming the field; empty when nothing. */
export function conformanceProblems(definition: ConnectorDefinition, value: unknown): string[] {
  if (!isRecord(value)) return ['no default export made with defineConformance'];
  const c = value as Partial<Conformance>;
  const out: string[] = [];
  const shape = shapeOf(definition);
  const keyOf = settingsByEnvName(shape);
  if (typeof c.vendor !== 'string' || c.vendor === '') out.push('vendor: the vendor as its errors name it');
  if (typeof c.env !== 'function') out.push('env: a function of the fake vendor URL');
  if (typeof c.answer !== 'function') out.push('answer: a function of the request');
  if (!isRecord(c.secrets)) out.push('secrets: the secret settings and their values');
  for (const name of Object.keys(c.secrets ?? {})) {
    const key = keyOf.get(name);
    const schema = key === undefined ? undefined : shape[key];
    if (!schema || fieldMeta(schema).secret !== true)
      out.push(`secrets.${name}: not a secret setting of the connector`);
  }
  for (const name of c.freeTextSettings ?? []) {
    if (!keyOf.has(name)) out.push(`freeTextSettings: ${name} is not a setting of the connector`);
  }
  for (const combination of c.invalidCombinations ?? []) {
    for (const name of [combination.variable, ...Object.keys(combination.set), ...(combination.unset ?? [])]) {
      if (!keyOf.has(name)) out.push(`invalidCombinations (${combination.label}): ${name} is not a setting`);
    }
  }
  if (!isRecord(c.endState) || typeof c.endState.author !== 'string' || !c.endState.author.startsWith('identity--')) {
    out.push('endState.author: the STIX id of the author the connector gives what it creates');
  } else if (definition.kind === 'enrichment' && !isRecord(c.endState.observable)) {
    out.push('endState.observable: what the enriched observable holds afterwards');
  } else if (definition.kind === 'import' && typeof c.endState.marking !== 'string') {
    out.push('endState.marking: the marking definition every imported object carries');
  }
  if (definition.kind === 'enrichment') {
    if (c.maxTlpVariable === undefined || !keyOf.has(c.maxTlpVariable)) {
      out.push('maxTlpVariable: the setting holding the maximum TLP (an enrichment must have one)');
    }
    for (const field of ['observable', 'nextObservable'] as const) {
      const o = c[field];
      if (!o || typeof o.value !== 'string' || o.value === '') {
        out.push(`${field}: an observable that makes the connector call the vendor`);
      } else if (!definition.scope.includes(o.entity_type)) {
        out.push(`${field}: ${o.entity_type} is not in the connector's scope (${definition.scope.join(', ')})`);
      }
    }
  }
  return out;
}

/** The folder's case: its test/conformance.ts joined to its definition. Throws naming what is wrong. */
export async function loadConnectorCase(connector: LoadedConnector): Promise<ConnectorCase> {
  const where = `connectors/${connector.slug}/test/conformance.ts`;
  const file = join(connector.dir, 'test', 'conformance.ts');
  if (!existsSync(file)) {
    throw new Error(`${where} does not exist: every connector says how the suites drive it (defineConformance)`);
  }
  const value = ((await import(pathToFileURL(file).href)) as { default?: unknown }).default;
  const problems = conformanceProblems(connector.definition, value);
  if (problems.length > 0) throw new Error(`${where}: ${problems.join('; ')}`);
  const conformance = value as Conformance;
  return {
    ...conformance,
    faultable: conformance.faultable ?? (() => true),
    slug: connector.slug,
    kind: connector.definition.kind,
    dir: connector.dir,
    definition: connector.definition,
    main: join(connector.dir, 'src', 'main.ts'),
  };
}

/** Every connector folder's case, enrichments first, then imports, each by slug. */
export async function connectorCases(root = REPO_ROOT): Promise<ConnectorCase[]> {
  return Promise.all((await requireConnectors(root)).map(loadConnectorCase));
}
