/**
 * No secret in any output, in any encoding. For arbitrary secret strings (unicode, quotes, `%`, `+`, `/`,
 * `=`, spaces, line breaks), each encoding a secret travels in (raw, URL-encoded in either hex case, form
 * encoded, JSON-escaped, base64 alone or as a Basic header's `user:secret`, and combinations) is put in the
 * three outputs an operator sees: log lines, vendor error messages (the real HTTP client against a local
 * server that echoes it), and work messages (the real OpenCTI client, as the platform receives them). None of
 * those outputs may then hold any encoding of the secret.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { PassThrough } from 'node:stream';
import { inspect } from 'node:util';
import fc from 'fast-check';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createHttpClientWith } from '../http/client.js';
import { OpenCtiClient } from '../opencti/client.js';
import { createLogger } from './logger.js';
import { clearRegisteredSecrets, REDACTED, redactString, registerSecret } from './redact.js';

const b64 = (text: string) => Buffer.from(text, 'utf8').toString('base64');
const lowerHex = (text: string) => text.replace(/%[0-9A-F]{2}/g, (m) => m.toLowerCase());

/** Every form a secret is written in by something that may end up in an output. */
function encodings(secret: string): Record<string, string> {
  return {
    raw: secret,
    'URL-encoded': encodeURIComponent(secret),
    'URL-encoded, lower-case hex': lowerHex(encodeURIComponent(secret)),
    'form-encoded': new URLSearchParams({ k: secret }).toString().slice(2),
    'JSON-escaped': JSON.stringify(secret).slice(1, -1),
    base64: b64(secret),
    base64url: Buffer.from(secret, 'utf8').toString('base64url'),
    'base64 of user:secret (Basic)': b64(`connector:${secret}`),
    'URL-encoded JSON': encodeURIComponent(JSON.stringify(secret)),
    'JSON-escaped URL-encoded': JSON.stringify(encodeURIComponent(secret)).slice(1, -1),
    'base64 of a JSON body': b64(JSON.stringify({ client_secret: secret })),
    'URL-encoded twice': encodeURIComponent(encodeURIComponent(secret)),
    'form-encoded inside JSON': JSON.stringify(
      `client_secret=${new URLSearchParams({ k: secret }).toString().slice(2)}`,
    ),
  };
}

/** The forms searched for in the outputs: each encoding that still differs from the text around it. */
const formsOf = (secret: string) => [...new Set(Object.values(encodings(secret)))];

/** Unicode, quotes, URL and base64 metacharacters, control characters, astral characters. */
const secretArbitrary = fc.string({
  unit: fc.oneof(
    fc.constantFrom('"', "'", '%', '+', '/', '=', '\\', ' ', ':', '&', '?', '#', '\n', '\t', '<', '{', '@'),
    fc.constantFrom('é', '€', 'ß', '中', '😀', '\u0000', '\u007f'),
    fc.string({ unit: 'grapheme-ascii', minLength: 1, maxLength: 1 }),
    fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }),
  ),
  minLength: 4,
  maxLength: 32,
});

// Log lines -----------------------------------------------------------------------------------------------

function logOutput(encoded: string): string {
  const stream = new PassThrough();
  const chunks: string[] = [];
  stream.on('data', (b: Buffer) => chunks.push(b.toString()));
  const logger = createLogger({ name: 'property', level: 'debug', destination: stream });
  logger.error(
    {
      detail: `vendor said ${encoded}`,
      body: `{"client_secret":"${encoded}"}`,
      headers: { authorization: `Basic ${encoded}` },
      err: new Error(`request failed with ${encoded}`),
    },
    `enrichment failed: ${encoded}`,
  );
  logger.warn(`retrying https://api.vendor.test/v1/x?q=${encoded}&n=1`);
  // Timestamps vary from run to run: dropped so the text can be compared with the baseline.
  return chunks
    .join('')
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const { timestamp: _, ...rest } = JSON.parse(line) as Record<string, unknown>;
      return `${JSON.stringify(rest)}\n${deepStrings(rest).join('\n')}`;
    })
    .join('\n');
}

/** Every string value of a parsed log line: a raw secret shows JSON-escaped in the line's text. */
function deepStrings(value: unknown): string[] {
  if (typeof value === 'string') return [value];
  if (value === null || typeof value !== 'object') return [];
  return Object.values(value).flatMap(deepStrings);
}

// Vendor error messages -------------------------------------------------------------------------------------

/** A vendor that answers 400 and echoes what it was sent (the query) and the `echo` header in its message. */
const vendor = http.createServer((req, res) => {
  const echoed = decodeURIComponent(String(req.headers['x-echo'] ?? ''));
  res.writeHead(400, { 'content-type': 'application/json' });
  res.end(JSON.stringify({ message: `invalid request ${req.url}: client_secret=${echoed}`, echoed }));
});

async function vendorErrorOutput(secret: string, encoded: string): Promise<string> {
  const client = createHttpClientWith(
    {
      vendor: 'PropertyVendor',
      baseURL: `http://127.0.0.1:${(vendor.address() as AddressInfo).port}/v1`,
      // The client registers the credential itself, as in production.
      auth: { type: 'header', name: 'x-api-key', value: secret },
      proxy: false,
      retry: { maxAttempts: 1 },
    },
    { now: () => Date.now(), sleep: async () => undefined, random: () => 0, env: {} },
  );
  try {
    await client.get(`/lookup?q=${encodeURIComponent(encoded)}`, {
      headers: { 'x-echo': encodeURIComponent(encoded) },
    });
    throw new Error('expected the vendor to refuse');
  } catch (err) {
    return [String(err), JSON.stringify(err), inspect(err, { depth: 10, showHidden: true })].join('\n');
  } finally {
    await client.close();
  }
}

// Work messages -------------------------------------------------------------------------------------------

/** GraphQL bodies as the platform received them. */
const platformBodies: string[] = [];
const platform = http.createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    platformBodies.push(Buffer.concat(chunks).toString('utf8'));
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ data: { workEdit: { toProcessed: 'w', reportExpectation: 'w', toReceived: 'w' } } }));
  });
});

async function workMessageOutput(encoded: string): Promise<string> {
  platformBodies.length = 0;
  const opencti = new OpenCtiClient({
    url: `http://127.0.0.1:${(platform.address() as AddressInfo).port}`,
    token: 'property-token-value',
    userAgent: 'property',
  });
  try {
    await opencti.workToReceived('work-1', `started for ${encoded}`);
    await opencti.workToProcessed('work-1', `CrowdSec API answered 400: "${encoded}"`, true);
    await opencti.workReportExpectation('work-1', { error: `bundle refused: ${encoded}`, source: 'property' });
  } finally {
    opencti.close();
  }
  const variables = platformBodies.map((b) => (JSON.parse(b) as { variables: unknown }).variables);
  return `${platformBodies.join('\n')}\n${variables.flatMap(deepStrings).join('\n')}`;
}

// -------------------------------------------------------------------------------------------------------------

beforeAll(async () => {
  for (const server of [vendor, platform]) {
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  }
});
afterAll(async () => {
  for (const server of [vendor, platform]) {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
});
afterEach(() => clearRegisteredSecrets());

type Output = (secret: string, encoded: string) => string | Promise<string>;

/**
 * Runs `output` with every encoding of arbitrary secrets. The same output for a placeholder secret is the
 * text that surrounds the secret; a generated secret that occurs there anyway ("message", "[REDACTED]") is
 * skipped: no redaction could remove it.
 */
async function checkNoForm(output: Output, register: boolean): Promise<void> {
  const placeholder = 'PLACEHOLDER-value-9q';
  clearRegisteredSecrets();
  if (register) registerSecret(placeholder);
  const baseline = (await Promise.all(Object.values(encodings(placeholder)).map((e) => output(placeholder, e)))).join(
    '\n',
  );
  expect(baseline).not.toContain(placeholder);
  await fc.assert(
    fc.asyncProperty(secretArbitrary, async (secret) => {
      const forms = formsOf(secret);
      fc.pre(forms.every((form) => !baseline.includes(form)));
      clearRegisteredSecrets();
      if (register) registerSecret(secret);
      for (const [name, encoded] of Object.entries(encodings(secret))) {
        const text = await output(secret, encoded);
        for (const form of forms) {
          if (text.includes(form)) {
            throw new Error(
              `the ${name} secret ${JSON.stringify(secret)} shows as ${JSON.stringify(form)} in:\n${text}`,
            );
          }
        }
      }
    }),
    { numRuns: 60 },
  );
}

describe('no secret in any encoding', () => {
  it('log lines: message, attributes, headers, errors', async () => {
    await checkNoForm((_secret, encoded) => logOutput(encoded), true);
  }, 60_000);

  it('vendor error messages: the HTTP client registers its credential and masks every echo of it', async () => {
    await checkNoForm(vendorErrorOutput, false);
  }, 60_000);

  it('work messages, as the platform receives them', async () => {
    await checkNoForm((_secret, encoded) => workMessageOutput(encoded), true);
  }, 60_000);

  it('redactString keeps the text around a secret and masks each occurrence once', () => {
    registerSecret('s3cr3t+/=value');
    const encoded = encodeURIComponent('s3cr3t+/=value');
    expect(redactString(`form: client_id=abc&client_secret=${encoded}&grant_type=client_credentials`)).toBe(
      `form: client_id=abc&client_secret=${REDACTED}&grant_type=client_credentials`,
    );
    expect(redactString(`Basic ${b64('user:s3cr3t+/=value')} then ok`)).toBe(`Basic ${REDACTED} then ok`);
    expect(redactString(`{"key":"${b64('s3cr3t+/=value')}","n":1}`)).toBe(`{"key":"${REDACTED}","n":1}`);
    expect(redactString('nothing here, 42 words of 2026')).toBe('nothing here, 42 words of 2026');
  });
});
