import { describe, expect, it } from 'vitest';
import { ConfigError, RateLimitError, UpstreamApiError } from './index.js';

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
});
