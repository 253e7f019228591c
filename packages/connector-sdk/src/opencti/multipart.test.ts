import { describe, expect, it } from 'vitest';
import { encodeMultipartForm, type FormPart } from './multipart.js';

/** Reads a body back with the runtime's own multipart reader, as the testkit's stand-in platform does. */
async function readBack(encoded: { contentType: string; body: Buffer }) {
  return new Response(new Uint8Array(encoded.body), { headers: { 'content-type': encoded.contentType } }).formData();
}

// Bytes a naive encoder would get wrong: line breaks, a delimiter-like line, every byte value.
const FILE = Buffer.concat([
  Buffer.from('{"type":"bundle"}\r\n--\r\n------cti-form-\r\n', 'utf8'),
  Buffer.from(Array.from({ length: 256 }, (_, i) => i)),
]);

const OPERATIONS = '{"query":"mutation M($file: Upload!) { x }","variables":{"file":null,"é":"✓"}}';
const PARTS: FormPart[] = [
  { name: 'operations', value: OPERATIONS },
  { name: 'map', value: '{"0":["variables.file"]}' },
  { name: '0', filename: 'report "q3".json', contentType: 'Application/JSON', content: FILE },
];

describe('encodeMultipartForm', () => {
  it('writes the parts in order, which a multipart reader gives back unchanged', async () => {
    const encoded = encodeMultipartForm(PARTS);
    expect(encoded.contentType).toMatch(/^multipart\/form-data; boundary=----cti-form-[0-9a-f]{32}$/);
    const form = await readBack(encoded);
    expect([...form.keys()]).toEqual(['operations', 'map', '0']);
    expect(form.get('operations')).toBe(OPERATIONS);
    expect(form.get('map')).toBe('{"0":["variables.file"]}');
    const file = form.get('0');
    expect(file).toBeInstanceOf(Blob);
    expect(Buffer.from(await (file as Blob).arrayBuffer())).toEqual(FILE);
    expect((file as Blob).type).toBe('application/json');
    // The quote is escaped as WHATWG FormData escapes it: it cannot end the parameter.
    expect(encoded.body.toString('latin1')).toContain('name="0"; filename="report %22q3%22.json"\r\n');
  });

  it('draws another boundary while the one drawn occurs in a part', async () => {
    const drawn = ['cti-form-in-the-file', 'cti-form-in-its-name', 'cti-form-clear'];
    const parts: FormPart[] = [
      { name: 'operations', value: '{}' },
      {
        name: '0',
        filename: 'cti-form-in-its-name.json',
        contentType: 'application/json',
        content: Buffer.from('a cti-form-in-the-file b'),
      },
    ];
    const encoded = encodeMultipartForm(parts, () => drawn.shift() ?? 'unexpected');
    expect(encoded.contentType).toBe('multipart/form-data; boundary=cti-form-clear');
    expect(drawn).toEqual([]);
    const form = await readBack(encoded);
    expect(Buffer.from(await (form.get('0') as Blob).arrayBuffer()).toString()).toBe('a cti-form-in-the-file b');
  });

  it('sends a type that is not printable ASCII as application/octet-stream, as a Blob would', () => {
    const encoded = encodeMultipartForm(
      [{ name: '0', filename: 'x', contentType: 'text/plain\r\nX-Injected: 1', content: Buffer.from('x') }],
      () => 'Q7',
    );
    expect(encoded.body.toString('latin1')).toBe(
      '--Q7\r\nContent-Disposition: form-data; name="0"; filename="x"\r\nContent-Type: application/octet-stream\r\n\r\nx\r\n--Q7--\r\n',
    );
  });
});
