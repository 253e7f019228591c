/**
 * What a leaked secret looks like in an output: raw, but also percent-encoded (a query string, a form body
 * a vendor echoes back), JSON-escaped once or twice (a body quoted inside a log line), or base64-encoded
 * alone or inside a larger value (a Basic header's `user:secret`). Tests search every output for all of
 * these forms; the search is written independently of the SDK's redaction so that it can catch it out.
 */

export type SecretEncoding = 'raw' | 'JSON-escaped' | 'percent-encoded' | 'base64';

export interface SecretForm {
  encoding: SecretEncoding;
  text: string;
}

/** base64 characters below which a form could match by chance. */
const MIN_BASE64_FORM = 8;

/**
 * The base64 text that any encoding of `…<secret>…` contains, at each of the three byte alignments the
 * secret can have in the encoded value: the characters of the groups made only of the secret's bytes.
 */
function base64Cores(secret: string): string[] {
  const bytes = Buffer.from(secret, 'utf8');
  const cores: string[] = [];
  for (let offset = 0; offset < 3; offset++) {
    const encoded = Buffer.concat([Buffer.alloc(offset), bytes]).toString('base64');
    // The first group mixes in the bytes before the secret (when there are some), the last one those after.
    const from = offset === 0 ? 0 : 4;
    const whole = Math.floor((offset + bytes.length) / 3) * 4;
    const core = encoded.slice(from, whole - 4);
    if (core.length >= MIN_BASE64_FORM) cores.push(core, core.replace(/\+/g, '-').replace(/\//g, '_'));
  }
  return cores;
}

/** Percent-encodings as encoders write them: RFC 3986, HTML forms (`+` for a space), lower-case hex. */
function percentForms(secret: string): string[] {
  const component = encodeURIComponent(secret);
  const form = new URLSearchParams({ s: secret }).toString().slice(2);
  return [component, form, encodeURI(secret), component.replace(/%[0-9A-F]{2}/g, (h) => h.toLowerCase())];
}

/** Every form of `secret` the outputs are searched for, the raw value first, each text once. */
export function secretForms(secret: string): SecretForm[] {
  if (secret.length === 0) throw new Error('secretForms: an empty secret would be found everywhere');
  const json = JSON.stringify(secret).slice(1, -1);
  const candidates: SecretForm[] = [
    { encoding: 'raw', text: secret },
    { encoding: 'JSON-escaped', text: json },
    { encoding: 'JSON-escaped', text: JSON.stringify(json).slice(1, -1) },
    ...percentForms(secret).map((text) => ({ encoding: 'percent-encoded' as const, text })),
    ...base64Cores(secret).map((text) => ({ encoding: 'base64' as const, text })),
  ];
  const seen = new Set<string>();
  return candidates.filter((f) => !seen.has(f.text) && seen.add(f.text));
}

export interface SecretSighting {
  /** The secret's name, as the caller gave it. */
  secret: string;
  /** The output it was found in. */
  where: string;
  encoding: SecretEncoding;
}

/**
 * Searches every output (`where` → text) for every secret (`name` → value) in every form; returns one
 * sighting per secret and output where it appears. Tests assert the list is empty.
 */
export function findSecrets(
  outputs: Readonly<Record<string, string>>,
  secrets: Readonly<Record<string, string>>,
): SecretSighting[] {
  const found: SecretSighting[] = [];
  for (const [secret, value] of Object.entries(secrets)) {
    const forms = secretForms(value);
    for (const [where, text] of Object.entries(outputs)) {
      const form = forms.find((f) => text.includes(f.text));
      if (form !== undefined) found.push({ secret, where, encoding: form.encoding });
    }
  }
  return found;
}

/** "NAME (encoding) in where", for assertion messages that say what leaked without printing it. */
export const describeSightings = (sightings: readonly SecretSighting[]): string[] =>
  sightings.map((s) => `${s.secret} (${s.encoding}) in ${s.where}`);
