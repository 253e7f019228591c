import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { cleanMetadataValue, connectorMetadata, isRegistrableVersion } from './connector-metadata.js';

describe('cleanMetadataValue (pycti 7 opencti_connector_build._clean)', () => {
  it.each([
    ['0.1.0', '0.1.0'],
    ['  1.2.3  ', '1.2.3'],
    ['team-cymru-scout', 'team-cymru-scout'],
    ['v1.2.3 (build 7)', 'v1.2.3build7'],
    ['7.260817.0+sha.5114f85', '7.260817.0+sha.5114f85'],
    [42, '42'],
  ])('%j → %j', (raw, clean) => {
    expect(cleanMetadataValue(raw)).toBe(clean);
  });

  it.each([
    ['', '  ', 'unknown', 'None', 'NULL', 'undefined', '$CONNECTOR_VERSION', '$VERSION', '()', null, {}, ['1']],
  ])('has nothing usable in %j', (...raws) => {
    for (const raw of raws) expect(cleanMetadataValue(raw)).toBeNull();
  });

  it('keeps only letters, digits and ._+-, at most 64 of them, and is stable (property-based)', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 200 }), (raw) => {
        const clean = cleanMetadataValue(raw);
        if (clean === null) return;
        expect(clean.length).toBeLessThanOrEqual(64);
        expect(clean).toMatch(/^[\p{L}\p{N}._+-]+$/u);
        // Cleaning twice changes nothing, unless the first pass left a placeholder ("n o n e" -> "none").
        const placeholder = ['unknown', 'none', 'null', 'undefined'].includes(clean.toLowerCase());
        expect(cleanMetadataValue(clean)).toBe(placeholder ? null : clean);
      }),
    );
  });
});

describe('isRegistrableVersion', () => {
  it('accepts semantic versions and rolling, nothing else', () => {
    for (const v of ['0.1.0', '7.260817.0', '1.0.0-rc.1', '1.0.0+build.5', 'rolling']) {
      expect(isRegistrableVersion(v), v).toBe(true);
    }
    for (const v of ['1.0', '01.2.3', 'v1.2.3', '1.2.3.4', 'latest', 'Rolling']) {
      expect(isRegistrableVersion(v), v).toBe(false);
    }
  });

  it('accepts every x.y.z of non-negative integers (property-based)', () => {
    const n = fc.nat({ max: 1_000_000 });
    fc.assert(fc.property(n, n, n, (x, y, z) => isRegistrableVersion(`${x}.${y}.${z}`)));
  });
});

describe('connectorMetadata', () => {
  it('leaves out a version the platform would refuse, saying why, and keeps the slug', () => {
    expect(connectorMetadata('latest', 'crowdsec')).toEqual({
      version: null,
      slug: 'crowdsec',
      problems: ['the connector version "latest" is not semantic versioning (x.y.z) nor "rolling"'],
    });
    expect(connectorMetadata('0.1.0', undefined)).toEqual({ version: '0.1.0', slug: null, problems: [] });
  });
});
