/**
 * Bundle assembly and checking. A bundle leaves the connector only when every reference in it
 * resolves: pycti's splitter would otherwise keep the dangling ref (or, in cleanup mode, silently
 * drop it), and the worker would retry or lose the object.
 */

import { BundleError } from '../errors/index.js';
import { canonicalize } from './canonical.js';
import { OASIS_NAMESPACE, uuidV5 } from './ids.js';
import { withStixTimestamps } from './timestamps.js';
import { tlpMarkingDefinition, tlpOfMarkingId } from './tlp.js';
import type { Identity, MarkingDefinition, StixBundle, StixObject } from './types.js';

const STIX_ID =
  /^([a-z0-9][a-z0-9-]*[a-z0-9]|[a-z0-9])--[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function quote(value: unknown): string {
  return typeof value === 'string' ? `'${value}'` : (JSON.stringify(value) ?? typeof value);
}

/** Problems with the object's own `type` and `id`; empty when both are well-formed. */
export function identityProblems(object: unknown, index: number): string[] {
  if (!isRecord(object)) return [`objects[${index}] is not an object`];
  const { type, id } = object;
  const where = typeof id === 'string' ? id : `objects[${index}]`;
  const problems: string[] = [];
  const hasType = typeof type === 'string' && type !== '';
  if (!hasType) problems.push(`${where}: missing type`);
  if (typeof id !== 'string' || id === '') problems.push(`objects[${index}]: missing id`);
  else if (!STIX_ID.test(id)) problems.push(`${id}: id is not '<type>--<uuid>'`);
  else if (hasType && !id.startsWith(`${type}--`)) problems.push(`${id}: id does not match type '${type}'`);
  return problems;
}

/** Every top-level `*_ref` / `*_refs` value of `object`, with the property it came from. */
function* referencesOf(object: Record<string, unknown>): Generator<[property: string, ref: unknown]> {
  for (const [key, value] of Object.entries(object)) {
    if (value === null || value === undefined) continue;
    if (key.endsWith('_refs')) {
      if (Array.isArray(value)) for (const ref of value) yield [key, ref];
      else yield [key, value];
    } else if (key.endsWith('_ref')) {
      yield [key, value];
    }
  }
}

function referenceProblems(objects: readonly unknown[], known: ReadonlySet<string>): string[] {
  const problems: string[] = [];
  for (const object of objects) {
    if (!isRecord(object)) continue;
    const owner = typeof object.id === 'string' ? object.id : '(object without id)';
    for (const [property, ref] of referencesOf(object)) {
      if (typeof ref !== 'string') problems.push(`${owner}.${property}: ${quote(ref)} is not a STIX id`);
      else if (!known.has(ref)) problems.push(`${owner}.${property}: dangling reference to ${ref}`);
    }
  }
  return problems;
}

export interface ValidateBundleOptions {
  /** Ids that exist outside the bundle (the enriched entity, a platform author). */
  external?: Iterable<string> | undefined;
}

/**
 * Every problem found in `bundle`: shape, objects without a well-formed `type`/`id`, duplicated
 * ids with different content, and top-level references (`*_ref`, `*_refs`, including
 * `x_opencti_*` and `object_refs`) that resolve neither inside the bundle nor to `external`.
 * Empty when the bundle is sound. For downloaded vendor bundles, which must not throw.
 */
export function validateBundle(bundle: unknown, options: ValidateBundleOptions = {}): string[] {
  if (!isRecord(bundle)) return ['the bundle is not an object'];
  const problems: string[] = [];
  if (bundle.type !== 'bundle') problems.push(`type is ${quote(bundle.type)}, not 'bundle'`);
  if (typeof bundle.id !== 'string' || !bundle.id.startsWith('bundle--')) {
    problems.push(`id ${quote(bundle.id)} is not a bundle id`);
  }
  if (!Array.isArray(bundle.objects)) return [...problems, 'objects is not a list'];
  const objects: readonly unknown[] = bundle.objects;
  const known = new Set<string>(options.external ?? []);
  const firstById = new Map<string, string>();
  objects.forEach((object, index) => {
    for (const problem of identityProblems(object, index)) problems.push(problem);
    if (!isRecord(object) || typeof object.id !== 'string') return;
    known.add(object.id);
    let text: string;
    try {
      text = canonicalize(object);
    } catch (err) {
      problems.push(`${object.id}: ${err instanceof Error ? err.message : String(err)}`);
      return;
    }
    const first = firstById.get(object.id);
    if (first === undefined) firstById.set(object.id, text);
    else if (first !== text) problems.push(`${object.id}: present several times with different content`);
  });
  // One at a time: a spread of a few hundred thousand problems overflows the call stack.
  for (const problem of referenceProblems(objects, known)) problems.push(problem);
  return problems;
}

export interface AssembleBundleInput {
  /** The connector's objects. Later copies of an id replace earlier ones. */
  objects: Iterable<StixObject>;
  /** The connector's identity, put first in the bundle. */
  author?: Identity | undefined;
  /** Marking definitions to include (TLP ones are built automatically when referenced). */
  markings?: readonly MarkingDefinition[] | undefined;
  /** Ids that exist outside the bundle and may be referenced (the enriched entity …). */
  external?: Iterable<string> | undefined;
}

/** `bundle--<uuid v5 of the sorted object ids>`: the same objects give the same bundle id. */
export function bundleIdFor(objectIds: Iterable<string>): string {
  return `bundle--${uuidV5(OASIS_NAMESPACE, canonicalize([...objectIds].sort()))}`;
}

/**
 * A bundle ready to send: the author first, then the marking definitions, then the objects.
 *
 * - Objects are deduplicated by id; when an id repeats, the later object wins (in the position of
 *   the first). That is what pycti's splitter does (it indexes objects by id, last one wins), so a
 *   port behaves the same when a connector re-emits an updated object.
 * - Every top-level STIX timestamp is written in the SDK's one form (`…T10:00:00.000Z`), vendor
 *   objects' included: the same instant, the same text.
 * - Every marking referenced through `object_marking_refs` is included when its definition is
 *   known: from `markings`, or built for the fixed TLP ids.
 * - Then every top-level reference must resolve inside the bundle or to `external`, and every
 *   object must have a `type` and an id `<type>--<uuid>`.
 *
 * @throws BundleError listing every problem (dangling references with object and property), or
 *   when there are no objects at all.
 */
export function assembleBundle(input: AssembleBundleInput): StixBundle {
  const byId = new Map<string, StixObject>();
  const shapeProblems: string[] = [];
  let index = 0;
  const add = (object: StixObject): void => {
    const problems = identityProblems(object, index++);
    if (problems.length > 0) {
      shapeProblems.push(...problems);
      return;
    }
    byId.set(object.id, withStixTimestamps(object));
  };

  const connectorObjects = [...input.objects];
  if (connectorObjects.length === 0) throw new BundleError('Nothing to send: the bundle has no objects');
  if (input.author !== undefined) add(input.author);
  for (const marking of input.markings ?? []) add(marking);
  for (const object of connectorObjects) add(object);
  if (shapeProblems.length > 0) throw new BundleError('Invalid STIX objects', shapeProblems);

  const known = new Map<string, MarkingDefinition>((input.markings ?? []).map((m) => [m.id, m]));
  for (const object of [...byId.values()]) {
    const refs = object.object_marking_refs;
    if (!Array.isArray(refs)) continue;
    for (const ref of refs) {
      if (typeof ref !== 'string' || byId.has(ref)) continue;
      const tlp = tlpOfMarkingId(ref);
      const definition = known.get(ref) ?? (tlp === undefined ? undefined : tlpMarkingDefinition(tlp));
      if (definition !== undefined) byId.set(ref, definition);
    }
  }

  // Author and markings first: easier to read, and definitions before their users.
  const head = [input.author?.id, ...(input.markings ?? []).map((m) => m.id)];
  const ordered: StixObject[] = [];
  const placed = new Set<string>();
  for (const id of head) {
    const object = id === undefined ? undefined : byId.get(id);
    if (object !== undefined && id !== undefined && !placed.has(id)) {
      ordered.push(object);
      placed.add(id);
    }
  }
  for (const object of byId.values()) {
    if (object.type === 'marking-definition' && !placed.has(object.id)) {
      ordered.push(object);
      placed.add(object.id);
    }
  }
  for (const [id, object] of byId) {
    if (!placed.has(id)) ordered.push(object);
  }

  const resolvable = new Set<string>([...byId.keys(), ...(input.external ?? [])]);
  const problems = referenceProblems(ordered, resolvable);
  if (problems.length > 0) throw new BundleError('The bundle has unresolved references', problems);

  return { type: 'bundle', id: bundleIdFor(byId.keys()), spec_version: '2.1', objects: ordered };
}
