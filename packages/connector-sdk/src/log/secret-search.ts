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

/** Percent-decoding (RFC 3986), optionally with `+` as a space (HTML forms). UTF-8 sequences become one char. */
function percentDecoder(plusIsSpace: boolean): Decoder {
  return (text) => {
    if (!text.includes('%') && !(plusIsSpace && text.includes('+'))) return null;
    let out = '';
    const sources: number[] = [];
    let i = 0;
    let changed = false;
    while (i < text.length) {
      const ch = text[i] as string;
      if (ch === '+' && plusIsSpace) {
        out += ' ';
        sources.push(i);
        i += 1;
        changed = true;
        continue;
      }
      if (ch === '%' && HEX.test(text.slice(i + 1, i + 3))) {
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
            for (const unit of decoded) {
              for (let k = 0; k < unit.length; k++) {
                out += unit[k];
                sources.push(byteStarts[b] as number);
              }
            }
            b += length;
          } else {
            // A single byte (ASCII or not valid UTF-8): kept as its code point, latin1-style.
            out += String.fromCharCode(bytes[b] as number);
            sources.push(byteStarts[b] as number);
            b += 1;
          }
        }
        i = j;
        changed = true;
        continue;
      }
      out += ch;
      sources.push(i);
      i += 1;
    }
    sources.push(text.length);
    return changed ? { text: out, sources } : null;
  };
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
const jsonDecoder: Decoder = (text) => {
  if (!text.includes('\\')) return null;
  let out = '';
  const sources: number[] = [];
  let changed = false;
  let i = 0;
  while (i < text.length) {
    const ch = text[i] as string;
    if (ch === '\\') {
      const next = text[i + 1];
      if (next === 'u' && /^[0-9a-fA-F]{4}$/.test(text.slice(i + 2, i + 6))) {
        out += String.fromCharCode(Number.parseInt(text.slice(i + 2, i + 6), 16));
        sources.push(i);
        i += 6;
        changed = true;
        continue;
      }
      const simple = next === undefined ? undefined : JSON_ESCAPES[next];
      if (simple !== undefined) {
        out += simple;
        sources.push(i);
        i += 2;
        changed = true;
        continue;
      }
    }
    out += ch;
    sources.push(i);
    i += 1;
  }
  sources.push(text.length);
  return changed ? { text: out, sources } : null;
};

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
