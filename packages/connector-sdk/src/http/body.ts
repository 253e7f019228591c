import type { ZodType } from 'zod';
import { redactString } from '../log/redact.js';

/** Why a body could not be used, in words for the error message. */
export class BodyProblem extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BodyProblem';
  }
}

export function decodeBody(body: Buffer): string {
  const text = body.toString('utf8');
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}

function looksLikeHtml(text: string, contentType: string | undefined): boolean {
  return /html/i.test(contentType ?? '') || /^\s*<(?:!doctype|html|head|body|\?xml|[a-z])/i.test(text);
}

function describeSize(bytes: number): string {
  return bytes === 1 ? '1 byte' : `${bytes} bytes`;
}

/**
 * Parses a JSON body. Empty → undefined. HTML (a login page, a proxy's error page) and truncated
 * or malformed JSON are BodyProblems.
 */
export function parseJsonBody(body: Buffer, contentType: string | undefined): unknown {
  const text = decodeBody(body);
  if (text.trim() === '') return undefined;
  if (looksLikeHtml(text, contentType)) {
    throw new BodyProblem(
      `an HTML page instead of JSON (${describeSize(body.length)}); a proxy, captive portal or login page may be in the way`,
    );
  }
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new BodyProblem(
      `malformed or truncated JSON (${describeSize(body.length)}, content-type ${contentType ?? 'not given'})`,
    );
  }
}

/** For accepted error statuses: JSON when it parses, the text otherwise, undefined when empty. */
export function lenientBody(body: Buffer, responseType: 'json' | 'text'): unknown {
  const text = decodeBody(body);
  if (responseType === 'text') return text;
  if (text.trim() === '') return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`;
    else out += out === '' ? String(key) : `.${String(key)}`;
  }
  return out === '' ? '(root)' : out;
}

/** Validates `data` with `schema`; a mismatch names the first failing fields (never their values). */
export function validateBody<T>(schema: ZodType<T>, data: unknown): T {
  const result = schema.safeParse(data);
  if (result.success) return result.data;
  if (data === undefined) throw new BodyProblem('an empty body where data was expected');
  const issues = result.error.issues.slice(0, 3).map((issue) => `${formatPath(issue.path)}: ${issue.message}`);
  const more = result.error.issues.length > 3 ? ` (and ${result.error.issues.length - 3} more)` : '';
  throw new BodyProblem(`a body of an unexpected shape: ${issues.join('; ')}${more}`);
}

const DETAIL_MAX = 200;

function pickMessage(value: unknown, depth = 0): string | undefined {
  if (typeof value === 'string') return value;
  if (depth > 2 || value === null || typeof value !== 'object') return undefined;
  if (Array.isArray(value)) return pickMessage(value[0], depth + 1);
  const record = value as Record<string, unknown>;
  for (const key of [
    'message',
    'error_description',
    'detail',
    'title',
    'error',
    'errors',
    'description',
    'msg',
    'reason',
  ]) {
    const found = pickMessage(record[key], depth + 1);
    if (found !== undefined && found.trim() !== '') return found;
  }
  return undefined;
}

/**
 * The vendor's own short explanation from an error body ("Invalid API key", "Quota exceeded"),
 * one line, at most 200 characters, secrets redacted. HTML pages give their <title>.
 */
export function vendorDetail(body: Buffer, contentType: string | undefined): string | undefined {
  const text = decodeBody(body.subarray(0, 64 * 1024)).trim();
  if (text === '') return undefined;
  let detail: string | undefined;
  if (looksLikeHtml(text, contentType)) {
    detail = /<title[^>]*>([^<]*)<\/title>/i.exec(text)?.[1];
  } else {
    try {
      detail = pickMessage(JSON.parse(text));
    } catch {
      detail = text.split('\n', 1)[0];
    }
  }
  if (detail === undefined) return undefined;
  const oneLine = Array.from(detail, (ch) => (ch.charCodeAt(0) < 0x20 || ch.charCodeAt(0) === 0x7f ? ' ' : ch))
    .join('')
    .replace(/\s+/g, ' ')
    .trim();
  if (oneLine === '') return undefined;
  const redacted = redactString(oneLine);
  return redacted.length > DETAIL_MAX ? `${redacted.slice(0, DETAIL_MAX - 1)}…` : redacted;
}
