import { describe, expect, it } from 'vitest';
import { ConfigError, credentialsRejected, RateLimitError, UpstreamApiError } from './index.js';

describe('errors', () => {
  it('lists every config issue on its own line with the variable name', () => {
    const err = new ConfigError([
      { variable: 'OPENCTI_URL', message: 'required' },
      { variable: 'CONNECTOR_ID', message: 'expected a UUID' },
    ]);
    expect(err.message.split('\n')).toEqual([
      'Invalid configuration:',
      '  - OPENCTI_URL: required',
      '  - CONNECTOR_ID: expected a UUID',
    ]);
    expect(err.name).toBe('ConfigError');
  });

  it('recognises its classes by name across package copies', () => {
    const err = new RateLimitError('quota', { vendor: 'X', status: 429, retryAfterMs: 1000 });
    expect(UpstreamApiError.is(err)).toBe(false);
    expect(RateLimitError.is(err)).toBe(true);
    const foreign = Object.assign(new Error('x'), { name: 'RateLimitError' });
    expect(RateLimitError.is(foreign)).toBe(true);
    expect(JSON.parse(JSON.stringify(err))).toMatchObject({ status: 429, retryable: true, retryAfterMs: 1000 });
  });

  it('rewords a 401/403 as a non-retried auth error naming the setting; leaves every other failure alone', () => {
    const at = { vendor: 'CrowdSec', method: 'GET', url: 'https://cti.example/v2/smoke/1.2.3.4' };
    const refused = new UpstreamApiError('CrowdSec API answered 403 Forbidden', {
      ...at,
      status: 403,
      retryable: true,
    });
    const err = credentialsRejected(refused, (status) => `CrowdSec rejected the API key (HTTP ${status}): check KEY`);
    expect(err?.message).toBe('CrowdSec rejected the API key (HTTP 403): check KEY');
    expect(err).toMatchObject({ ...at, status: 403, retryable: false, reason: 'auth' });
    expect(err?.cause).toBe(refused);
    const other = new UpstreamApiError('CrowdSec API answered 500', { ...at, status: 500, retryable: true });
    expect(credentialsRejected(other, () => 'x')).toBeUndefined();
    expect(credentialsRejected(new Error('401'), () => 'x')).toBeUndefined();
  });
});
