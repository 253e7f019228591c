/**
 * Upstream's `is_valid_strict_domain`: which `domain-name` objects of a Scout bundle are kept. A value is
 * refused when it starts with `*` or `.`, contains `in-addr.arpa` or `/`, cannot be IDNA-encoded (Python's
 * `idna.encode`, IDNA 2008, no UTS 46 mapping), or whose encoded form does not match
 * `^(?!-)(?:[a-zA-Z0-9-]{1,63}\.)+[a-zA-Z]{2,63}$` (no underscore, no trailing dot, a letters-only TLD).
 *
 * ASCII labels follow the idna package's rules exactly. For non-ASCII labels the IDNA 2008 code point
 * tables are approximated: lower-case letters, marks and digits are accepted (NFC, no leading mark), the
 * CONTEXTO punctuation in its context, then Node's conversion (`domainToASCII`, which also applies the
 * bidi rule) must not need to map anything. Joiners (CONTEXTJ) are refused.
 */
import { domainToASCII, domainToUnicode } from 'node:url';

const STRICT_DOMAIN = /^(?!-)(?:[a-zA-Z0-9-]{1,63}\.)+[a-zA-Z]{2,63}$/;
/** The label separators idna accepts: full stop, ideographic, fullwidth and halfwidth ideographic full stops. */
const LABEL_SEPARATORS = /[.\u3002\uff0e\uff61]/;
const ASCII = /^\p{ASCII}*$/u;
const ASCII_LDH = /^[a-z0-9-]+$/;
/** Code points IDNA 2008 may treat as PVALID: lower-case/other letters, marks, decimal digits, hyphen. */
const UNICODE_LABEL = /^[\p{Ll}\p{Lo}\p{Lm}\p{Mn}\p{Mc}\p{Nd}-]+$/u;

/** The idna package's check_hyphen_ok. */
function hyphensOk(label: string): boolean {
  return label.slice(2, 4) !== '--' && !label.startsWith('-') && !label.endsWith('-');
}

/** IDNA 2008's CONTEXTO rules (RFC 5892 appendix A): punctuation allowed only in its script's context. */
function contextOk(label: string): boolean {
  const chars = Array.from(label);
  for (const [i, ch] of chars.entries()) {
    const before = chars[i - 1] ?? '';
    const after = chars[i + 1] ?? '';
    if (ch === '\u00b7' && !(before === 'l' && after === 'l')) return false;
    if (ch === '\u0375' && !/\p{Script=Greek}/u.test(after)) return false;
    if ((ch === '\u05f3' || ch === '\u05f4') && !/\p{Script=Hebrew}/u.test(before)) return false;
    if (
      ch === '\u30fb' &&
      !chars.some((c) => c !== '\u30fb' && /[\p{Script=Hiragana}\p{Script=Katakana}\p{Script=Han}]/u.test(c))
    ) {
      return false;
    }
  }
  // Arabic-Indic and extended Arabic-Indic digits do not mix.
  return !(/[\u0660-\u0669]/.test(label) && /[\u06f0-\u06f9]/.test(label));
}

/** check_label for a Unicode (U-) label, with the approximation described above. */
function unicodeLabelOk(label: string): boolean {
  if (label === '' || label.normalize('NFC') !== label) return false;
  if (!hyphensOk(label)) return false;
  if (/^\p{M}/u.test(label)) return false;
  const withoutContextual = label.replace(/[\u00b7\u0375\u05f3\u05f4\u30fb]/g, '');
  if (withoutContextual !== '' && !UNICODE_LABEL.test(withoutContextual)) return false;
  return label === label.toLowerCase() && contextOk(label);
}

/** The A-label (ASCII form) of one label, or null when idna.encode would raise. */
function encodeLabel(label: string): string | null {
  if (ASCII.test(label)) {
    const lower = label.toLowerCase();
    if (lower.startsWith('xn--')) {
      const payload = lower.slice(4);
      if (payload === '' || payload.endsWith('-')) return null;
      const decoded = domainToUnicode(lower);
      // Node gives back the input (or nothing) when the punycode is invalid.
      if (decoded === '' || decoded === lower || !unicodeLabelOk(decoded)) return null;
    } else if (lower === '' || !ASCII_LDH.test(lower) || !hyphensOk(lower)) {
      return null;
    }
    // idna returns an ASCII label unchanged (its case included) once it is valid.
    return label.length <= 63 ? label : null;
  }
  if (!unicodeLabelOk(label)) return null;
  const encoded = domainToASCII(label);
  if (encoded === '' || !encoded.startsWith('xn--') || domainToUnicode(encoded) !== label) return null;
  return encoded.length <= 63 ? encoded : null;
}

/** idna.encode(value) as text, or null when it raises. */
export function idnaEncode(value: string): string | null {
  const labels = value.split(LABEL_SEPARATORS);
  if (labels.length === 1 && labels[0] === '') return null;
  const trailingDot = labels.at(-1) === '';
  if (trailingDot) labels.pop();
  const encoded: string[] = [];
  for (const label of labels) {
    const a = encodeLabel(label);
    if (a === null) return null;
    encoded.push(a);
  }
  const text = encoded.join('.') + (trailingDot ? '.' : '');
  return text.length <= (trailingDot ? 254 : 253) ? text : null;
}

/** True when upstream keeps a `domain-name` with this value. */
export function isValidStrictDomain(value: unknown): boolean {
  if (typeof value !== 'string') return false;
  if (value.startsWith('*') || value.startsWith('.') || value.includes('/')) return false;
  if (value.toLowerCase().includes('in-addr.arpa')) return false;
  const ascii = idnaEncode(value);
  return ascii !== null && STRICT_DOMAIN.test(ascii);
}
