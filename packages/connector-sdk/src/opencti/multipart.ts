/**
 * multipart/form-data bodies (RFC 7578), written by hand for the GraphQL multipart requests of the client:
 * the runtime's FormData and Blob would load Node's fetch implementation into the daemon (transport.ts).
 * Parts are laid out as WHATWG FormData encodes them, so a server reads them the same way.
 */
import { randomBytes } from 'node:crypto';

/** A text part (a JSON document here) or a file part. */
export type FormPart =
  | { name: string; value: string }
  | { name: string; filename: string; contentType: string; content: Uint8Array };

export interface EncodedForm {
  /** `multipart/form-data; boundary=…`, for the request's Content-Type. */
  contentType: string;
  body: Buffer;
}

/**
 * Encodes `parts` in order. The boundary is random and drawn again until it occurs nowhere in the parts
 * (names and contents alike), so no content can end a part early, whatever bytes a file holds.
 */
export function encodeMultipartForm(
  parts: readonly FormPart[],
  nextBoundary: () => string = randomBoundary,
): EncodedForm {
  const encoded = parts.map((part) => {
    let head = `Content-Disposition: form-data; name="${escapeQuoted(part.name)}"`;
    if ('content' in part) {
      head += `; filename="${escapeQuoted(part.filename)}"\r\nContent-Type: ${mediaType(part.contentType)}`;
    }
    const content =
      'content' in part
        ? Buffer.from(part.content.buffer, part.content.byteOffset, part.content.byteLength)
        : Buffer.from(part.value, 'utf8');
    return { head: Buffer.from(`${head}\r\n\r\n`, 'utf8'), content };
  });
  let boundary = nextBoundary();
  while (encoded.some((p) => p.head.includes(boundary) || p.content.includes(boundary))) boundary = nextBoundary();

  const chunks: Buffer[] = [];
  for (const part of encoded) {
    chunks.push(Buffer.from(`--${boundary}\r\n`), part.head, part.content, Buffer.from('\r\n'));
  }
  chunks.push(Buffer.from(`--${boundary}--\r\n`));
  return { contentType: `multipart/form-data; boundary=${boundary}`, body: Buffer.concat(chunks) };
}

/** 128 random bits behind a fixed prefix: 45 characters, within the 70 RFC 2046 allows. */
function randomBoundary(): string {
  return `----cti-form-${randomBytes(16).toString('hex')}`;
}

/** Names in a quoted header parameter, escaped as WHATWG FormData does: no quote or line break survives. */
function escapeQuoted(text: string): string {
  return text.replace(/\n/g, '%0A').replace(/\r/g, '%0D').replace(/"/g, '%22');
}

/** The part's Content-Type as a Blob would keep it: lower-cased, or octet-stream when not printable ASCII. */
function mediaType(type: string): string {
  return type === '' || /[^\x20-\x7e]/.test(type) ? 'application/octet-stream' : type.toLowerCase();
}
