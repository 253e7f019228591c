import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { BundleError } from '../errors/index.js';
import { type SplitResult, splitBundle, splitBundleLazily } from './splitter.js';
import type { StixObject } from './types.js';

function bundle(
  objects: Record<string, unknown>[],
  id = 'bundle--c',
): { type: 'bundle'; id: string; objects: StixObject[] } {
  return { type: 'bundle', id, objects: objects as StixObject[] };
}

/** Each chunk as [id, x_opencti_seq], in sending order. */
function order(result: SplitResult): Array<[string, number]> {
  return result.chunks.map((chunk) => [chunk.objects[0].id, chunk.x_opencti_seq]);
}

function sent(result: SplitResult, id: string): StixObject {
  const chunk = result.chunks.find((c) => c.objects[0].id === id);
  if (chunk === undefined) throw new Error(`${id} was not sent`);
  return chunk.objects[0];
}

describe('splitBundle: the worked example of reference/protocol-notes.md#splitting-a-bundle', () => {
  const input = bundle(
    [
      {
        type: 'relationship',
        id: 'relationship--r1',
        relationship_type: 'uses',
        source_ref: 'malware--m1',
        target_ref: 'attack-pattern--a1',
        created_by_ref: 'identity--i1',
        object_marking_refs: ['marking-definition--t1', 'x-custom--zzz'],
      },
      {
        type: 'malware',
        id: 'malware--m1',
        created_by_ref: 'identity--i1',
        external_references: [
          { source_name: 'a', external_id: '1' },
          { source_name: 'a', external_id: '1' },
          { description: 'only' },
        ],
      },
      { type: 'attack-pattern', id: 'attack-pattern--a1', created_by_ref: 'x-mitre-tactic--q' },
      { type: 'identity', id: 'identity--i1' },
      { type: 'marking-definition', id: 'marking-definition--t1' },
      { type: 'x-mitre-matrix', id: 'x-mitre-matrix--1' },
      {
        type: 'report',
        id: 'report--1',
        object_refs: ['malware--m1', 'report--1', 'relationship--r1', 'indicator--missing'],
      },
    ],
    'bundle--x',
  );
  const result = splitBundle(input);

  it('counts six expectations and drops the unsupported matrix', () => {
    expect(result.expectations).toBe(6);
    expect(result.incompatible.map((o) => o.id)).toEqual(['x-mitre-matrix--1']);
  });

  it('orders the chunks by nb_deps, stably', () => {
    expect(order(result)).toEqual([
      ['identity--i1', 1],
      ['attack-pattern--a1', 1],
      ['marking-definition--t1', 1],
      ['malware--m1', 2],
      ['relationship--r1', 6],
      ['report--1', 9],
    ]);
  });

  it('wraps each object in a bundle with the original id and its sequence', () => {
    for (const chunk of result.chunks) {
      expect(Object.keys(chunk)).toEqual(['type', 'id', 'spec_version', 'x_opencti_seq', 'objects']);
      expect(chunk).toMatchObject({ type: 'bundle', id: 'bundle--x', spec_version: '2.1' });
      expect(chunk.objects).toHaveLength(1);
      expect(chunk.objects[0].nb_deps).toBe(chunk.x_opencti_seq);
    }
  });

  it('rewrites each object as pycti does', () => {
    expect(sent(result, 'identity--i1')).toEqual({ type: 'identity', id: 'identity--i1', nb_deps: 1 });
    expect(sent(result, 'attack-pattern--a1')).toEqual({
      type: 'attack-pattern',
      id: 'attack-pattern--a1',
      created_by_ref: null,
      nb_deps: 1,
    });
    expect(sent(result, 'malware--m1')).toEqual({
      type: 'malware',
      id: 'malware--m1',
      created_by_ref: 'identity--i1',
      external_references: [{ source_name: 'a', external_id: '1' }],
      nb_deps: 2,
    });
    expect(sent(result, 'relationship--r1')).toMatchObject({
      object_marking_refs: ['marking-definition--t1'],
      source_ref: 'malware--m1',
      target_ref: 'attack-pattern--a1',
      nb_deps: 6,
    });
    expect(sent(result, 'report--1')).toEqual({
      type: 'report',
      id: 'report--1',
      object_refs: ['malware--m1', 'relationship--r1', 'indicator--missing'],
      nb_deps: 9,
    });
  });

  it('leaves the caller bundle untouched', () => {
    expect(input.objects[0]).not.toHaveProperty('nb_deps');
    expect(input.objects[0]?.object_marking_refs).toEqual(['marking-definition--t1', 'x-custom--zzz']);
    expect(input.objects[2]?.created_by_ref).toBe('x-mitre-tactic--q');
  });

  it('gives the same result from the JSON text', () => {
    expect(splitBundle(JSON.stringify(input))).toEqual(result);
  });
});

interface OracleCase {
  bundle: { type: 'bundle'; id: string; objects: StixObject[] };
  cleanup: boolean;
  eventVersion: string | null;
  expected: { expectations: number; incompatible: unknown[]; chunks: unknown[] };
}

const oracleLines = readFileSync(new URL('./testdata/pycti-splitter-oracle.jsonl', import.meta.url), 'utf8')
  .split('\n')
  .filter((line) => line.trim() !== '');
const oracleCases = oracleLines.slice(1).map((line) => JSON.parse(line) as OracleCase);

describe('splitBundle against pycti 6.8.10 outputs (testdata/pycti-splitter-oracle.jsonl)', () => {
  it('has the recorded cases', () => {
    expect(oracleCases.length).toBeGreaterThanOrEqual(40);
  });

  it.each(oracleCases.map((c, i) => [i, c] as const))('case %i', (_i, c) => {
    const before = structuredClone(c.bundle);
    const options = { cleanupInconsistentBundle: c.cleanup, eventVersion: c.eventVersion ?? undefined };
    const fromObject = splitBundle(c.bundle, options);
    const fromText = splitBundle(JSON.stringify(c.bundle), options);
    // Compare as JSON: what goes on the wire.
    expect(JSON.parse(JSON.stringify(fromObject))).toEqual(c.expected);
    expect(JSON.parse(JSON.stringify(fromText))).toEqual(c.expected);
    expect(c.bundle).toEqual(before);
  });

  it.each(oracleCases.map((c, i) => [i, c] as const))('case %i, read lazily chunk by chunk', (_i, c) => {
    const before = structuredClone(c.bundle);
    const options = { cleanupInconsistentBundle: c.cleanup, eventVersion: c.eventVersion ?? undefined };
    const lazy = splitBundleLazily(c.bundle, options);
    // Serialised as each chunk is read, the way the push sink reads them.
    const chunks: unknown[] = [];
    for (const chunk of lazy.chunks) chunks.push(JSON.parse(JSON.stringify(chunk)));
    expect(chunks).toHaveLength(lazy.expectations);
    expect(
      JSON.parse(JSON.stringify({ expectations: lazy.expectations, incompatible: lazy.incompatible, chunks })),
    ).toEqual(c.expected);
    expect([...lazy.chunks]).toEqual([]);
    expect(c.bundle).toEqual(before);
  });
});

describe('splitBundle: ordering', () => {
  it('sends every object after the objects it references in an acyclic bundle', () => {
    // A deterministic pseudo-random DAG: object i references only objects with a smaller index.
    let seed = 42;
    const next = (n: number): number => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed % n;
    };
    const objects: Record<string, unknown>[] = [];
    for (let i = 0; i < 300; i++) {
      const refs = i === 0 ? [] : Array.from({ length: next(4) }, () => `note--${next(i)}`);
      const object: Record<string, unknown> = { type: 'note', id: `note--${i}`, object_refs: refs };
      if (i > 0 && next(3) === 0) object.created_by_ref = `note--${next(i)}`;
      objects.push(object);
    }
    objects.reverse();
    const result = splitBundle(bundle(objects));
    expect(result.expectations).toBe(300);
    const position = new Map(result.chunks.map((c, index) => [c.objects[0].id, index]));
    for (const chunk of result.chunks) {
      const object = chunk.objects[0];
      const refs = [...((object.object_refs as string[]) ?? []), object.created_by_ref].filter(
        (r): r is string => typeof r === 'string',
      );
      for (const ref of refs) expect(position.get(ref)).toBeLessThan(position.get(object.id) as number);
    }
  });
});

describe('splitBundle: cycles', () => {
  it('breaks a two-object cycle at the back reference', () => {
    const result = splitBundle(
      bundle([
        { type: 'report', id: 'report--a', object_refs: ['report--b'] },
        { type: 'report', id: 'report--b', object_refs: ['report--a'] },
      ]),
    );
    expect(order(result)).toEqual([
      ['report--b', 1],
      ['report--a', 2],
    ]);
    expect(sent(result, 'report--b').object_refs).toEqual([]);
    expect(sent(result, 'report--a').object_refs).toEqual(['report--b']);
  });

  it('re-enters the first object of a three-object cycle, as pycti does', () => {
    // pycti walks a → b → c → a again (a is not yet cached and not on c's parent path); the inner
    // visit of a drops its ref to b, the outer visit restores it and overwrites nb_deps.
    const result = splitBundle(
      bundle([
        { type: 'note', id: 'note--a', object_refs: ['note--b'] },
        { type: 'note', id: 'note--b', object_refs: ['note--c'] },
        { type: 'note', id: 'note--c', object_refs: ['note--a'] },
      ]),
    );
    expect(order(result)).toEqual([
      ['note--c', 2],
      ['note--b', 3],
      ['note--a', 4],
    ]);
    expect(sent(result, 'note--a').object_refs).toEqual(['note--b']);
    expect(sent(result, 'note--c').object_refs).toEqual(['note--a']);
  });

  it('drops self references', () => {
    const result = splitBundle(
      bundle([{ type: 'report', id: 'report--1', object_refs: ['report--1'], x_self_ref: 'report--1' }]),
    );
    expect(sent(result, 'report--1')).toEqual({
      type: 'report',
      id: 'report--1',
      object_refs: [],
      x_self_ref: null,
      nb_deps: 1,
    });
  });
});

describe('splitBundle: cleanup mode and compatibility', () => {
  const objects = [
    {
      type: 'relationship',
      id: 'relationship--1',
      relationship_type: 'uses',
      source_ref: 'malware--1',
      target_ref: 'x-mitre-tactic--1',
    },
    { type: 'malware', id: 'malware--1' },
    { type: 'x-mitre-tactic', id: 'x-mitre-tactic--1' },
    {
      type: 'sighting',
      id: 'sighting--1',
      sighting_of_ref: 'indicator--gone',
      where_sighted_refs: ['identity--gone', 'x-custom--1'],
    },
    { type: 'sighting', id: 'sighting--2', sighting_of_ref: 'malware--1', where_sighted_refs: ['identity--gone'] },
    {
      type: 'report',
      id: 'report--1',
      object_refs: ['malware--1', 'malware--1', 'indicator--gone'],
      created_by_ref: 'identity--gone',
    },
  ];

  it('drops references to absent objects and what they leave incomplete', () => {
    const result = splitBundle(bundle(objects), { cleanupInconsistentBundle: true });
    expect(result.incompatible.map((o) => o.id)).toEqual([
      'relationship--1',
      'x-mitre-tactic--1',
      'sighting--1',
      'sighting--2',
    ]);
    expect(result.incompatible[0]).toMatchObject({ target_ref: null });
    expect(result.incompatible[3]).toMatchObject({ where_sighted_refs: [] });
    // A duplicated reference counts twice in nb_deps but is kept once.
    expect(order(result)).toEqual([
      ['malware--1', 1],
      ['report--1', 3],
    ]);
    expect(sent(result, 'report--1')).toMatchObject({ object_refs: ['malware--1'], created_by_ref: null });
  });

  it('keeps references to absent objects otherwise', () => {
    const result = splitBundle(bundle(objects));
    expect(result.incompatible.map((o) => o.id)).toEqual(['relationship--1', 'x-mitre-tactic--1']);
    expect(sent(result, 'sighting--1')).toMatchObject({
      sighting_of_ref: 'indicator--gone',
      where_sighted_refs: ['identity--gone'],
    });
    expect(sent(result, 'report--1')).toMatchObject({
      object_refs: ['malware--1', 'indicator--gone'],
      created_by_ref: 'identity--gone',
    });
  });

  it('treats a relationship without an end as incompatible where pycti would crash', () => {
    const result = splitBundle(bundle([{ type: 'relationship', id: 'relationship--1', source_ref: 'malware--1' }]));
    expect(result.expectations).toBe(0);
    expect(result.incompatible.map((o) => o.id)).toEqual(['relationship--1']);
  });
});

describe('splitBundle: embedded lists and internal ids', () => {
  it('deduplicates kill chain phases by their pycti id', () => {
    const phases = [
      { kill_chain_name: 'k', phase_name: 'p' },
      { phase_name: 'p', kill_chain_name: 'k' },
      { kill_chain_name: 'k', phase_name: 'q' },
    ];
    const result = splitBundle(
      bundle([{ type: 'attack-pattern', id: 'attack-pattern--1', kill_chain_phases: phases }]),
    );
    expect(sent(result, 'attack-pattern--1').kill_chain_phases).toEqual([phases[0], phases[2]]);
  });

  it('keeps the first external reference per url, then per source_name + external_id', () => {
    const refs = [
      { source_name: 'x', url: 'https://a' },
      { source_name: 'y', url: 'https://a' },
      { source_name: 'x', external_id: '1' },
      { source_name: 'x', external_id: '1', description: 'again' },
      { source_name: 'x', external_id: '1', url: 'https://b' },
      { source_name: 'no id' },
    ];
    const result = splitBundle(bundle([{ type: 'malware', id: 'malware--1', external_references: refs }]));
    expect(sent(result, 'malware--1').external_references).toEqual([refs[0], refs[2], refs[4]]);
  });

  it('resolves references to x_opencti_id and extension ids', () => {
    const result = splitBundle(
      bundle([
        { type: 'malware', id: 'malware--1', x_opencti_id: 'abc' },
        {
          type: 'identity',
          id: 'identity--1',
          extensions: { 'extension-definition--ea279b3e-5c71-4632-ac08-831c66a786ba': { id: 'def' } },
        },
        { type: 'note', id: 'note--1', object_refs: ['abc', 'def'] },
      ]),
    );
    expect(order(result)).toEqual([
      ['malware--1', 1],
      ['identity--1', 1],
      ['note--1', 3],
    ]);
  });

  it('sends an object twice when it is first reached through an internal id (pycti quirk)', () => {
    const result = splitBundle(
      bundle([
        { type: 'note', id: 'note--1', object_refs: ['abc'] },
        { type: 'malware', id: 'malware--1', x_opencti_id: 'abc' },
      ]),
    );
    expect(result.expectations).toBe(3);
    expect(order(result)).toEqual([
      ['malware--1', 1],
      ['malware--1', 1],
      ['note--1', 2],
    ]);
    expect(result.chunks[0]?.objects[0]).not.toBe(result.chunks[1]?.objects[0]);
  });
});

describe('splitBundle: the caller keeps its objects', () => {
  it('rewrites copies: nested lists, shared values and every rewritten property stay as the caller built them', () => {
    const markings = ['marking-definition--t1', 'x-custom--zzz'];
    const refs = [
      { source_name: 'a', external_id: '1' },
      { source_name: 'a', external_id: '1' },
    ];
    const input = bundle([
      { type: 'marking-definition', id: 'marking-definition--t1' },
      { type: 'malware', id: 'malware--1', object_marking_refs: markings, external_references: refs },
      { type: 'indicator', id: 'indicator--1', object_marking_refs: markings, created_by_ref: 'x-custom--q' },
      { type: 'note', id: 'note--1', object_refs: ['malware--1', 'malware--1', 'indicator--missing'] },
    ]);
    const before = structuredClone(input);
    const result = splitBundle(input, { cleanupInconsistentBundle: true });
    expect(sent(result, 'malware--1')).toMatchObject({
      object_marking_refs: ['marking-definition--t1'],
      external_references: [refs[0]],
    });
    expect(sent(result, 'indicator--1').created_by_ref).toBeNull();
    expect(sent(result, 'note--1').object_refs).toEqual(['malware--1']);
    expect(input).toEqual(before);
    expect(input.objects[1]?.object_marking_refs).toBe(markings);
    expect(markings).toEqual(['marking-definition--t1', 'x-custom--zzz']);
  });

  it('sends one object listed twice (the same instance) once, as when the bundle was deep-copied', () => {
    const malware = { type: 'malware', id: 'malware--1', created_by_ref: 'identity--1' };
    const result = splitBundle(bundle([{ type: 'identity', id: 'identity--1' }, malware, malware]));
    expect(order(result)).toEqual([
      ['identity--1', 1],
      ['malware--1', 2],
    ]);
    expect(malware).not.toHaveProperty('nb_deps');
  });

  it('refuses an object holding a function or another value JSON would not carry', () => {
    const withFunction = { type: 'malware', id: 'malware--1', name: () => 'x' };
    expect(() => splitBundle(bundle([withFunction]))).toThrow(BundleError);
    let refused: unknown;
    try {
      splitBundle(bundle([withFunction, { type: 'malware', id: 'malware--2', size: 1n }]));
    } catch (err) {
      refused = err;
    }
    expect(refused).toBeInstanceOf(BundleError);
    expect((refused as BundleError).problems).toEqual([
      'objects[0].name is a function, not data',
      'objects[1].size is a bigint, not data',
    ]);
  });
});

describe('splitBundle: envelope', () => {
  it('copies the event version into every chunk', () => {
    const result = splitBundle(bundle([{ type: 'malware', id: 'malware--1' }]), { eventVersion: '4' });
    expect(result.chunks[0]?.x_opencti_event_version).toBe('4');
  });

  it('gives a bundle without id a random bundle id', () => {
    const result = splitBundle({ type: 'bundle', objects: [{ type: 'malware', id: 'malware--1' }] });
    expect(result.chunks[0]?.id).toMatch(/^bundle--[0-9a-f-]{36}$/);
  });

  it('rejects what is not a bundle', () => {
    expect(() => splitBundle('{not json')).toThrow('File data is not a valid JSON');
    expect(() => splitBundle('{"type":"bundle"}')).toThrow('File data is not a valid bundle');
    expect(() => splitBundle(bundle([{ type: 'malware' }]))).toThrow(BundleError);
  });

  it('returns no chunk for an empty bundle', () => {
    expect(splitBundle(bundle([]))).toEqual({ expectations: 0, chunks: [], incompatible: [] });
  });
});

describe('splitBundle: scale', () => {
  const N = 100_000;
  const uuid = (i: number): string => `00000000-0000-4000-8000-${i.toString(16).padStart(12, '0')}`;

  it('splits a 100,000-object bundle with a report referencing everything', { timeout: 120_000 }, () => {
    const author = `identity--${uuid(0)}`;
    const marking = `marking-definition--${uuid(0)}`;
    const objects: Record<string, unknown>[] = [
      { type: 'identity', id: author },
      { type: 'marking-definition', id: marking },
    ];
    const half = (N - 4) / 2;
    for (let i = 0; i < half; i++) {
      objects.push({
        type: 'ipv4-addr',
        id: `ipv4-addr--${uuid(i)}`,
        x_opencti_created_by_ref: author,
        object_marking_refs: [marking],
      });
    }
    for (let i = 0; i < half; i++) {
      objects.push({
        type: 'relationship',
        id: `relationship--${uuid(i)}`,
        relationship_type: 'related-to',
        source_ref: `ipv4-addr--${uuid(i)}`,
        target_ref: `ipv4-addr--${uuid((i + 1) % half)}`,
        created_by_ref: author,
        object_marking_refs: [marking],
      });
    }
    objects.push({ type: 'report', id: `report--${uuid(0)}`, object_refs: objects.map((o) => o.id) });
    objects.push({ type: 'x-mitre-matrix', id: `x-mitre-matrix--${uuid(0)}` });
    const result = splitBundle(bundle(objects));
    expect(result.expectations).toBe(N - 1);
    expect(result.incompatible).toHaveLength(1);
    // ipv4: 1 + author + marking = 3; relationship: 1 + 3 + 3 + author + marking = 9.
    const report = result.chunks[result.chunks.length - 1];
    expect(report?.objects[0].id).toBe(`report--${uuid(0)}`);
    expect(report?.x_opencti_seq).toBe(1 + 1 + 1 + half * 3 + half * 9);
    expect(result.chunks[half + 2]?.x_opencti_seq).toBe(9);
  });

  it('splits a 100,000-long reference chain without exhausting the stack', { timeout: 120_000 }, () => {
    const objects = Array.from({ length: N }, (_, i) => ({
      type: 'note',
      id: `note--${uuid(i)}`,
      object_refs: i + 1 < N ? [`note--${uuid(i + 1)}`] : [],
    }));
    const result = splitBundle(bundle(objects));
    expect(result.expectations).toBe(N);
    expect(order({ ...result, chunks: [result.chunks[0], result.chunks[N - 1]] } as SplitResult)).toEqual([
      [`note--${uuid(N - 1)}`, 1],
      [`note--${uuid(0)}`, N],
    ]);
  });
});
