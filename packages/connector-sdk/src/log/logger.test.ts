import { PassThrough } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { UpstreamApiError } from '../errors/index.js';
import { createLogger } from './logger.js';
import { clearRegisteredSecrets, registerSecret } from './redact.js';

function capture(json = true) {
  const stream = new PassThrough();
  const lines: string[] = [];
  stream.on('data', (b: Buffer) => lines.push(...b.toString().split('\n').filter(Boolean)));
  const logger = createLogger({ name: 'test', level: 'debug', json, destination: stream });
  return { logger, text: () => lines.join('\n'), lines };
}

afterEach(() => clearRegisteredSecrets());

describe('createLogger', () => {
  it('writes pycti-shaped JSON lines', () => {
    const { logger, lines } = capture();
    logger.warn({ workId: 'w1' }, 'something happened');
    const rec = JSON.parse(lines[0] ?? '{}');
    expect(Object.keys(rec).sort()).toEqual(['attributes', 'level', 'message', 'name', 'timestamp']);
    expect(rec).toMatchObject({
      level: 'WARNING',
      name: 'test',
      message: 'something happened',
      attributes: { workId: 'w1' },
    });
    expect(rec.timestamp).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  });

  it('honours the level', () => {
    const stream = new PassThrough();
    let out = '';
    stream.on('data', (b: Buffer) => {
      out += b.toString();
    });
    const logger = createLogger({ name: 'x', level: 'warn', destination: stream });
    logger.info('hidden');
    logger.error('shown');
    expect(out).not.toContain('hidden');
    expect(out).toContain('shown');
  });

  it('never prints a secret at debug level: config values, headers, URLs, wrapped HTTP errors', () => {
    registerSecret('CROWDSEC-KEY-1234567890');
    registerSecret('opencti-token-abcdef');
    const { logger, text } = capture();
    logger.debug({ config: { CROWDSEC_KEY: 'CROWDSEC-KEY-1234567890' } }, 'config loaded');
    logger.debug(
      { headers: { Authorization: 'Bearer opencti-token-abcdef', 'x-api-key': 'CROWDSEC-KEY-1234567890' } },
      'req',
    );
    logger.debug({ headers: { 'API-Key': 'urlscan-key-zzzz', 'X-API-KEY': 'spycloud-key-yyyy' } }, 'req2');
    logger.debug('calling https://api.example.com/x?apikey=CROWDSEC-KEY-1234567890&token=abcd1234');
    const axiosLike = Object.assign(new Error('Request failed with status code 500'), {
      config: { headers: { Authorization: 'Bearer opencti-token-abcdef' }, url: 'https://h/?key=k3y-value' },
      response: { headers: {}, data: 'x' },
    });
    logger.debug({ err: axiosLike }, 'raw error');
    const wrapped = new UpstreamApiError(
      'CrowdSec answered 500',
      { vendor: 'CrowdSec', status: 500, retryable: true, url: 'https://cti/v2/smoke/1.2.3.4' },
      { cause: axiosLike },
    );
    logger.error({ err: wrapped }, 'enrichment failed');
    const out = text();
    for (const secret of [
      'CROWDSEC-KEY-1234567890',
      'opencti-token-abcdef',
      'urlscan-key-zzzz',
      'spycloud-key-yyyy',
      'abcd1234',
      'k3y-value',
    ]) {
      expect(out).not.toContain(secret);
    }
    expect(out).toContain('CrowdSec answered 500');
    expect(out).toContain('[REDACTED]');
  });

  it('writes readable lines when JSON logging is off', () => {
    const { logger, lines } = capture(false);
    logger.info({ n: 1 }, 'hello');
    expect(lines[0]).toMatch(/^\d\d:\d\d:\d\d INFO {4}test: hello \{"n":1\}$/);
  });
});

describe('attached files in logged objects', () => {
  it('shows their names, types and sizes, never their content', async () => {
    const { logger, text } = capture();
    const content = Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47]), Buffer.alloc(3000, 7)]).toString('base64');
    const object = {
      type: 'url',
      id: 'url--8fc1a5d4-f308-5533-a929-a69bf66ec508',
      x_opencti_files: [{ name: 'page_1.png', mime_type: 'image/png', data: content, no_trigger_import: true }],
    };
    logger.debug({ object, objects: [object] }, 'sending');
    const line = text();
    expect(line).not.toContain(content.slice(0, 40));
    expect(line).not.toContain(content.slice(-40));
    expect(line).toContain('page_1.png');
    expect(line).toContain(`[file content, ${content.length} base64 characters]`);
  });
});
