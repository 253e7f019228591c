import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { AttachmentError } from '../errors/index.js';
import { largestObjectBytes } from '../queue/message.js';
import { DEFAULT_MAX_MESSAGE_BYTES } from '../queue/publisher.js';
import {
  ATTACHABLE_MIME_TYPES,
  attachFile,
  checkFile,
  DEFAULT_MAX_FILE_BYTES,
  type FileAttachment,
  sniffMimeType,
} from './files.js';
import { observableId } from './ids.js';
import { sendableProblems } from './sendable.js';
import type { StixObject } from './types.js';

const PNG_MAGIC = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
const png = (body: number[] | Uint8Array = [0, 0, 0, 13]) => Uint8Array.from([...PNG_MAGIC, ...body]);
const url: StixObject = {
  type: 'url',
  spec_version: '2.1',
  id: observableId('url', { value: 'https://example.com/' }),
  value: 'https://example.com/',
} as StixObject;

function refusal(file: FileAttachment, options = {}): AttachmentError {
  try {
    checkFile(file, options);
  } catch (err) {
    expect(err).toBeInstanceOf(AttachmentError);
    return err as AttachmentError;
  }
  throw new Error('expected the file to be refused');
}

describe('attachFile', () => {
  it('adds the file as x_opencti_files (base64, not re-imported), leaving the object as it was', () => {
    const data = png([1, 2, 3]);
    const out = attachFile(url, { name: 'page_1.png', mimeType: 'image/png', data });
    expect(out.x_opencti_files).toEqual([
      {
        name: 'page_1.png',
        mime_type: 'image/png',
        data: Buffer.from(data).toString('base64'),
        no_trigger_import: true,
      },
    ]);
    expect(Buffer.from(out.x_opencti_files[0]?.data ?? '', 'base64').equals(Buffer.from(data))).toBe(true);
    expect('x_opencti_files' in url).toBe(false);
    // Another file is added; one of the same name replaces the first.
    const two = attachFile(out, { name: 'b.pdf', mimeType: 'application/pdf', data: Buffer.from('%PDF-1.7\n') });
    const again = attachFile(two, { name: 'page_1.png', mimeType: 'image/png', data: png([9]) });
    expect(again.x_opencti_files.map((f) => f.name)).toEqual(['b.pdf', 'page_1.png']);
  });

  it('refuses bytes that are not the type they claim, naming what they are', () => {
    const jpeg = Uint8Array.from([0xff, 0xd8, 0xff, 0xe0, 0, 16]);
    expect(refusal({ name: 'a.png', mimeType: 'image/png', data: jpeg })).toMatchObject({
      problem: 'not-its-type',
      message: 'Cannot attach "a.png": its content is not image/png but image/jpeg',
    });
    const html = Buffer.from('<html><body>Not found</body></html>');
    expect(refusal({ name: 'a.png', mimeType: 'image/png', data: html }).message).toBe(
      'Cannot attach "a.png": its content is not image/png',
    );
    expect(refusal({ name: 'a.png', mimeType: 'image/png', data: new Uint8Array() }).problem).toBe('not-its-type');
    expect(refusal({ name: 'a.svg', mimeType: 'image/svg+xml', data: html }).problem).toBe('unsupported-type');
  });

  it('refuses a file over the cap, at one byte over, and names the setting', () => {
    const cap = 1024;
    const at = png(new Uint8Array(cap - PNG_MAGIC.length));
    expect(() => checkFile({ name: 'a.png', mimeType: 'image/png', data: at }, { maxBytes: cap })).not.toThrow();
    const over = png(new Uint8Array(cap - PNG_MAGIC.length + 1));
    expect(
      refusal({ name: 'a.png', mimeType: 'image/png', data: over }, { maxBytes: cap, maxBytesSetting: 'X_MAX' }),
    ).toMatchObject({
      problem: 'too-large',
      message: 'Cannot attach "a.png": 1025 bytes, over the 1024 bytes accepted (X_MAX)',
    });
    expect(DEFAULT_MAX_FILE_BYTES).toBe(5 * 1024 * 1024);
    for (const bad of [0, -1, 1.5, Number.NaN]) {
      expect(() => checkFile({ name: 'a.png', mimeType: 'image/png', data: png() }, { maxBytes: bad })).toThrow(
        RangeError,
      );
    }
  });

  it('refuses names that are not file names', () => {
    for (const name of ['', '   ', '../etc/passwd', 'a\\b.png', 'a\nb.png', 'a\u007fb.png', '..', 'x'.repeat(256)]) {
      expect(refusal({ name, mimeType: 'image/png', data: png() }).problem, JSON.stringify(name)).toBe('bad-name');
    }
  });

  it('accepts exactly the bytes that start with their magic number, whatever follows (property)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 2048 }), fc.constantFrom(...ATTACHABLE_MIME_TYPES), (bytes, type) => {
        const file = { name: 'f', mimeType: type, data: bytes };
        const sniffed = sniffMimeType(bytes);
        if (sniffed === type) expect(() => checkFile(file)).not.toThrow();
        else expect(refusal(file).problem).toBe('not-its-type');
        expect(() => checkFile({ ...file, mimeType: 'image/png', data: png(bytes) })).not.toThrow();
      }),
    );
  });

  it('counts in the bundle checks: an object made larger than a message by its file is refused whole', () => {
    const big = attachFile(
      url,
      { name: 'big.png', mimeType: 'image/png', data: png(new Uint8Array(3 * 1024 * 1024)) },
      { maxBytes: 4 * 1024 * 1024 },
    );
    const bundle = { type: 'bundle', id: 'bundle--3b6ebcd9-5d51-4bb2-9b0c-f4b5f9c1a001', objects: [big] };
    const problems = sendableProblems(bundle, { maxObjectBytes: 4 * 1024 * 1024 });
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/^url--.*: its JSON is \d+ bytes, over the 4194304-byte limit of a message$/);
    expect(sendableProblems(bundle, { maxObjectBytes: 5 * 1024 * 1024 })).toEqual([]);
  });

  it('refuses a file within its cap that would make its object larger than one push message carries', () => {
    const onePushMessage = largestObjectBytes(DEFAULT_MAX_MESSAGE_BYTES);
    const fits = Math.floor((onePushMessage - 4096) / 4) * 3;
    const options = { maxBytes: 10 * 1024 * 1024 };
    const ok = attachFile(url, { name: 'ok.png', mimeType: 'image/png', data: png(new Uint8Array(fits)) }, options);
    expect(
      sendableProblems(
        { type: 'bundle', id: 'bundle--3b6ebcd9-5d51-4bb2-9b0c-f4b5f9c1a002', objects: [ok] },
        {
          maxObjectBytes: onePushMessage,
        },
      ),
    ).toEqual([]);
    let err: unknown;
    try {
      attachFile(url, { name: 'big.png', mimeType: 'image/png', data: png(new Uint8Array(fits + 4096)) }, options);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(AttachmentError);
    expect((err as AttachmentError).problem).toBe('too-large');
    expect((err as Error).message).toMatch(/over the 12\.0 MiB one broker message carries/);
  });
});
