import { describe, expect, it } from 'vitest';
import { idnaEncode, isValidStrictDomain } from './domain.js';

/**
 * Expected values computed independently with Python (idna 3.13) by upstream's rule:
 * `not (startswith '*' or '.' or 'in-addr.arpa' in lower or '/' in) and
 *  re.match(r"^(?!-)(?:[a-zA-Z0-9-]{1,63}\.)+[a-zA-Z]{2,63}$", idna.encode(value).decode())`, False on any exception.
 */
const PYTHON: ReadonlyArray<[string, boolean]> = [
  ['one.one.one.one', true],
  ['cloudflare-dns.com', true],
  ['1.1.1.1.in-addr.arpa', false],
  ['*.cloudflare-dns.com', false],
  ['Example.COM', true],
  ['example.com.', false],
  ['.example.com', false],
  ['a.b', false],
  ['_dmarc.example.com', false],
  ['my_host.example.com', false],
  ['-bad.example.com', false],
  ['bad-.example.com', false],
  ['ab--cd.example.com', false],
  ['xn--mnchen-3ya.de', true],
  ['XN--MNCHEN-3YA.de', true],
  ['m\u00fcnchen.de', true],
  ['M\u00fcnchen.de', false],
  ['xn--abc.com', false],
  ['xn--.com', false],
  ['xn--zz-.com', false],
  ['example.xn--p1ai', false],
  ['\u043f\u0440\u0438\u043c\u0435\u0440.\u0440\u0444', false],
  ['stra\u00dfe.de', true],
  ['\ud83d\ude00.com', false],
  ['xn--i-7iq.ws', false],
  ['\ufb01.com', false],
  ['a..b.com', false],
  ['', false],
  ['localhost', false],
  ['1.2.3.4', false],
  ['example.com/path', false],
  ['exa mple.com', false],
  ['exa\u3002mple.com', true],
  ['aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.com', false],
  ['aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.com', true],
  ['e\u0301xample.com', false],
  ['\u65e5\u672c\u8a9e.jp', true],
  ['a\u200db.com', false],
  ['example.c0m', false],
  ['l\u00b7l.cat', true],
  ['a\u00b7b.com', false],
  ['\u30a2\u30fb\u30a2.jp', true],
  ['x\u30fby.jp', false],
  ['\u05d0\u05f3.com', true],
  ['\u05f3\u05d0.com', false],
  ['\u0660\u0661\u06f0.com', false],
  ['a\u0627.com', false],
  ['\u0645\u062b\u0627\u0644.com', true],
  ['\u03c2.com', true],
];

describe('isValidStrictDomain (upstream is_valid_strict_domain)', () => {
  it.each(PYTHON)('%j → %s, as Python decides', (value, expected) => {
    expect(isValidStrictDomain(value)).toBe(expected);
  });

  it('refuses values that are not strings, as the Python raises and returns False', () => {
    for (const value of [undefined, null, 42, ['example.com'], { value: 'example.com' }]) {
      expect(isValidStrictDomain(value)).toBe(false);
    }
  });

  it('applies idna length limits: 253 characters pass, 254 do not', () => {
    const a = 'a'.repeat(63);
    const d253 = [a, a, a, 'd'.repeat(61)].join('.');
    const d254 = [a, a, a, 'd'.repeat(62)].join('.');
    expect(d253).toHaveLength(253);
    expect(isValidStrictDomain(d253)).toBe(true); // Python: True
    expect(isValidStrictDomain(d254)).toBe(false); // Python: False (Domain too long)
  });
});

describe('idnaEncode', () => {
  it('gives the A-label form as idna.encode does, ASCII labels unchanged', () => {
    expect(idnaEncode('m\u00fcnchen.de')).toBe('xn--mnchen-3ya.de');
    expect(idnaEncode('Example.COM')).toBe('Example.COM');
    expect(idnaEncode('exa\u3002mple.com')).toBe('exa.mple.com');
    expect(idnaEncode('example.com.')).toBe('example.com.');
    expect(idnaEncode('')).toBeNull();
    expect(idnaEncode('a..b')).toBeNull();
  });
});
