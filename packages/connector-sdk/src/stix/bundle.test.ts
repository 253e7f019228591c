import { describe, expect, it } from 'vitest';
import { BundleError } from '../errors/index.js';
import { buildAuthor, buildIncident, buildObservable, buildRelationship, type StixContext } from './builders.js';
import { assembleBundle, bundleIdFor, validateBundle } from './bundle.js';
import { TLP_MARKING_IDS } from './ids.js';
import { splitBundle } from './splitter.js';
import { tlpMarkingDefinition } from './tlp.js';
import type { MarkingDefinition, StixObject } from './types.js';

const NOW = '2024-05-01T08:00:00.000Z';
const author = buildAuthor('SpyCloud');
const ctx: StixContext = { author, markings: [TLP_MARKING_IDS['TLP:AMBER+STRICT']], now: NOW };

function sampleObjects(): StixObject[] {
  const incident = buildIncident({ name: 'Spycloud high alert on a@example.com' }, ctx);
  const email = buildObservable('email-addr', { value: 'a@example.com' }, ctx);
  const relationship = buildRelationship(
    { relationship_type: 'related-to', source_ref: email.id, target_ref: incident.id },
    ctx,
  );
  return [incident, email, relationship];
}

function catchBundleError(fn: () => unknown): BundleError {
  try {
    fn();
  } catch (err) {
    if (BundleError.is(err)) return err as BundleError;
    throw err;
  }
  throw new Error('expected a BundleError');
}

describe('assembleBundle', () => {
  it('puts the author and the referenced TLP marking first', () => {
    const objects = sampleObjects();
    const bundle = assembleBundle({ objects, author });
    expect(bundle.type).toBe('bundle');
    expect(bundle.spec_version).toBe('2.1');
    expect(bundle.objects.map((o) => o.id)).toEqual([
      author.id,
      TLP_MARKING_IDS['TLP:AMBER+STRICT'],
      ...objects.map((o) => o.id),
    ]);
    expect(bundle.objects[1]).toEqual(tlpMarkingDefinition('TLP:AMBER+STRICT'));
  });

  it('derives the bundle id from the set of object ids', () => {
    const objects = sampleObjects();
    const first = assembleBundle({ objects, author });
    const reordered = assembleBundle({ objects: [...objects].reverse(), author });
    expect(reordered.id).toBe(first.id);
    expect(first.id).toBe(bundleIdFor(first.objects.map((o) => o.id)));
    expect(first.id).toMatch(/^bundle--[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    const fewer = assembleBundle({ objects: objects.slice(0, 1), author });
    expect(fewer.id).not.toBe(first.id);
  });

  it('keeps one copy of a repeated id: the later one, where the first was', () => {
    const [incident, email, relationship] = sampleObjects() as [StixObject, StixObject, StixObject];
    const updated = { ...email, x_opencti_score: 90 };
    const bundle = assembleBundle({ objects: [incident, email, relationship, updated, incident], author });
    expect(bundle.objects.map((o) => o.id)).toEqual([
      author.id,
      TLP_MARKING_IDS['TLP:AMBER+STRICT'],
      incident.id,
      email.id,
      relationship.id,
    ]);
    expect(bundle.objects[3]).toBe(updated);
  });

  it('includes a custom marking passed in and refuses an unknown one', () => {
    const pap: MarkingDefinition = {
      type: 'marking-definition',
      spec_version: '2.1',
      id: 'marking-definition--0b9b5b79-6d6f-5a3b-9f4c-6c2a7e2b8a11',
      created: NOW,
      definition_type: 'statement',
      definition: { statement: 'PAP:RED' },
    };
    const observable = buildObservable('ipv4-addr', { value: '1.2.3.4', object_marking_refs: [pap.id] }, ctx);
    expect(assembleBundle({ objects: [observable], markings: [pap], author }).objects.map((o) => o.id)).toEqual([
      author.id,
      pap.id,
      TLP_MARKING_IDS['TLP:AMBER+STRICT'],
      observable.id,
    ]);
    const error = catchBundleError(() => assembleBundle({ objects: [observable], author }));
    expect(error.problems).toEqual([`${observable.id}.object_marking_refs: dangling reference to ${pap.id}`]);
  });

  it('lists every dangling reference with its object and property', () => {
    const [incident, email] = sampleObjects() as [StixObject, StixObject];
    const report = {
      type: 'report',
      id: 'report--761c6602-975f-5e5e-b220-7a2d41f33ce4',
      object_refs: [incident.id, 'indicator--7ad3d74b-c761-522d-9359-5e7565a3abb4'],
    };
    // No author in the bundle: every created_by_ref and x_opencti_created_by_ref dangles.
    const error = catchBundleError(() => assembleBundle({ objects: [incident, email, report] }));
    expect(error.problems).toEqual([
      `${incident.id}.created_by_ref: dangling reference to ${author.id}`,
      `${email.id}.x_opencti_created_by_ref: dangling reference to ${author.id}`,
      `${report.id}.object_refs: dangling reference to indicator--7ad3d74b-c761-522d-9359-5e7565a3abb4`,
    ]);
    expect(error.message).toMatch(/^The bundle has unresolved references: /);
  });

  it('accepts references to external ids', () => {
    const entity = 'ipv4-addr--2f689bf9-0ff2-545f-aa61-e495eb8cecc7';
    const relationship = buildRelationship(
      { relationship_type: 'related-to', source_ref: entity, target_ref: author.id },
      ctx,
    );
    expect(() => assembleBundle({ objects: [relationship], author })).toThrow(BundleError);
    expect(assembleBundle({ objects: [relationship], author, external: [entity] }).objects).toHaveLength(3);
  });

  it('refuses objects without a well-formed type and id', () => {
    const error = catchBundleError(() =>
      assembleBundle({
        objects: [
          { type: 'malware', id: 'tool--21c45dbe-54ec-5bb7-b8cd-9f27cc518714' },
          { type: 'malware', id: 'malware--1' },
          { type: '', id: 'malware--21c45dbe-54ec-5bb7-b8cd-9f27cc518714' },
        ],
      }),
    );
    expect(error.problems).toEqual([
      "tool--21c45dbe-54ec-5bb7-b8cd-9f27cc518714: id does not match type 'malware'",
      "malware--1: id is not '<type>--<uuid>'",
      'malware--21c45dbe-54ec-5bb7-b8cd-9f27cc518714: missing type',
    ]);
  });

  it('refuses to assemble nothing', () => {
    expect(() => assembleBundle({ objects: [], author })).toThrow(/no objects/);
  });

  it('produces what the splitter sends whole', () => {
    const bundle = assembleBundle({ objects: sampleObjects(), author });
    expect(validateBundle(bundle)).toEqual([]);
    const split = splitBundle(bundle, { cleanupInconsistentBundle: true });
    expect(split.incompatible).toEqual([]);
    expect(split.expectations).toBe(bundle.objects.length);
    expect(
      split.chunks
        .map((c) => c.objects[0].id)
        .slice(0, 2)
        .sort(),
    ).toEqual([author.id, TLP_MARKING_IDS['TLP:AMBER+STRICT']].sort());
  });
});

describe('validateBundle', () => {
  it('returns nothing for a sound vendor bundle', () => {
    const bundle = {
      type: 'bundle',
      id: 'bundle--1d1f3b8e-8d1d-4b6a-9a4e-0f1f4b1c2d3e',
      objects: [
        { type: 'identity', id: 'identity--d969b177-497f-598d-8428-b128c8f5f819', name: 'julien' },
        {
          type: 'indicator',
          id: 'indicator--7ad3d74b-c761-522d-9359-5e7565a3abb4',
          created_by_ref: 'identity--d969b177-497f-598d-8428-b128c8f5f819',
          object_marking_refs: [TLP_MARKING_IDS['TLP:GREEN']],
        },
      ],
    };
    expect(validateBundle(bundle, { external: [TLP_MARKING_IDS['TLP:GREEN']] })).toEqual([]);
  });

  it('lists shape problems, conflicting duplicates and dangling references', () => {
    const problems = validateBundle({
      type: 'report',
      id: 'x',
      objects: [
        { type: 'identity', id: 'identity--d969b177-497f-598d-8428-b128c8f5f819', name: 'a' },
        { type: 'identity', id: 'identity--d969b177-497f-598d-8428-b128c8f5f819', name: 'b' },
        'junk',
        {
          type: 'note',
          id: 'note--2b4ab5af-2307-58e1-8862-a6a269aae798',
          object_refs: [42],
          x_opencti_sample_ref: 'x',
        },
      ],
    });
    expect(problems).toEqual([
      "type is 'report', not 'bundle'",
      "id 'x' is not a bundle id",
      'identity--d969b177-497f-598d-8428-b128c8f5f819: present several times with different content',
      'objects[2] is not an object',
      'note--2b4ab5af-2307-58e1-8862-a6a269aae798.object_refs: 42 is not a STIX id',
      'note--2b4ab5af-2307-58e1-8862-a6a269aae798.x_opencti_sample_ref: dangling reference to x',
    ]);
  });

  it('rejects what is not a bundle at all', () => {
    expect(validateBundle(null)).toEqual(['the bundle is not an object']);
    expect(validateBundle({ type: 'bundle', id: 'bundle--1', objects: {} })).toEqual(['objects is not a list']);
  });

  it('lists 300,000 dangling references without overflowing the call stack', () => {
    const note = {
      type: 'note',
      id: 'note--2b4ab5af-2307-58e1-8862-a6a269aae798',
      content: 'x',
      object_refs: Array.from(
        { length: 300_000 },
        (_, i) => `indicator--00000000-0000-4000-8000-${String(i).padStart(12, '0')}`,
      ),
    };
    const problems = validateBundle({ type: 'bundle', id: 'bundle--1', objects: [note] });
    expect(problems).toHaveLength(300_000);
    expect(problems[0]).toMatch(/object_refs: dangling reference to indicator--/);
  });
});
