import { InputError, observableId, TLP_MARKING_IDS, toEnrichmentEntity } from '@cti/connector-sdk';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { observableOfIndicator, parseSimplePattern, simplePattern } from './indicator-pattern.js';

describe('parseSimplePattern', () => {
  it('takes one url, domain-name or hostname value, STIX escapes undone', () => {
    expect(parseSimplePattern("[url:value = 'https://example.com/a?b=c']", 'stix')).toEqual({
      type: 'url',
      value: 'https://example.com/a?b=c',
    });
    expect(parseSimplePattern("  [ domain-name:value='example.com' ] ", null)).toEqual({
      type: 'domain-name',
      value: 'example.com',
    });
    expect(parseSimplePattern("[hostname:value = 'o\\'brien.example']", 'STIX')).toEqual({
      type: 'hostname',
      value: "o'brien.example",
    });
    expect(parseSimplePattern("[url:value = 'https://a.example/x\\\\y']", 'stix').value).toBe('https://a.example/x\\y');
  });

  it('refuses anything else, saying why and what it takes', () => {
    const refused = (pattern: string | null, type: string | null = 'stix') => {
      try {
        parseSimplePattern(pattern, type);
      } catch (err) {
        expect(err).toBeInstanceOf(InputError);
        return (err as Error).message;
      }
      throw new Error(`accepted ${pattern}`);
    };
    expect(refused("[ipv4-addr:value = '1.2.3.4']")).toMatch(
      /^Indicator not enriched: its pattern is not one comparison of a url, domain-name or hostname value\. urlscan\.io enrichment takes an Indicator whose STIX pattern is one url, domain-name or hostname value, such as \[url:value = 'https:\/\/example\.com\/'\] \(pattern: "\[ipv4-addr:value = '1\.2\.3\.4'\]"\)$/,
    );
    for (const pattern of [
      "[url:value = 'https://a.example/' OR url:value = 'https://b.example/']",
      "[url:value = 'https://a.example/'] AND [domain-name:value = 'b.example']",
      "[url:value LIKE 'https://a.example/%']",
      "[url:value = 'https://a.example/'] WITHIN 10 SECONDS",
      "[domain-name:resolves_to_refs[*].value = '1.2.3.4']",
      "[url:value = 'unterminated]",
      "[url:value = 'a' 'b']",
    ]) {
      expect(refused(pattern), pattern).toContain('is not one comparison');
    }
    expect(refused("[url:value = '   ']")).toContain('the value it compares is empty');
    expect(refused("[url:value = 'https://a.example/\nx']")).toContain('control characters');
    expect(refused('alert tcp any any -> any any', 'snort')).toContain('its pattern type is "snort", not stix');
    expect(refused(null)).toContain('it has no pattern');
    expect(refused(`[url:value = '${'x'.repeat(500)}' OR 1]`)).toMatch(/x{10}…"\)$/);
  });

  it('reads back any value written with STIX escaping (property)', () => {
    const value = fc
      .string({ unit: 'grapheme', minLength: 1, maxLength: 80 })
      .filter(
        (v) => v.trim() !== '' && v === v.trim() && ![...v].some((c) => c.charCodeAt(0) < 0x20 || c === '\u007f'),
      );
    fc.assert(
      fc.property(fc.constantFrom('url', 'domain-name', 'hostname') as fc.Arbitrary<'url'>, value, (type, v) => {
        expect(parseSimplePattern(simplePattern(type, v), 'stix')).toEqual({ type, value: v });
      }),
    );
  });

  it('never accepts a pattern with anything after the closing bracket (property)', () => {
    fc.assert(
      fc.property(
        fc.string({ minLength: 1 }).filter((t) => t.trim() !== ''),
        (tail) => {
          expect(() => parseSimplePattern(`[url:value = 'https://a.example/'] ${tail}`, 'stix')).toThrow(InputError);
        },
      ),
    );
  });
});

describe('observableOfIndicator', () => {
  it("is the value's observable, with the indicator's markings and not its labels", () => {
    const amber = TLP_MARKING_IDS['TLP:AMBER'];
    const indicator = toEnrichmentEntity(
      {
        standard_id: 'indicator--00000000-0000-5000-8000-000000000001',
        entity_type: 'Indicator',
        name: 'phish',
        pattern: "[url:value = 'https://a.example/']",
        objectMarking: [{ standard_id: amber, definition_type: 'TLP', definition: 'TLP:AMBER' }],
        objectLabel: [{ value: 'from-a-feed' }],
      },
      null,
    );
    const target = observableOfIndicator(indicator, 'url', 'https://a.example/');
    expect(target).toMatchObject({
      id: observableId('url', { value: 'https://a.example/' }),
      entityType: 'Url',
      value: 'https://a.example/',
      tlp: 'TLP:AMBER',
      markingIds: [amber],
      labels: [],
    });
    expect(target.stix).toEqual({
      type: 'url',
      spec_version: '2.1',
      id: target.id,
      value: 'https://a.example/',
      object_marking_refs: [amber],
    });
  });
});
