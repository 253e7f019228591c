/**
 * The bundle splitter of pycti 6.8.10 (`OpenCTIStix2Splitter.split_bundle_with_expectations`),
 * reproduced with its observable quirks: the OpenCTI worker imports one object per message in
 * queue order, and what it receives must be what a Python connector would have sent.
 *
 * pycti's algorithm is a recursive depth-first walk over references. This one runs the same walk
 * on an explicit stack (a 100,000-long reference chain does not overflow) and answers its
 * membership questions with maps and sets instead of list scans (no quadratic cost on large
 * reports), while keeping the exact order of every visit and mutation, re-entrant visits on
 * reference cycles included.
 */

import { randomUUID } from 'node:crypto';
import { BundleError } from '../errors/index.js';
import { canonicalize } from './canonical.js';
import { OPENCTI_SDO_EXTENSION } from './ids.js';
import type { StixObject } from './types.js';

/** STIX types the OpenCTI worker accepts, as pycti 6.8.10 lists them. */
const SUPPORTED_TYPES: ReadonlySet<string> = new Set([
  // meta
  'label',
  'vocabulary',
  'kill-chain-phase',
  // core
  'attack-pattern',
  'campaign',
  'case-incident',
  'x-opencti-case-incident',
  'case-rfi',
  'x-opencti-case-rfi',
  'case-rft',
  'x-opencti-case-rft',
  'channel',
  'course-of-action',
  'data-component',
  'x-mitre-data-component',
  'data-source',
  'x-mitre-data-source',
  'event',
  'external-reference',
  'feedback',
  'x-opencti-feedback',
  'grouping',
  'identity',
  'incident',
  'indicator',
  'infrastructure',
  'intrusion-set',
  'language',
  'location',
  'malware',
  'malware-analysis',
  'marking-definition',
  'narrative',
  'note',
  'observed-data',
  'opinion',
  'report',
  'task',
  'x-opencti-task',
  'threat-actor',
  'tool',
  'vulnerability',
  'security-coverage',
  // internal
  'user',
  'group',
  'capability',
  'role',
  'settings',
  'notification',
  'work',
  'trash',
  'draftworkspace',
  'playbook',
  'deleteoperation',
  'workspace',
  'publicdashboard',
  // observables
  'autonomous-system',
  'directory',
  'domain-name',
  'email-addr',
  'email-message',
  'email-mime-part-type',
  'artifact',
  'file',
  'x509-certificate',
  'ipv4-addr',
  'ipv6-addr',
  'mac-addr',
  'mutex',
  'network-traffic',
  'process',
  'software',
  'url',
  'user-account',
  'windows-registry-key',
  'windows-registry-value-type',
  'hostname',
  'cryptographic-key',
  'cryptocurrency-wallet',
  'text',
  'user-agent',
  'bank-account',
  'phone-number',
  'credential',
  'tracking-number',
  'payment-card',
  'media-content',
  'simple-observable',
  'persona',
  'ssh-key',
  // relationships
  'relationship',
  'sighting',
  'pir',
]);

/** pycti's `is_id_supported`: the type before `--` must be supported; a value without `--` always is. */
export function isIdSupported(id: string): boolean {
  const separator = id.indexOf('--');
  return separator === -1 || SUPPORTED_TYPES.has(id.slice(0, separator));
}

export interface SplitOptions {
  /** Drop references to objects absent from the bundle (pycti `cleanup_inconsistent_bundle`). */
  cleanupInconsistentBundle?: boolean | undefined;
  /** Copied to every chunk as `x_opencti_event_version`. */
  eventVersion?: string | undefined;
}

/** One message's worth: a bundle holding a single object. */
export type SplitChunk = {
  type: 'bundle';
  id: string;
  spec_version: '2.1';
  /** The object's `nb_deps`. */
  x_opencti_seq: number;
  objects: [StixObject];
  x_opencti_event_version?: string;
};

export interface SplitResult {
  /** Number of chunks: what pycti adds to the work's expectations. */
  expectations: number;
  /** In sending order: every chunk after the chunks of the objects it references. */
  chunks: SplitChunk[];
  /** Objects dropped because the worker cannot import them (unsupported type, relationship without ends). */
  incompatible: StixObject[];
}

type Item = Record<string, unknown>;

function isRecord(value: unknown): value is Item {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isAbsent(value: unknown): value is null | undefined {
  return value === null || value === undefined;
}

/** `x_opencti_id` and the OpenCTI extension's `id`: internal ids other objects may reference. */
function internalIds(item: Item): string[] {
  const ids: string[] = [];
  if (typeof item.x_opencti_id === 'string' && item.x_opencti_id !== '') ids.push(item.x_opencti_id);
  const extensions = item.extensions;
  if (isRecord(extensions)) {
    const extension = extensions[OPENCTI_SDO_EXTENSION];
    if (isRecord(extension) && typeof extension.id === 'string' && extension.id !== '') ids.push(extension.id);
  }
  return ids;
}

/** pycti's external-reference id, as a dedup key: url, else source_name + external_id, else none. */
function externalReferenceKey(reference: Item): string | undefined {
  if (!isAbsent(reference.url)) return canonicalize({ url: reference.url });
  if (!isAbsent(reference.source_name) && !isAbsent(reference.external_id)) {
    return canonicalize({ source_name: reference.source_name, external_id: reference.external_id });
  }
  return undefined;
}

function killChainPhaseKey(phase: Item): string {
  return canonicalize({ phase_name: phase.phase_name ?? null, kill_chain_name: phase.kill_chain_name ?? null });
}

/** First occurrence per key; entries without a key (or not objects) are dropped. */
function dedupeBy(list: readonly unknown[], keyOf: (entry: Item) => string | undefined): Item[] {
  const seen = new Set<string>();
  const kept: Item[] = [];
  for (const entry of list) {
    if (!isRecord(entry)) continue;
    const key = keyOf(entry);
    if (key === undefined || seen.has(key)) continue;
    seen.add(key);
    kept.push(entry);
  }
  return kept;
}

/**
 * What the walk knows about one id of the bundle (an object's id or one of its internal ids): pycti keeps
 * these in separate dicts and lists; one map entry answers each reference with a single lookup.
 */
interface Slot {
  /** The object the id names (the last listed with it, as pycti's index keeps it). */
  readonly item: Item;
  /** pycti's `is_id_supported` for the id, worked out once. */
  readonly supported: boolean;
  /** `cache_index`: the object whose walk under this id finished, if any. */
  cached: Item | undefined;
  /** `cache_refs`: the ids this id was found to depend on (one, or a set of several); shared by re-entrant frames. */
  deps: string | Set<string> | undefined;
  /** How many times the id is on the current `parents` path. */
  onPath: number;
}

function dependsOn(slot: Slot, id: string): boolean {
  const { deps } = slot;
  return deps === id || (deps instanceof Set && deps.has(id));
}

/** A suspended `enlist_element` call. */
interface Frame {
  /** The id it was called with (an object's id or one of its internal ids). */
  readonly id: string;
  readonly slot: Slot;
  readonly item: Item;
  /** The item's keys when the call started (pycti iterates a snapshot). */
  readonly keys: string[];
  /** Whether `id` is in the `parents` path (false for the top-level call). */
  readonly inPath: boolean;
  keyIndex: number;
  nb: number;
  /** The `*_refs` list being walked, its position, and what is kept of it. */
  refs: readonly unknown[] | undefined;
  refIndex: number;
  keep: string[];
  /** Created on the first kept id (most objects have no list: a Set per frame was most of the garbage). */
  keepSet: Set<string> | undefined;
  /** Set while a child call for a reference is running. */
  waiting: 'refs' | 'ref' | undefined;
}

class Splitter {
  /** Every id of the bundle (pycti's `raw_data` keys), with what the walk learnt about it. */
  private readonly slots = new Map<string, Slot>();
  readonly elements: Item[] = [];
  readonly incompatible: Item[] = [];

  constructor(
    objects: readonly Item[],
    private readonly cleanup: boolean,
  ) {
    for (const item of objects) {
      const id = item.id as string;
      this.slots.set(id, newSlot(id, item));
      for (const internalId of internalIds(item)) this.slots.set(internalId, newSlot(internalId, item));
    }
  }

  /** The value `enlist_element(id)` returns without walking, or undefined when it must walk. */
  private static shortcut(slot: Slot | undefined): number | undefined {
    if (slot === undefined) return 0;
    const { cached } = slot;
    return cached === undefined ? undefined : (cached.nb_deps as number);
  }

  private frame(id: string, inPath: boolean): Frame {
    const slot = this.slots.get(id) as Slot;
    if (inPath) slot.onPath += 1;
    const { item } = slot;
    return {
      id,
      slot,
      item,
      keys: Object.keys(item),
      inPath,
      keyIndex: 0,
      nb: 1,
      refs: undefined,
      refIndex: 0,
      keep: [],
      keepSet: undefined,
      waiting: undefined,
    };
  }

  /**
   * pycti's test for following a reference `ref` (whose slot is `slot`, if in the bundle) found on the item
   * being walked as `frame.id`: a supported type, in the bundle in cleanup mode, not on the parents path,
   * not the item itself, not an id already found to depend on it.
   */
  private follows(frame: Frame, ref: string, slot: Slot | undefined): boolean {
    if (slot === undefined) return !this.cleanup && ref !== frame.id && isIdSupported(ref);
    return slot.supported && slot.onPath === 0 && ref !== frame.id && !dependsOn(slot, frame.id);
  }

  private static addDep(slot: Slot, ref: string): void {
    const { deps } = slot;
    if (deps === undefined) slot.deps = ref;
    else if (typeof deps === 'string') {
      if (deps !== ref) slot.deps = new Set([deps, ref]);
    } else deps.add(ref);
  }

  /** The top-level `enlist_element(id, parents=[])`. */
  enlist(id: string): void {
    if (Splitter.shortcut(this.slots.get(id)) !== undefined) return;
    const stack: Frame[] = [this.frame(id, false)];
    let returned: number | undefined;
    while (stack.length > 0) {
      const frame = stack[stack.length - 1] as Frame;
      if (returned !== undefined) {
        this.resume(frame, returned);
        returned = undefined;
      }
      const child = this.advance(frame);
      if (child !== undefined) {
        stack.push(this.frame(child, true));
        continue;
      }
      this.finish(frame);
      stack.pop();
      if (frame.inPath) frame.slot.onPath -= 1;
      returned = frame.nb;
    }
  }

  /** Continues a frame after its child call returned `nb`. */
  private resume(frame: Frame, nb: number): void {
    frame.nb += nb;
    if (frame.waiting === 'refs') {
      this.keepRef(frame, frame.refs?.[frame.refIndex] as string);
      frame.refIndex++;
    } else {
      frame.keyIndex++;
    }
    frame.waiting = undefined;
  }

  private keepRef(frame: Frame, ref: string): void {
    let kept = frame.keepSet;
    if (kept === undefined) {
      kept = new Set();
      frame.keepSet = kept;
    }
    if (!kept.has(ref)) {
      kept.add(ref);
      frame.keep.push(ref);
    }
    // pycti assigns the kept list after every element, followed or not.
    frame.item[frame.keys[frame.keyIndex] as string] = frame.keep;
  }

  /**
   * Walks the frame's keys until it needs a child call (returns the id to walk) or is done
   * (returns undefined).
   */
  private advance(frame: Frame): string | undefined {
    const { item } = frame;
    while (frame.keyIndex < frame.keys.length) {
      const key = frame.keys[frame.keyIndex] as string;
      const value = item[key];
      if (key.endsWith('_refs')) {
        if (frame.refs === undefined) {
          if (!Array.isArray(value)) {
            // null (pycti skips it) or not a list (pycti would walk a string's characters): left untouched.
            frame.keyIndex++;
            continue;
          }
          frame.refs = value;
          frame.refIndex = 0;
          frame.keep = [];
          frame.keepSet = undefined;
        }
        const refs = frame.refs;
        while (frame.refIndex < refs.length) {
          const ref = refs[frame.refIndex];
          const slot = typeof ref === 'string' ? this.slots.get(ref) : undefined;
          if (typeof ref === 'string' && this.follows(frame, ref, slot)) {
            Splitter.addDep(frame.slot, ref);
            const nb = Splitter.shortcut(slot);
            if (nb === undefined) {
              frame.waiting = 'refs';
              return ref;
            }
            frame.nb += nb;
            this.keepRef(frame, ref);
          } else {
            item[key] = frame.keep;
          }
          frame.refIndex++;
        }
        frame.refs = undefined;
      } else if (key.endsWith('_ref')) {
        if (value !== undefined) {
          const slot = typeof value === 'string' ? this.slots.get(value) : undefined;
          if (typeof value === 'string' && this.follows(frame, value, slot)) {
            Splitter.addDep(frame.slot, value);
            const nb = Splitter.shortcut(slot);
            if (nb === undefined) {
              frame.waiting = 'ref';
              return value;
            }
            frame.nb += nb;
          } else {
            item[key] = null;
          }
        }
      } else if (key === 'external_references' && Array.isArray(value)) {
        item[key] = dedupeBy(value, externalReferenceKey);
      } else if (key === 'kill_chain_phases' && Array.isArray(value)) {
        item[key] = dedupeBy(value, killChainPhaseKey);
      }
      frame.keyIndex++;
    }
    return undefined;
  }

  /** End of `enlist_element`: record `nb_deps`, classify, cache. */
  private finish(frame: Frame): void {
    const { item, id } = frame;
    item.nb_deps = frame.nb;
    if (frame.slot.cached !== undefined) return;
    if (isCompatible(id, item)) this.elements.push(item);
    else this.incompatible.push(item);
    frame.slot.cached = item;
    // Every internal id has a slot (made with the bundle); the walk never changes an object's internal ids.
    for (const internalId of internalIds(item)) {
      const slot = this.slots.get(internalId);
      if (slot !== undefined) slot.cached = item;
    }
  }
}

function newSlot(id: string, item: Item): Slot {
  return { item, supported: isIdSupported(id), cached: undefined, deps: undefined, onPath: 0 };
}

function isCompatible(id: string, item: Item): boolean {
  if (item.type === 'relationship') return !isAbsent(item.source_ref) && !isAbsent(item.target_ref);
  if (item.type === 'sighting') {
    return (
      !isAbsent(item.sighting_of_ref) && Array.isArray(item.where_sighted_refs) && item.where_sighted_refs.length > 0
    );
  }
  return isIdSupported(id);
}

/** A value JSON cannot carry as it is: the worker would receive something else than what was built. */
function isNonData(value: unknown): boolean {
  return typeof value === 'function' || typeof value === 'symbol' || typeof value === 'bigint';
}

/**
 * The bundle's objects, ready to be rewritten: parsed from text, or shallow copies of the caller's objects.
 * The walk only ever replaces an object's top-level values (reference lists, deduplicated lists, nb_deps),
 * never changes a nested value in place, so a shallow copy keeps the caller's bundle untouched without
 * duplicating every string and nested value of a large bundle (as a deep clone did).
 */
function bundleObjects(bundle: unknown): { id: unknown; objects: unknown[] } {
  let data: unknown = bundle;
  if (typeof bundle === 'string') {
    try {
      data = JSON.parse(bundle);
    } catch (err) {
      throw new BundleError('File data is not a valid JSON', [], { cause: err });
    }
  }
  if (!isRecord(data) || !Array.isArray(data.objects)) throw new BundleError('File data is not a valid bundle');
  if (typeof bundle === 'string') return { id: data.id, objects: data.objects };
  // One copy per object, even when the same object is listed twice (as a deep clone keeps it).
  const copies = new Map<Item, Item>();
  const objects = data.objects.map((object: unknown) => {
    if (!isRecord(object)) return object;
    let copy = copies.get(object);
    if (copy === undefined) {
      copy = { ...object };
      copies.set(object, copy);
    }
    return copy;
  });
  return { id: data.id, objects };
}

/**
 * Splits a bundle into one-object chunks in dependency order, exactly as pycti 6.8.10 does before
 * queueing (reference/protocol-notes.md#splitting-a-bundle), without touching the caller's bundle:
 *
 * - each kept object gets `nb_deps` (1 + the `nb_deps` of every reference it follows, counted per
 *   occurrence), which is also its chunk's `x_opencti_seq`; chunks are stably sorted by it;
 * - a `*_ref` that is not followed (unsupported type, cycle, self reference, absent object in
 *   cleanup mode) becomes `null`; a `*_refs` list keeps only the followed ids, deduplicated;
 * - `external_references` and `kill_chain_phases` keep the first entry per pycti id, and external
 *   references without an id (no url, no source_name + external_id) are dropped;
 * - objects of unsupported types, relationships missing an end and sightings missing
 *   `sighting_of_ref` or `where_sighted_refs` are returned as `incompatible` and not chunked.
 *
 * Where pycti would crash on malformed input (a relationship without `source_ref`, a non-string
 * reference), this treats it as absent instead.
 *
 * @throws BundleError for text that is not JSON, a value without an `objects` list, objects
 *   without a string `id`, or an object property that is a function, symbol or bigint.
 */
export function splitBundle(bundle: unknown, options: SplitOptions = {}): SplitResult {
  const { expectations, chunks, incompatible } = splitBundleLazily(bundle, options);
  return { expectations, chunks: [...chunks], incompatible };
}

/** What {@link splitBundleLazily} returns: the walk is done, the chunks are made as they are read. */
export interface LazySplitResult {
  /** Number of chunks the iterator yields: what pycti adds to the work's expectations. */
  expectations: number;
  /**
   * The chunks of {@link splitBundle}, the same objects in the same order, each created when it is read:
   * a publisher reading it as the broker confirms never holds every chunk of a large bundle. Single pass.
   */
  chunks: IterableIterator<SplitChunk>;
  /** Objects dropped because the worker cannot import them (unsupported type, relationship without ends). */
  incompatible: StixObject[];
}

/**
 * {@link splitBundle} with the chunks produced on demand. The dependency walk needs the whole bundle (an
 * object's position depends on every object that references it), so it runs here, at once, and any
 * BundleError is thrown here; only the one-object chunk bundles are left to the iterator.
 */
export function splitBundleLazily(bundle: unknown, options: SplitOptions = {}): LazySplitResult {
  const data = bundleObjects(bundle);
  const objects = data.objects;
  const problems: string[] = [];
  objects.forEach((object, index) => {
    if (!isRecord(object) || typeof object.id !== 'string') {
      problems.push(`objects[${index}] has no string id`);
      return;
    }
    for (const key of Object.keys(object)) {
      const value = object[key];
      if (isNonData(value)) problems.push(`objects[${index}].${key} is a ${typeof value}, not data`);
    }
  });
  if (problems.length > 0) throw new BundleError('File data is not a valid bundle', problems);
  const items = objects as Item[];
  const bundleId = typeof data.id === 'string' ? data.id : `bundle--${randomUUID()}`;

  const splitter = new Splitter(items, options.cleanupInconsistentBundle === true);
  for (const item of items) splitter.enlist(item.id as string);

  const sorted = splitter.elements.sort((a, b) => (a.nb_deps as number) - (b.nb_deps as number));
  return {
    expectations: sorted.length,
    chunks: chunksOf(sorted, bundleId, options.eventVersion),
    incompatible: splitter.incompatible as StixObject[],
  };
}

function* chunksOf(sorted: Item[], bundleId: string, eventVersion: string | undefined): Generator<SplitChunk> {
  // An object reached both through its id and an internal id is enlisted twice (as in pycti): each of its
  // chunks after the first gets its own copy. Only those objects are remembered, so that every other
  // object can be collected once its chunk has been read.
  const seen = new Set<Item>();
  const repeated = new Set<Item>();
  for (const element of sorted) {
    if (seen.has(element)) repeated.add(element);
    else seen.add(element);
  }
  seen.clear();
  const emitted = new Set<Item>();
  for (let i = 0; i < sorted.length; i++) {
    const element = sorted[i] as Item;
    (sorted as Array<Item | undefined>)[i] = undefined;
    let object = element;
    if (repeated.has(element)) {
      if (emitted.has(element)) object = structuredClone(element);
      else emitted.add(element);
    }
    const chunk: SplitChunk = {
      type: 'bundle',
      id: bundleId,
      spec_version: '2.1',
      x_opencti_seq: element.nb_deps as number,
      objects: [object as StixObject],
    };
    if (eventVersion !== undefined) chunk.x_opencti_event_version = eventVersion;
    yield chunk;
  }
}
