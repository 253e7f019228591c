import { afterEach, describe, expect, it } from 'vitest';
import { clearRegisteredSecrets, REDACTED, redactDeep, redactString, redactUrl, registerSecret } from './redact.js';

afterEach(() => clearRegisteredSecrets());

describe('redact', () => {
  it('masks credential query parameters and user-info in URLs', () => {
    expect(redactUrl('https://u:p@api.example.com/v1/x?apikey=abc123&q=1.2.3.4#frag')).toBe(
      `https://${REDACTED}@api.example.com/v1/x?apikey=${REDACTED}&q=1.2.3.4#frag`,
    );
    expect(redactUrl('/search?token=t0k3n&access_token=zz&size=1')).toBe(
      `/search?token=${REDACTED}&access_token=${REDACTED}&size=1`,
    );
    expect(redactUrl('https://host/path')).toBe('https://host/path');
  });

  it('masks registered secret values and bearer credentials inside text', () => {
    registerSecret('sk-live-SECRET-VALUE');
    const text = 'failed with key sk-live-SECRET-VALUE and header Bearer eyJhbGciOi.abc.def at https://h/?key=zz';
    const out = redactString(text);
    expect(out).not.toContain('sk-live-SECRET-VALUE');
    expect(out).not.toContain('eyJhbGciOi');
    expect(out).toContain(`?key=${REDACTED}`);
  });

  it('masks a secret registered after the text was first found clean, every time the text comes back', () => {
    // Texts found clean are remembered (work messages repeat): a new secret must make them be searched again.
    const text = 'Connector ready to process the operation with s3cr3t-later';
    registerSecret('an-unrelated-secret');
    expect(redactString(text)).toBe(text);
    expect(redactString(text)).toBe(text);
    registerSecret('s3cr3t-later');
    expect(redactString(text)).toBe(`Connector ready to process the operation with ${REDACTED}`);
    expect(redactString(text)).toBe(`Connector ready to process the operation with ${REDACTED}`);
    // Also in an encoding, and after the secrets were cleared and registered again.
    const encoded = `header value ${Buffer.from('user:s3cr3t-later').toString('base64')} done`;
    clearRegisteredSecrets();
    expect(redactString(encoded)).toBe(encoded);
    registerSecret('s3cr3t-later');
    expect(redactString(encoded)).not.toContain(Buffer.from('user:s3cr3t-later').toString('base64'));
  });

  it('keeps masking a text holding a secret however often it comes back, among many clean texts', () => {
    registerSecret('hunter2-the-password');
    const secretText = 'login with hunter2-the-password failed';
    for (let i = 0; i < 1000; i++) {
      expect(redactString(`clean text number ${i % 300}`)).toBe(`clean text number ${i % 300}`);
      if (i % 50 === 0) expect(redactString(secretText)).toBe(`login with ${REDACTED} failed`);
    }
  });

  it('leaves ordinary prose about tokens alone', () => {
    const text =
      'The OAuth token could not be renewed: POST https://api.example/oauth/token failed, Bearer tokens expire';
    expect(redactString(text)).toBe(text);
    expect(redactString('Authorization: Token abcdef0123456789abcdef')).toBe(`Authorization: Token ${REDACTED}`);
  });

  it('masks headers and credential fields deep inside objects and errors, dropping axios internals', () => {
    registerSecret('the-opencti-token');
    const err = Object.assign(new Error('boom the-opencti-token'), {
      config: { headers: { Authorization: 'Bearer the-opencti-token' } },
      status: 500,
    });
    const out = JSON.stringify(
      redactDeep({ headers: { 'X-API-KEY': 'abcd1234', Accept: 'json' }, nested: { token: 'xyz9', err } }),
    );
    expect(out).not.toContain('abcd1234');
    expect(out).not.toContain('xyz9');
    expect(out).not.toContain('the-opencti-token');
    expect(out).toContain('"Accept":"json"');
    expect(out).toContain('"status":500');
  });
});
