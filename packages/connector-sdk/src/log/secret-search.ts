/**
 * Finds registered secrets in a text whatever encoding they travel in. A secret reaches an output raw, but
 * also percent-encoded (a query string, a form body a vendor echoes: `client_secret=s%2Bx`), JSON-escaped (a
 * body quoted inside a message), base64-encoded alone or inside a larger value (a Basic header's
 * `user:secret`), and in combinations of these. Listing every encoder's output misses variants (lower-case
 * hex, `+` for a space, characters encoded needlessly), so the text is decoded instead: each decoding is a
 * view of the text that remembers where each of its characters came from, and a secret found in a view
 * masks the span of the original it was decoded from.
 */

/** Registered secrets: each value with its UTF-8 bytes (what base64 encodes). */
export type SecretSet = ReadonlyMap<string, Buffer>;

/**
 * A decoding of the original text: `starts[i]` is where decoded character i begins in the original (one more
 * entry than `text` has characters: the end of the last one); null for the original itself.
 */
interface View {
  text: string;
  starts: number[] | null;
}

type Decoder = (text: string) => { text: string; sources: number[] } | null;

/** Layers of encoding undone on top of one another: enough for "URL-encoded inside JSON inside a URL". */
const MAX_DEPTH = 3;
/** base64 characters needed to encode `bytes` bytes: a shorter run cannot hold a secret that long. */
const base64Length = (bytes: number): number => Math.ceil((bytes * 4) / 3);

const origin = (view: View, i: number): number => (view.starts === null ? i : (view.starts[i] as number));

/** `sources[i]` indexes the view the decoder read; composing gives indexes into the original text. */
function compose(parent: View, decoded: { text: string; sources: number[] }): View {
  return { text: decoded.text, starts: decoded.sources.map((i) => origin(parent, i)) };
}

const HEX = /^[0-9a-fA-F]{2}$/;

/**
 * One decoding step at `i`: emits the decoded characters (each with where it starts in `text`) and returns how
 * many characters of `text` it consumed; 0 copies the character as it is.
 */
type Step = (text: string, i: number, emit: (decoded: string, source: number) => void) => number;

/** Runs `step` over the text; null when nothing was decoded. */
function scan(text: string, step: Step): { text: string; sources: number[] } | null {
  let out = '';
  const sources: number[] = [];
  const emit = (decoded: string, source: number): void => {
    out += decoded;
    for (let k = 0; k < decoded.length; k++) sources.push(source);
  };
  let changed = false;
  let i = 0;
  while (i < text.length) {
    const consumed = step(text, i, emit);
    if (consumed > 0) {
      i += consumed;
      changed = true;
    } else {
      emit(text[i] as string, i);
      i += 1;
    }
  }
  sources.push(text.length);
  return changed ? { text: out, sources } : null;
}

/** Percent-decoding (RFC 3986), optionally with `+` as a space (HTML forms). UTF-8 sequences become one char. */
function percentDecoder(plusIsSpace: boolean): Decoder {
  const step: Step = (text, i, emit) => {
    if (text[i] === '+' && plusIsSpace) {
      emit(' ', i);
      return 1;
    }
    if (text[i] !== '%' || !HEX.test(text.slice(i + 1, i + 3))) return 0;
    // A run of %XX: decoded as UTF-8, each character mapped to the first % of its bytes.
    const bytes: number[] = [];
    const byteStarts: number[] = [];
    let j = i;
    while (text[j] === '%' && HEX.test(text.slice(j + 1, j + 3))) {
      bytes.push(Number.parseInt(text.slice(j + 1, j + 3), 16));
      byteStarts.push(j);
      j += 3;
    }
    let b = 0;
    while (b < bytes.length) {
      const length = utf8Length(bytes[b] as number);
      const chunk = Buffer.from(bytes.slice(b, b + length));
      const decoded = length > 1 && chunk.length === length ? chunk.toString('utf8') : '';
      if (decoded !== '' && !decoded.includes('\uFFFD')) {
        emit(decoded, byteStarts[b] as number);
        b += length;
      } else {
        // A single byte (ASCII or not valid UTF-8): kept as its code point, latin1-style.
        emit(String.fromCharCode(bytes[b] as number), byteStarts[b] as number);
        b += 1;
      }
    }
    return j - i;
  };
  return (text) => (text.includes('%') || (plusIsSpace && text.includes('+')) ? scan(text, step) : null);
}

function utf8Length(lead: number): number {
  if (lead >= 0xf0 && lead <= 0xf4) return 4;
  if (lead >= 0xe0) return lead <= 0xef ? 3 : 1;
  if (lead >= 0xc2) return 2;
  return 1;
}

const JSON_ESCAPES: Readonly<Record<string, string>> = {
  '"': '"',
  '\\': '\\',
  '/': '/',
  b: '\b',
  f: '\f',
  n: '\n',
  r: '\r',
  t: '\t',
};

/** JSON string escapes (`\"`, `\\`, `\n`, `\u00e9`...), as a string inside a JSON document shows them. */
const jsonStep: Step = (text, i, emit) => {
  if (text[i] !== '\\') return 0;
  const next = text[i + 1];
  if (next === 'u' && /^[0-9a-fA-F]{4}$/.test(text.slice(i + 2, i + 6))) {
    emit(String.fromCharCode(Number.parseInt(text.slice(i + 2, i + 6), 16)), i);
    return 6;
  }
  const simple = next === undefined ? undefined : JSON_ESCAPES[next];
  if (simple === undefined) return 0;
  emit(simple, i);
  return 2;
};
const jsonDecoder: Decoder = (text) => (text.includes('\\') ? scan(text, jsonStep) : null);

const DECODERS: readonly Decoder[] = [percentDecoder(false), percentDecoder(true), jsonDecoder];

/** The text and every decoding of it, up to MAX_DEPTH layers, each once. */
function views(text: string): View[] {
  const all: View[] = [{ text, starts: null }];
  const seen = new Set([text]);
  let frontier = all;
  for (let depth = 0; depth < MAX_DEPTH && frontier.length > 0; depth++) {
    const next: View[] = [];
    for (const view of frontier) {
      for (const decode of DECODERS) {
        const decoded = decode(view.text);
        if (decoded === null || seen.has(decoded.text)) continue;
        seen.add(decoded.text);
        next.push(compose(view, decoded));
      }
    }
    all.push(...next);
    frontier = next;
  }
  return all;
}

const BASE64_RUN = /[A-Za-z0-9+/_-]{6,}={0,2}/g;

/** Whether the bytes a base64 run decodes to (from any of the four alignments) hold a secret, in any encoding. */
function base64HoldsSecret(run: string, secrets: SecretSet, minRun: number, depth: number): boolean {
  for (let shift = 0; shift < 4 && run.length - shift >= minRun; shift++) {
    // Node's base64 decoder reads the standard and the URL-safe alphabets alike.
    const bytes = Buffer.from(run.slice(shift), 'base64');
    for (const secretBytes of secrets.values()) if (bytes.includes(secretBytes)) return true;
    // Encoded text inside (a JSON body, a form): searched like any text. Binary garbage, what an ordinary word
    // decodes to, is not worth it.
    if (depth < 1 && shift === 0) {
      const inner = bytes.toString('utf8');
      if (isText(inner) && findSecretSpans(inner, secrets, depth + 1).length > 0) return true;
    }
  }
  return false;
}

/** Printable text: no replacement character (invalid UTF-8) and no control character but whitespace. */
function isText(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code === 0xfffd || code < 0x09 || (code > 0x0d && code < 0x20)) return false;
  }
  return true;
}

/**
 * The spans [start, end) of `text` that hold a registered secret in some encoding, sorted and merged.
 * `depth` bounds the recursion into base64 content.
 */
export function findSecretSpans(text: string, secrets: SecretSet, depth = 0): Array<[number, number]> {
  if (secrets.size === 0 || text.length < 4) return [];
  const spans: Array<[number, number]> = [];
  let shortest = Number.POSITIVE_INFINITY;
  for (const bytes of secrets.values()) shortest = Math.min(shortest, bytes.length);
  const minRun = base64Length(shortest);
  for (const view of views(text)) {
    for (const secret of secrets.keys()) {
      for (let at = view.text.indexOf(secret); at >= 0; at = view.text.indexOf(secret, at + 1)) {
        spans.push([origin(view, at), origin(view, at + secret.length)]);
      }
    }
    for (const match of view.text.matchAll(BASE64_RUN)) {
      const run = match[0];
      if (run.length >= minRun && base64HoldsSecret(run, secrets, minRun, depth)) {
        const start = match.index;
        spans.push([origin(view, start), origin(view, start + run.length)]);
      }
    }
  }
  return merge(spans);
}

function merge(spans: Array<[number, number]>): Array<[number, number]> {
  if (spans.length < 2) return spans;
  spans.sort((a, b) => a[0] - b[0]);
  const out: Array<[number, number]> = [spans[0] as [number, number]];
  for (const span of spans.slice(1)) {
    const last = out[out.length - 1] as [number, number];
    if (span[0] <= last[1]) last[1] = Math.max(last[1], span[1]);
    else out.push(span);
  }
  return out;
}
