/**
 * Whether a bundle can be sent whole. Checked before its first message leaves: a bundle whose tenth
 * object cannot be serialised (nested 100,000 levels deep, a bigint, larger than a broker message) would
 * otherwise be half published, the first nine objects on the queue and the rest lost.
 */
import { BundleRefusedError } from '../errors/index.js';
import { identityProblems } from './bundle.js';
import { MAX_NESTING_DEPTH } from './canonical.js';

/** Values walked in one object before it is refused: bounds the walk of a value that shares sub-values. */
const MAX_VALUES_PER_OBJECT = 10_000_000;
/** Problems listed in an error (a work's error line stays readable however broken the bundle is). */
const MAX_PROBLEMS_SHOWN = 20;

export interface SendableLimits {
  /** Largest JSON text of one object, in bytes (one push message carries one object). No limit by default. */
  maxObjectBytes?: number | undefined;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A path for messages: its first segments, and how deep it goes when it goes deeper. */
function shortPath(segments: readonly string[]): string {
  const shown = segments.slice(0, 4).join('');
  return segments.length > 4 ? `${shown}… (${segments.length} levels)` : shown;
}

function segmentOf(key: string | number): string {
  return typeof key === 'number' ? `[${key}]` : /^[A-Za-z_][\w-]*$/.test(key) ? `.${key}` : `[${JSON.stringify(key)}]`;
}

/** What JSON would silently lose or choke on, or undefined for a value JSON carries as it is. */
function nonData(value: unknown): string | undefined {
  switch (typeof value) {
    case 'function':
    case 'symbol':
    case 'bigint':
      return `a ${typeof value}`;
    case 'number':
      return Number.isFinite(value) ? undefined : String(value);
    case 'object': {
      if (value === null || Array.isArray(value)) return undefined;
      const proto: unknown = Object.getPrototypeOf(value);
      if (proto === Object.prototype || proto === null) return undefined;
      if (typeof (value as { toJSON?: unknown }).toJSON === 'function') return undefined;
      return `a ${Object.prototype.toString.call(value).slice(8, -1)}`;
    }
    default:
      return undefined;
  }
}

interface Entry {
  value: unknown;
  depth: number;
  /** The key or index under its parent; made into a path segment only for a message. */
  key: string | number;
  parent: Entry | undefined;
}

function pathOf(entry: Entry): string[] {
  const segments: string[] = [];
  for (let at: Entry | undefined = entry; at?.parent !== undefined; at = at.parent) segments.push(segmentOf(at.key));
  return segments.reverse();
}

/**
 * One object's values, walked without recursion: the first problem found (nesting, a value JSON cannot
 * carry), or the size bound of its JSON text (an upper bound, exact only for ASCII without escapes).
 */
function walkObject(object: Record<string, unknown>): { problem: string } | { upperBytes: number } {
  const stack: Entry[] = [{ value: object, depth: 0, key: '', parent: undefined }];
  let units = 0;
  let values = 0;
  for (let entry = stack.pop(); entry !== undefined; entry = stack.pop()) {
    const { value } = entry;
    if (++values > MAX_VALUES_PER_OBJECT) return { problem: `holds more than ${MAX_VALUES_PER_OBJECT} values` };
    const problem = nonData(value);
    if (problem !== undefined) return { problem: `${shortPath(pathOf(entry))} is ${problem}, which JSON cannot carry` };
    if (typeof value === 'string') {
      units += value.length;
      continue;
    }
    if (typeof value !== 'object' || value === null) continue;
    if (entry.depth >= MAX_NESTING_DEPTH) {
      return {
        problem: `${shortPath(pathOf(entry))} is nested more than ${MAX_NESTING_DEPTH} levels deep (or refers to itself)`,
      };
    }
    const depth = entry.depth + 1;
    if (Array.isArray(value)) {
      for (let i = value.length - 1; i >= 0; i--) stack.push({ value: value[i], depth, key: i, parent: entry });
    } else {
      for (const key of Object.keys(value)) {
        units += key.length;
        stack.push({ value: (value as Record<string, unknown>)[key], depth, key, parent: entry });
      }
    }
  }
  // At most 6 bytes per UTF-16 unit (\u00XX escapes, lone surrogates) and 32 of syntax per value.
  return { upperBytes: 6 * units + 32 * values };
}

/** Top-level references that are not strings: the worker cannot resolve them. */
function referenceProblems(object: Record<string, unknown>, owner: string): string[] {
  const problems: string[] = [];
  for (const [key, value] of Object.entries(object)) {
    if (value === null || value === undefined) continue;
    const refs = key.endsWith('_refs') ? (Array.isArray(value) ? value : [value]) : key.endsWith('_ref') ? [value] : [];
    for (const ref of refs) {
      if (typeof ref !== 'string') problems.push(`${owner}.${key}: a ${typeof ref} is not a STIX id`);
    }
  }
  return problems;
}

/**
 * Every reason `bundle` cannot be sent as it is, each naming the object and the property at fault: an
 * object without a well-formed `type` and `id`, a reference that is not a string, a value nested more than
 * {@link MAX_NESTING_DEPTH} levels deep (or circular), a value JSON cannot carry (bigint, function,
 * NaN, a Map...), an object larger than `maxObjectBytes` once serialised. Empty when it can be sent.
 */
export function sendableProblems(bundle: unknown, limits: SendableLimits = {}): string[] {
  if (!isRecord(bundle) || !Array.isArray(bundle.objects)) return ['the bundle has no list of objects'];
  const problems: string[] = [];
  const objects: readonly unknown[] = bundle.objects;
  for (let index = 0; index < objects.length; index++) {
    const object = objects[index];
    const identity = identityProblems(object, index);
    for (const problem of identity) problems.push(problem);
    if (!isRecord(object)) continue;
    const owner = typeof object.id === 'string' ? object.id : `objects[${index}]`;
    for (const problem of referenceProblems(object, owner)) problems.push(problem);
    const walked = walkObject(object);
    if ('problem' in walked) {
      problems.push(`${owner}: ${walked.problem.replace(/^\./, '')}`);
      continue;
    }
    const limit = limits.maxObjectBytes;
    if (limit === undefined || walked.upperBytes <= limit) continue;
    const bytes = Buffer.byteLength(JSON.stringify(object), 'utf8');
    if (bytes > limit) problems.push(`${owner}: its JSON is ${bytes} bytes, over the ${limit}-byte limit of a message`);
  }
  return problems;
}

/** @throws BundleRefusedError listing the problems (the first ones) when `bundle` cannot be sent whole. */
export function assertSendable(bundle: unknown, limits: SendableLimits = {}): void {
  const problems = sendableProblems(bundle, limits);
  if (problems.length === 0) return;
  const shown =
    problems.length > MAX_PROBLEMS_SHOWN
      ? [...problems.slice(0, MAX_PROBLEMS_SHOWN), `… ${problems.length - MAX_PROBLEMS_SHOWN} more`]
      : problems;
  throw new BundleRefusedError('The bundle cannot be sent, nothing of it was', shown);
}
