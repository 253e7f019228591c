/**
 * Files attached to objects in a bundle (`x_opencti_files`: name, MIME type, base64 content), which the
 * platform stores on the object it imports (pycti's importer uploads them). A file is checked before it is
 * attached: its size against a cap, its bytes against the MIME type it claims (by their magic number), and
 * its name, and the size of its object once the file is in it: an object too large for one broker message
 * would have the whole bundle refused (assertSendable counts the base64 text like any other value), so such
 * a file is refused instead and the object goes without it.
 */
import { AttachmentError } from '../errors/index.js';
import { largestObjectBytes } from '../queue/message.js';
import { DEFAULT_MAX_MESSAGE_BYTES } from '../queue/publisher.js';
import type { StixObject } from './types.js';

/**
 * The largest object, files included, one push message carries (its JSON text, in bytes). A file that
 * takes its object past it is refused as too large: the bundle would otherwise be refused whole.
 */
const MAX_OBJECT_BYTES = largestObjectBytes(DEFAULT_MAX_MESSAGE_BYTES);

/** Default cap on one file's bytes: a page screenshot is a few hundred KiB; 5 MiB is 6.7 MiB of base64. */
export const DEFAULT_MAX_FILE_BYTES = 5 * 1024 * 1024;
/** Longest file name, in UTF-16 units (what file systems and the platform's storage accept). */
const MAX_NAME_LENGTH = 255;

/** The MIME types whose bytes the SDK can check, each by its magic number. */
const SIGNATURES: Readonly<Record<string, (bytes: Uint8Array) => boolean>> = {
  'image/png': (b) => startsWith(b, [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
  'image/jpeg': (b) => startsWith(b, [0xff, 0xd8, 0xff]),
  'image/gif': (b) => startsWith(b, ascii('GIF87a')) || startsWith(b, ascii('GIF89a')),
  'image/webp': (b) => startsWith(b, ascii('RIFF')) && startsWith(b.subarray(8), ascii('WEBP')),
  'application/pdf': (b) => startsWith(b, ascii('%PDF-')),
};

/** The MIME types attachFile accepts. */
export const ATTACHABLE_MIME_TYPES: readonly string[] = Object.keys(SIGNATURES);

function ascii(text: string): number[] {
  return [...text].map((c) => c.charCodeAt(0));
}

function startsWith(bytes: Uint8Array, prefix: readonly number[]): boolean {
  return bytes.length >= prefix.length && prefix.every((byte, i) => bytes[i] === byte);
}

/** The type the bytes are, by their magic number, among the attachable ones; undefined for anything else. */
export function sniffMimeType(bytes: Uint8Array): string | undefined {
  return ATTACHABLE_MIME_TYPES.find((type) => SIGNATURES[type]?.(bytes) === true);
}

export interface FileAttachment {
  /** The file name shown in OpenCTI: no path, no control characters, at most 255 characters. */
  name: string;
  /** One of ATTACHABLE_MIME_TYPES; the bytes must be of that type. */
  mimeType: string;
  data: Uint8Array;
  /**
   * Whether the platform's import connectors leave the file alone (pycti's `no_trigger_import`). Default
   * true: an enrichment's screenshot is evidence, not something to import.
   */
  noTriggerImport?: boolean;
}

export interface AttachFileOptions {
  /** Largest file accepted, in bytes. Default DEFAULT_MAX_FILE_BYTES. */
  maxBytes?: number;
  /** The setting behind maxBytes, named in the error. */
  maxBytesSetting?: string;
}

/** One entry of `x_opencti_files`, as pycti's importer reads it. */
export interface OpenCtiFile {
  name: string;
  mime_type: string;
  /** The content, base64. */
  data: string;
  no_trigger_import: boolean;
}

function describeSize(bytes: number): string {
  return bytes >= 1024 * 1024 ? `${(bytes / (1024 * 1024)).toFixed(1)} MiB` : `${bytes} bytes`;
}

/** Why `name` is not a file name, or null. */
function nameProblem(name: string): string | null {
  if (name.trim() === '') return 'it is empty';
  if (name.length > MAX_NAME_LENGTH) return `it is longer than ${MAX_NAME_LENGTH} characters`;
  if (/[/\\]/.test(name)) return 'it holds a path separator';
  if (name === '.' || name === '..') return 'it is a directory name';
  for (let i = 0; i < name.length; i++) {
    const code = name.charCodeAt(i);
    if (code < 0x20 || code === 0x7f) return 'it holds a control character';
  }
  return null;
}

/**
 * Checks a file before it is attached.
 * @throws AttachmentError naming the file and the problem (never its content).
 */
export function checkFile(file: FileAttachment, options: AttachFileOptions = {}): void {
  const maxBytes = options.maxBytes ?? DEFAULT_MAX_FILE_BYTES;
  if (!(Number.isSafeInteger(maxBytes) && maxBytes > 0)) {
    throw new RangeError(`maxBytes must be a positive integer, got ${String(maxBytes)}`);
  }
  const shown = JSON.stringify(file.name.slice(0, 80));
  const badName = nameProblem(file.name);
  if (badName !== null) throw new AttachmentError(`Cannot attach the file ${shown}: ${badName}`, 'bad-name');
  const check = SIGNATURES[file.mimeType];
  if (check === undefined) {
    throw new AttachmentError(
      `Cannot attach ${shown}: ${JSON.stringify(file.mimeType)} is not a type whose content can be checked (${ATTACHABLE_MIME_TYPES.join(', ')})`,
      'unsupported-type',
    );
  }
  if (file.data.length > maxBytes) {
    const setting = options.maxBytesSetting === undefined ? '' : ` (${options.maxBytesSetting})`;
    throw new AttachmentError(
      `Cannot attach ${shown}: ${describeSize(file.data.length)}, over the ${describeSize(maxBytes)} accepted${setting}`,
      'too-large',
    );
  }
  if (!check(file.data)) {
    const actual = sniffMimeType(file.data);
    throw new AttachmentError(
      `Cannot attach ${shown}: its content is not ${file.mimeType}${actual === undefined ? '' : ` but ${actual}`}`,
      'not-its-type',
    );
  }
}

/**
 * A copy of `object` with `file` added to its `x_opencti_files` (a file of the same name is replaced).
 * @throws AttachmentError when the file is refused (see checkFile); `object` is left as it was.
 */
export function attachFile<T extends StixObject>(
  object: T,
  file: FileAttachment,
  options: AttachFileOptions = {},
): T & { x_opencti_files: OpenCtiFile[] } {
  checkFile(file, options);
  const entry: OpenCtiFile = {
    name: file.name,
    mime_type: file.mimeType,
    data: Buffer.from(file.data.buffer, file.data.byteOffset, file.data.length).toString('base64'),
    no_trigger_import: file.noTriggerImport ?? true,
  };
  const current = Array.isArray(object.x_opencti_files) ? (object.x_opencti_files as OpenCtiFile[]) : [];
  const attached = { ...object, x_opencti_files: [...current.filter((f) => f?.name !== file.name), entry] };
  const bytes = Buffer.byteLength(JSON.stringify(attached));
  if (bytes > MAX_OBJECT_BYTES) {
    throw new AttachmentError(
      `Cannot attach ${JSON.stringify(file.name.slice(0, 80))}: the object with it would be ${describeSize(bytes)} of JSON (the file as base64), over the ${describeSize(MAX_OBJECT_BYTES)} one broker message carries`,
      'too-large',
    );
  }
  return attached;
}
