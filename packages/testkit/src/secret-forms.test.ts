import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { findSecrets, secretForms } from './secret-forms.js';

/** Secrets as people write them: printable, with the characters each encoding changes. */
const secret = fc.string({
  unit: fc.constantFrom(...'abcXYZ0189+/=&%"\\ :?#é€'.split('')),
  minLength: 12,
  maxLength: 48,
});
const around = fc.string({ maxLength: 10 });

/** The ways a secret reaches an output inside a larger value. */
const ENCODERS: Record<string, (text: string) => string> = {
  raw: (t) => t,
  'JSON string': (t) => JSON.stringify(t),
  'JSON inside JSON': (t) => JSON.stringify(JSON.stringify({ body: t })),
  'URL component': encodeURIComponent,
  'HTML form': (t) => new URLSearchParams({ client_secret: t }).toString(),
  'lower-case percent-encoding': (t) => encodeURIComponent(t).replace(/%[0-9A-F]{2}/g, (h) => h.toLowerCase()),
  base64: (t) => Buffer.from(t, 'utf8').toString('base64'),
  base64url: (t) => Buffer.from(t, 'utf8').toString('base64url'),
  'Basic authorization': (t) => `Basic ${Buffer.from(`user:${t}`).toString('base64')}`,
};

describe('findSecrets', () => {
  for (const [name, encode] of Object.entries(ENCODERS)) {
    it(`finds a secret embedded anywhere in a value, ${name}`, () => {
      fc.assert(
        fc.property(secret, around, around, (s, before, after) => {
          const output = `log line: ${encode(`${before}${s}${after}`)} end`;
          expect(findSecrets({ stdout: output }, { KEY: s })).toHaveLength(1);
        }),
      );
    });
  }

  it('does not find a secret in an output that does not hold it', () => {
    fc.assert(
      fc.property(secret, fc.string({ maxLength: 200 }), (s, text) => {
        fc.pre(!text.includes(s.slice(0, 6)));
        expect(findSecrets({ stdout: text }, { KEY: s })).toEqual([]);
      }),
    );
  });

  it('names the secret, the output and the encoding, never the value', () => {
    const found = findSecrets(
      { stdout: 'nothing', stderr: `client_secret=${encodeURIComponent('a+b/c=d&e-secret')}` },
      { TEAMT5_CLIENT_SECRET: 'a+b/c=d&e-secret', OTHER: 'other-secret-value' },
    );
    expect(found).toEqual([{ secret: 'TEAMT5_CLIENT_SECRET', where: 'stderr', encoding: 'percent-encoded' }]);
  });

  it('refuses an empty secret, which every text contains', () => {
    expect(() => secretForms('')).toThrow(/empty secret/);
  });
});
