import {
  buildAuthor,
  buildIndicator,
  buildLocation,
  buildNote,
  buildObservable,
  buildRelationship,
  buildReport,
  buildSighting,
  TLP_MARKING_IDS,
  tlpMarkingDefinition,
} from '@cti/connector-sdk';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { assertValidStix, StixViolationError, stixBundleViolations, stixObjectViolations } from './stix-validation.js';

const NOW = '2026-03-01T10:00:00.000Z';
const author = buildAuthor('Validator Test Org', 'An organisation');
const ctx = { author, markings: [TLP_MARKING_IDS['TLP:AMBER']], confidence: 60, now: NOW };
const ip = buildObservable('ipv4-addr', { value: '198.51.100.7' }, ctx);
const indicator = buildIndicator({ pattern: "[ipv4-addr:value = '198.51.100.7']", name: '198.51.100.7' }, ctx);
const relationship = buildRelationship(
  { relationship_type: 'based-on', source_ref: indicator.id, target_ref: ip.id },
  ctx,
);
const country = buildLocation({ name: 'France', x_opencti_location_type: 'Country', country: 'FR' }, ctx);
const sighting = buildSighting(
  { sighting_of_ref: indicator.id, where_sighted_refs: [author.id], first_seen: NOW, last_seen: NOW, count: 3 },
  ctx,
);
const note = buildNote({ content: 'Seen scanning', object_refs: [ip.id] }, ctx);
const report = buildReport({ name: 'Weekly', published: NOW, object_refs: [ip.id] }, ctx);
const marking = tlpMarkingDefinition('TLP:AMBER');

const valid = { author, ip, indicator, relationship, country, sighting, note, report, marking };

const i = indicator as unknown as Record<string, unknown>;
const a = author as unknown as Record<string, unknown>;
function without(o: Record<string, unknown>, key: string): Record<string, unknown> {
  const copy = { ...o };
  delete copy[key];
  return copy;
}

function violationsOf(object: Record<string, unknown>): string[] {
  return stixObjectViolations(object);
}

describe('stixObjectViolations', () => {
  it.each(Object.entries(valid))('accepts the SDK builders’ %s', (_name, object) => {
    expect(violationsOf(object as unknown as Record<string, unknown>)).toEqual([]);
  });

  it('accepts an observable without spec_version (optional on SCOs only)', () => {
    const { spec_version: _drop, ...bare } = ip as unknown as Record<string, unknown>;
    expect(violationsOf(bare)).toEqual([]);
  });

  const cases: Array<[string, Record<string, unknown>, string]> = [
    ['an SDO without created', without(a, 'created'), "missing required property 'created'"],
    ['an SDO without modified', without(a, 'modified'), "missing required property 'modified'"],
    ['an SDO without spec_version', without(i, 'spec_version'), "missing required property 'spec_version'"],
    ['another spec_version', { ...i, spec_version: '2.0' }, "not '2.1'"],
    ['an id of another type', { ...i, id: author.id }, "id is not 'indicator--<UUID>'"],
    ['an id that is not a UUID', { ...i, id: 'indicator--1234' }, 'RFC 4122'],
    ['a UUID of the wrong variant', { ...i, id: 'indicator--2f0b7e3a-1c4d-4e5f-7a8b-9c0d1e2f3a4b' }, 'RFC 4122'],
    ['created to the second', { ...a, created: '2026-03-01T10:00:00Z' }, 'precise to the millisecond'],
    ['created with an offset', { ...a, created: '2026-03-01T10:00:00.000+01:00' }, 'not an RFC 3339 UTC timestamp'],
    ['an impossible date', { ...a, created: '2026-02-30T10:00:00.000Z' }, 'not a valid date'],
    [
      'modified before created',
      { ...a, created: NOW, modified: '2020-01-01T00:00:00.000Z' },
      'modified must be at or after created',
    ],
    ['created_by_ref to an indicator', { ...i, created_by_ref: indicator.id }, 'expected identity'],
    ['markings that are identities', { ...i, object_marking_refs: [author.id] }, 'expected marking-definition'],
    ['a reference that is not an id', { ...i, created_by_ref: 'CrowdSec' }, 'is not an identifier'],
    ['an empty list', { ...i, labels: [] }, 'empty list'],
    ['labels that are not strings', { ...i, labels: [1] }, 'labels is not a list of strings'],
    ['confidence over 100', { ...i, confidence: 101 }, 'confidence 101'],
    ['a fractional confidence', { ...i, confidence: 50.5 }, 'confidence 50.5'],
    ['an external reference without source', { ...i, external_references: [{ url: 'https://x' }] }, 'no source_name'],
    ['an external reference with a source only', { ...i, external_references: [{ source_name: 's' }] }, 'at least one'],
    ['an indicator without pattern', without(i, 'pattern'), "missing required property 'pattern'"],
    ['an indicator without pattern_type', without(i, 'pattern_type'), "'pattern_type'"],
    ['an indicator without valid_from', without(i, 'valid_from'), "'valid_from'"],
    ['valid_until at valid_from', { ...i, valid_until: i.valid_from }, 'valid_until must be after valid_from'],
    ['a stix pattern that is not one', { ...i, pattern: "ipv4-addr:value = '1.2.3.4'" }, 'observation expression'],
    ['a relationship without type', without(relationship as never, 'relationship_type'), "'relationship_type'"],
    ['a relationship to a marking', { ...relationship, target_ref: marking.id }, 'links SDOs and SCOs'],
    [
      'stop_time before start_time',
      { ...relationship, start_time: NOW, stop_time: '2020-01-01T00:00:00Z' },
      'stop_time must be after',
    ],
    ['a sighting of an observable', { ...sighting, sighting_of_ref: ip.id }, 'refers to a ipv4-addr'],
    [
      'a sighting seen by an indicator',
      { ...sighting, where_sighted_refs: [indicator.id] },
      'expected identity or location',
    ],
    ['a negative count', { ...sighting, count: -1 }, 'count is not an integer'],
    [
      'last_seen before first_seen',
      { ...sighting, last_seen: '2020-01-01T00:00:00Z' },
      'last_seen must be at or after',
    ],
    ['a note without object_refs', without(note as never, 'object_refs'), "'object_refs'"],
    ['a report without published', without(report as never, 'published'), "'published'"],
    ['a location with nothing to place it', without(country as never, 'country'), 'region, country, or latitude'],
    ['a latitude out of range', { ...country, latitude: 91, longitude: 2 }, 'not within -90..90'],
    ['a latitude alone', { ...country, latitude: 45 }, 'latitude and longitude go together'],
    [
      'a malware without is_family',
      { ...i, type: 'malware', id: 'malware--2f0b7e3a-1c4d-4e5f-8a8b-9c0d1e2f3a4b', name: 'm' },
      "'is_family'",
    ],
    [
      'a family without name',
      {
        type: 'malware',
        spec_version: '2.1',
        id: 'malware--2f0b7e3a-1c4d-4e5f-8a8b-9c0d1e2f3a4b',
        created: NOW,
        modified: NOW,
        is_family: true,
      },
      'needs a name',
    ],
    ['an observable without value', without(ip as never, 'value'), "missing required property 'value'"],
    [
      'an AS number that is text',
      { type: 'autonomous-system', id: 'autonomous-system--2f0b7e3a-1c4d-5e5f-8a8b-9c0d1e2f3a4b', number: 'AS1' },
      'not an integer',
    ],
    [
      'a file with neither hashes nor name',
      { type: 'file', id: 'file--2f0b7e3a-1c4d-5e5f-8a8b-9c0d1e2f3a4b', size: 3 },
      'hashes or name',
    ],
    [
      'an IP resolving to a domain',
      { ...ip, resolves_to_refs: ['domain-name--2f0b7e3a-1c4d-5e5f-8a8b-9c0d1e2f3a4b'] },
      'expected mac-addr',
    ],
    ['an SCO authored by an indicator', { ...ip, x_opencti_created_by_ref: indicator.id }, 'expected identity'],
    ['a marking without definition', without(marking as never, 'definition'), 'needs a definition'],
    ['a TLP colour that is not one', { ...marking, definition: { tlp: 'purple' } }, 'white, green, amber, red'],
    [
      'an unknown type',
      { ...i, type: 'foo-bar', id: 'foo-bar--2f0b7e3a-1c4d-4e5f-8a8b-9c0d1e2f3a4b' },
      "'foo-bar' is not a STIX 2.1 type",
    ],
    ['a type in capitals', { ...i, type: 'Indicator' }, 'is not a STIX type name'],
    ['a property name in camel case', { ...i, xOpenCti: 1 }, "property name 'xOpenCti'"],
    ['an extension with a free key', { ...ip, extensions: { 'opencti-ext': {} } }, "extension 'opencti-ext'"],
  ];
  it.each(cases)('rejects %s', (_what, object, expected) => {
    const problems = violationsOf(object);
    expect(problems.join('\n')).toContain(expected);
  });
});

describe('stixBundleViolations and assertValidStix', () => {
  const bundle = { type: 'bundle', id: 'bundle--2f0b7e3a-1c4d-4e5f-8a8b-9c0d1e2f3a4b', objects: Object.values(valid) };

  it('accepts a bundle of valid objects', () => {
    expect(stixBundleViolations(bundle)).toEqual([]);
    expect(() => assertValidStix(bundle)).not.toThrow();
  });

  it('names every bad object and the bundle’s own problems', () => {
    const bad = { ...bundle, id: 'bundle-1', objects: [without(a, 'created'), without(i, 'valid_from')] };
    expect(stixBundleViolations(bad)).toEqual([
      'bundle: id "bundle-1" is not \'bundle--<UUID>\'',
      `${author.id}: missing required property 'created'`,
      `${indicator.id}: missing required property 'valid_from'`,
    ]);
    expect(() => assertValidStix(bad, 'the CrowdSec bundle')).toThrow(StixViolationError);
    expect(() => assertValidStix(bad, 'the CrowdSec bundle')).toThrow(
      /the CrowdSec bundle is not valid STIX 2.1 \(3 violations\)/,
    );
  });

  it('rejects an empty objects list and objects that are not objects', () => {
    expect(stixBundleViolations({ ...bundle, objects: [] })).toContain('bundle: objects is an empty list');
    expect(stixBundleViolations({ ...bundle, objects: ['x'] })).toEqual(['"x" is not a JSON object']);
  });
});

describe('timestamps (property-based)', () => {
  const withCreated = (created: string) => violationsOf({ ...a, created, modified: created });
  const withValidFrom = (valid_from: string) => violationsOf({ ...i, valid_from, valid_until: undefined });
  const dates = fc.date({
    min: new Date('0001-01-01T00:00:00.000Z'),
    max: new Date('9999-12-31T23:59:59.999Z'),
    noInvalidDate: true,
  });

  it('accepts every instant written by toISOString as created', () => {
    fc.assert(fc.property(dates, (d) => withCreated(d.toISOString()).length === 0));
  });

  it('refuses created to the second, and accepts it where any precision goes', () => {
    fc.assert(
      fc.property(dates, (d) => {
        const seconds = d.toISOString().replace(/\.\d{3}Z$/, 'Z');
        return withCreated(seconds).join().includes('millisecond') && withValidFrom(seconds).length === 0;
      }),
    );
  });

  it('never accepts a text Date.parse cannot read, nor an offset other than Z', () => {
    fc.assert(
      fc.property(fc.string(), (text) => {
        const accepted = withValidFrom(text).length === 0;
        return !accepted || (Number.isFinite(Date.parse(text)) && text.endsWith('Z'));
      }),
    );
    fc.assert(
      fc.property(dates, fc.integer({ min: 1, max: 14 }), (d, hours) => {
        const offset = d.toISOString().replace('Z', `+${String(hours).padStart(2, '0')}:00`);
        return withValidFrom(offset).length > 0;
      }),
    );
  });

  it('refuses days past the end of their month', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1970, max: 2100 }), fc.integer({ min: 1, max: 12 }), (year, month) => {
        const days = new Date(Date.UTC(year, month, 0)).getUTCDate();
        const mm = String(month).padStart(2, '0');
        return (
          withValidFrom(`${year}-${mm}-${days}T00:00:00Z`).length === 0 &&
          withValidFrom(`${year}-${mm}-${days + 1}T00:00:00Z`)
            .join()
            .includes('not a valid date')
        );
      }),
    );
  });
});
