import { afterEach, describe, expect, it } from 'vitest';
import { clearRegisteredSecrets, registerSecret } from '../log/redact.js';
import { BodyProblem, parseJsonBody, vendorDetail } from './body.js';

afterEach(() => clearRegisteredSecrets());

const detail = (body: string, contentType?: string) => vendorDetail(Buffer.from(body), contentType);

describe('vendorDetail', () => {
  it("finds the vendor's message in the usual JSON shapes", () => {
    expect(detail('{"message":"Invalid API key"}')).toBe('Invalid API key');
    expect(detail('{"error":{"message":"Quota exceeded"}}')).toBe('Quota exceeded');
    expect(detail('{"errors":[{"title":"Bad Request","detail":"DNS Error"}]}')).toBe('DNS Error');
    expect(detail('{"error":"invalid_client","error_description":"Client authentication failed"}')).toBe(
      'Client authentication failed',
    );
    expect(detail('{"status":500}')).toBeUndefined();
  });

  it('gives the title of an HTML page and the first line of text', () => {
    expect(detail('<html><head><title>502 Bad Gateway</title></head></html>', 'text/html')).toBe('502 Bad Gateway');
    expect(detail('upstream timed out\nat line 2')).toBe('upstream timed out');
  });

  it('redacts secrets the vendor echoes, then truncates to one short line', () => {
    registerSecret('echoed-key-1234567890');
    expect(detail('{"message":"Invalid key echoed-key-1234567890"}')).toBe('Invalid key [REDACTED]');
    const long = detail(JSON.stringify({ message: `a\u0000b\n${'x'.repeat(500)}` }));
    expect(long?.length).toBe(200);
    expect(long?.startsWith('a b x')).toBe(true);
    expect(long?.endsWith('…')).toBe(true);
  });
});

describe('parseJsonBody', () => {
  it('parses JSON, even mislabelled, and treats an empty body as undefined', () => {
    expect(parseJsonBody(Buffer.from('\ufeff{"a":1}'), 'text/plain')).toEqual({ a: 1 });
    expect(parseJsonBody(Buffer.from('  '), 'application/json')).toBeUndefined();
  });

  it('refuses HTML and broken JSON', () => {
    expect(() => parseJsonBody(Buffer.from('<html></html>'), undefined)).toThrow(BodyProblem);
    expect(() => parseJsonBody(Buffer.from('{"a":'), 'application/json')).toThrow('malformed or truncated JSON');
  });
});
