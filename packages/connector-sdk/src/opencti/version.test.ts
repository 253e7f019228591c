import { describe, expect, it } from 'vitest';
import { buildRegistrationInput, type RegisterConnectorInput } from './client.js';
import { acceptsRegistrationField, isAtLeast, parsePlatformVersion } from './version.js';

describe('platform versions', () => {
  it('parses 6.x and date-based 7.x versions, ignoring suffixes', () => {
    expect(parsePlatformVersion('6.8.10')).toEqual({ major: 6, minor: 8, patch: 10 });
    expect(parsePlatformVersion('7.260318.0')).toEqual({ major: 7, minor: 260318, patch: 0 });
    expect(parsePlatformVersion('6.9-rc1')).toEqual({ major: 6, minor: 9, patch: 0 });
    expect(parsePlatformVersion('v6.5.7+build')).toEqual({ major: 6, minor: 5, patch: 7 });
    expect(parsePlatformVersion('latest')).toBeNull();
    expect(parsePlatformVersion(undefined)).toBeNull();
  });

  it('compares numerically, not as text', () => {
    const v = (s: string) => parsePlatformVersion(s)!;
    expect(isAtLeast(v('6.8.10'), v('6.8.9'))).toBe(true);
    expect(isAtLeast(v('6.8.9'), v('6.8.9'))).toBe(true);
    expect(isAtLeast(v('6.8.8'), v('6.8.9'))).toBe(false);
    expect(isAtLeast(v('6.10.0'), v('6.8.9'))).toBe(true);
    expect(isAtLeast(v('7.260318.0'), v('6.8.9'))).toBe(true);
    expect(isAtLeast(v('5.12.30'), v('6.5.7'))).toBe(false);
  });

  it('gates registration fields by the version that introduced them', () => {
    expect(acceptsRegistrationField(parsePlatformVersion('6.8.9'), 'auto_update')).toBe(true);
    expect(acceptsRegistrationField(parsePlatformVersion('6.8.8'), 'enrichment_resolution')).toBe(false);
    expect(acceptsRegistrationField(parsePlatformVersion('6.5.7'), 'listen_callback_uri')).toBe(true);
    expect(acceptsRegistrationField(parsePlatformVersion('6.5.6'), 'listen_callback_uri')).toBe(false);
    expect(acceptsRegistrationField(null, 'auto_update')).toBe(false);
  });
});

describe('buildRegistrationInput', () => {
  const input: RegisterConnectorInput = {
    id: 'c1',
    name: 'CrowdSec',
    type: 'INTERNAL_ENRICHMENT',
    scope: ['IPv4-Addr', 'IPv6-Addr'],
    auto: true,
    only_contextual: false,
    playbook_compatible: true,
  };
  const base = {
    id: 'c1',
    name: 'CrowdSec',
    type: 'INTERNAL_ENRICHMENT',
    scope: ['IPv4-Addr', 'IPv6-Addr'],
    auto: true,
    only_contextual: false,
    playbook_compatible: true,
  };

  it("sends pycti 6.8.10's full input, with its defaults, to a 6.8.9+ platform", () => {
    expect(buildRegistrationInput(input, parsePlatformVersion('7.260318.0'))).toEqual({
      variables: { ...base, auto_update: false, enrichment_resolution: 'none', listen_callback_uri: null },
      dropped: [],
    });
  });

  it('leaves out the fields an older platform would reject', () => {
    expect(buildRegistrationInput(input, parsePlatformVersion('6.8.8'))).toEqual({
      variables: { ...base, listen_callback_uri: null },
      dropped: [],
    });
    expect(buildRegistrationInput(input, parsePlatformVersion('6.4.0'))).toEqual({ variables: base, dropped: [] });
    expect(buildRegistrationInput(input, null)).toEqual({ variables: base, dropped: [] });
  });

  it('reports requested features the platform cannot honour', () => {
    const wanted = { ...input, auto_update: true, enrichment_resolution: 'stix_bundle' };
    expect(buildRegistrationInput(wanted, parsePlatformVersion('6.8.8')).dropped).toEqual([
      'auto_update',
      'enrichment_resolution',
    ]);
  });

  it('sends version and slug only to a platform whose schema declares both (pycti 7 asks the schema)', () => {
    const described = { ...input, version: '0.1.0', slug: 'crowdsec' };
    const later = new Set(['id', 'name', 'xtm_one_intent', 'version', 'slug']);
    const v7 = parsePlatformVersion('7.260318.0');
    expect(buildRegistrationInput(described, v7, later).variables).toMatchObject({
      version: '0.1.0',
      slug: 'crowdsec',
    });
    for (const declared of [null, new Set(['id', 'name']), new Set(['version'])]) {
      const { variables, dropped } = buildRegistrationInput(described, v7, declared);
      expect(variables).not.toHaveProperty('version');
      expect(variables).not.toHaveProperty('slug');
      expect(dropped).toEqual(['version', 'slug']);
    }
    // Nothing to send, nothing dropped.
    expect(buildRegistrationInput(input, v7, null).dropped).toEqual([]);
    expect(buildRegistrationInput({ ...input, slug: 'crowdsec' }, v7, later).variables).not.toHaveProperty('version');
  });

  it('always sends a listen callback URI, so an unsupported API listen protocol fails at registration', () => {
    const api = { ...input, listen_callback_uri: 'http://connector:7070/api/callback' };
    expect(buildRegistrationInput(api, parsePlatformVersion('6.4.0')).variables.listen_callback_uri).toBe(
      'http://connector:7070/api/callback',
    );
  });
});
