import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BundleRefusedError } from '../errors/index.js';
import { assertSendable, sendableProblems } from './sendable.js';

const NOTE = 'note--6b1b4f5c-0d4e-4f7a-9a59-2c5b7d0c0e11';
const bundleOf = (...objects: unknown[]) => ({ type: 'bundle', id: 'bundle--1', objects });
const note = (extra: Record<string, unknown> = {}) => ({ type: 'note', id: NOTE, content: 'x', ...extra });
/** A value nested `levels` deep, as JSON.parse gives it from a vendor's answer (it parses any depth). */
const nested = (levels: number): unknown => JSON.parse(`${'{"a":'.repeat(levels)}1${'}'.repeat(levels)}`);

describe('sendableProblems', () => {
  it('is empty for a sound bundle', () => {
    expect(sendableProblems(bundleOf(note({ object_refs: [NOTE], x_data: { list: [1, 'two', null, true] } })))).toEqual(
      [],
    );
  });

  it('names the object and the path of a value nested too deep, walking only the first 100 levels', () => {
    expect(sendableProblems(bundleOf(note({ x_data: nested(99) })))).toEqual([]);
    expect(sendableProblems(bundleOf(note({ x_data: nested(100) })))).toEqual([
      `${NOTE}: x_data.a.a.a… (100 levels) is nested more than 100 levels deep (or refers to itself)`,
    ]);
    expect(sendableProblems(bundleOf(note({ x_data: nested(100_000) })))).toEqual([
      `${NOTE}: x_data.a.a.a… (100 levels) is nested more than 100 levels deep (or refers to itself)`,
    ]);
  });

  it('refuses circular data, values JSON cannot carry, non-string references and malformed ids', () => {
    const circular: Record<string, unknown> = {};
    circular.again = { list: [circular] };
    expect(
      sendableProblems(
        bundleOf(
          note({ x_loop: circular }),
          note({ id: 'note--6b1b4f5c-0d4e-4f7a-9a59-2c5b7d0c0e12', x_big: { n: 10n } }),
          note({ id: 'note--6b1b4f5c-0d4e-4f7a-9a59-2c5b7d0c0e13', x_nan: [Number.NaN] }),
          note({ id: 'note--6b1b4f5c-0d4e-4f7a-9a59-2c5b7d0c0e14', x_map: new Map([[1, 2]]), x_fn: () => 1 }),
          note({ id: 'note--6b1b4f5c-0d4e-4f7a-9a59-2c5b7d0c0e15', created_by_ref: { id: NOTE }, object_refs: [7] }),
          { type: 'note', id: 'not-an-id' },
          'not an object',
        ),
      ),
    ).toEqual([
      `${NOTE}: x_loop.again.list[0]… (100 levels) is nested more than 100 levels deep (or refers to itself)`,
      'note--6b1b4f5c-0d4e-4f7a-9a59-2c5b7d0c0e12: x_big.n is a bigint, which JSON cannot carry',
      'note--6b1b4f5c-0d4e-4f7a-9a59-2c5b7d0c0e13: x_nan[0] is NaN, which JSON cannot carry',
      expect.stringMatching(/^note--6b1b4f5c-0d4e-4f7a-9a59-2c5b7d0c0e14: x_(map is a Map|fn is a function), which/),
      'note--6b1b4f5c-0d4e-4f7a-9a59-2c5b7d0c0e15.created_by_ref: a object is not a STIX id',
      'note--6b1b4f5c-0d4e-4f7a-9a59-2c5b7d0c0e15.object_refs: a number is not a STIX id',
      "not-an-id: id is not '<type>--<uuid>'",
      'objects[6] is not an object',
    ]);
    expect(sendableProblems({ type: 'bundle' })).toEqual(['the bundle has no list of objects']);
  });

  it('measures an object against maxObjectBytes by its UTF-8 JSON text, escapes included', () => {
    const text = 'é"'.repeat(1000);
    const object = note({ content: text });
    const bytes = Buffer.byteLength(JSON.stringify(object));
    expect(sendableProblems(bundleOf(object), { maxObjectBytes: bytes })).toEqual([]);
    expect(sendableProblems(bundleOf(object), { maxObjectBytes: bytes - 1 })).toEqual([
      `${NOTE}: its JSON is ${bytes} bytes, over the ${bytes - 1}-byte limit of a message`,
    ]);
  });

  it('any JSON data up to the depth limit is sendable, and its size is judged exactly', () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 8 }), fc.nat(4000), (value, limit) => {
        const object = note({ x_value: value });
        const problems = sendableProblems(bundleOf(object), { maxObjectBytes: limit });
        const bytes = Buffer.byteLength(JSON.stringify(object));
        expect(problems).toEqual(
          bytes > limit ? [`${NOTE}: its JSON is ${bytes} bytes, over the ${limit}-byte limit of a message`] : [],
        );
      }),
      { numRuns: 1_000 },
    );
  });

  it('whatever it accepts, JSON.stringify serialises', () => {
    const deepish = fc.letrec((tie) => ({
      value: fc.oneof(
        { depthSize: 'small', withCrossShrink: true },
        fc.jsonValue({ maxDepth: 2 }),
        fc.constantFrom(10n, Number.NaN, Number.POSITIVE_INFINITY, undefined, () => 1, Symbol('s'), new Date(0)),
        fc.array(tie('value'), { maxLength: 3 }),
        fc.dictionary(fc.string({ maxLength: 3 }), tie('value'), { maxKeys: 3 }),
      ),
    })).value;
    fc.assert(
      fc.property(deepish, fc.nat(150), (value, levels) => {
        let wrapped: unknown = value;
        for (let i = 0; i < levels; i++) wrapped = { a: wrapped };
        const object = note({ x_value: wrapped });
        if (sendableProblems(bundleOf(object)).length === 0) expect(() => JSON.stringify(object)).not.toThrow();
      }),
      { numRuns: 500 },
    );
  });
});

describe('assertSendable', () => {
  it('throws BundleRefusedError listing at most 20 problems', () => {
    const objects = Array.from({ length: 30 }, (_, i) => ({ type: 'note', id: `bad-${i}` }));
    const error = (() => {
      try {
        assertSendable(bundleOf(...objects));
      } catch (err) {
        return err;
      }
      return undefined;
    })();
    expect(BundleRefusedError.is(error)).toBe(true);
    expect((error as BundleRefusedError).problems).toHaveLength(21);
    expect((error as BundleRefusedError).problems.at(-1)).toBe('… 10 more');
    expect(() => assertSendable(bundleOf(note()))).not.toThrow();
  });
});
