import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { buildPushMessage, largestObjectBytes } from './message.js';

const chunk = JSON.stringify({
  type: 'bundle',
  id: 'bundle--6b1b4f5c-0d4e-4f7a-9a59-2c5b7d0c0e11',
  spec_version: '2.1',
  objects: [{ type: 'ipv4-addr', id: 'ipv4-addr--ff26c055-6336-5bc5-b98d-13d6226742dd', value: '1.2.3.4' }],
});

function parse(body: Buffer): Record<string, unknown> {
  return JSON.parse(body.toString('utf8')) as Record<string, unknown>;
}

describe('buildPushMessage', () => {
  it("has pycti's keys, in pycti's order, with the chunk base64-encoded", () => {
    const body = buildPushMessage(chunk, {
      applicantId: 'a0b1c2d3-0000-4000-8000-000000000001',
      workId: 'work_2025-01-01',
      draftId: null,
      update: false,
      actionSequence: 3,
    });
    const message = parse(body);

    expect(Object.keys(message)).toEqual([
      'bundle_type',
      'applicant_id',
      'action_sequence',
      'entities_types',
      'content',
      'update',
      'draft_id',
      'work_id',
    ]);
    expect(message).toEqual({
      bundle_type: 'QUEUE_BUNDLE',
      applicant_id: 'a0b1c2d3-0000-4000-8000-000000000001',
      action_sequence: 3,
      entities_types: [],
      content: Buffer.from(chunk, 'utf8').toString('base64'),
      update: false,
      draft_id: null,
      work_id: 'work_2025-01-01',
    });
    expect(Buffer.from(message.content as string, 'base64').toString('utf8')).toBe(chunk);
  });

  it('leaves work_id out when there is no work, and keeps draft_id and applicant_id even when null', () => {
    const message = parse(
      buildPushMessage(chunk, { applicantId: null, workId: null, draftId: null, update: true, actionSequence: 1 }),
    );
    expect('work_id' in message).toBe(false);
    expect(message.draft_id).toBeNull();
    expect(message.applicant_id).toBeNull();
    expect(message.update).toBe(true);
  });

  it('carries the draft and the worker type filter', () => {
    const types = ['Indicator', 'Malware'];
    const message = parse(
      buildPushMessage(chunk, {
        applicantId: 'u',
        workId: null,
        draftId: 'draft-1',
        update: false,
        entitiesTypes: types,
        actionSequence: 1,
      }),
    );
    expect(message.draft_id).toBe('draft-1');
    expect(message.entities_types).toEqual(['Indicator', 'Malware']);
  });

  it('round-trips non-ASCII text through the UTF-8 bytes of the chunk', () => {
    const unicode = JSON.stringify({ type: 'bundle', objects: [{ name: 'Кобальт 🐉 Straße' }] });
    const message = parse(
      buildPushMessage(unicode, { applicantId: null, workId: null, draftId: null, update: false, actionSequence: 1 }),
    );
    const decoded = Buffer.from(message.content as string, 'base64');
    expect(decoded.equals(Buffer.from(unicode, 'utf8'))).toBe(true);
    expect(JSON.parse(decoded.toString('utf8'))).toEqual(JSON.parse(unicode));
  });
});

describe('largestObjectBytes', () => {
  it('an object of that size, split and enveloped, makes a message within the limit', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 4096, max: 1024 * 1024 }),
        fc.constantFrom('a', 'é', '😀', '"', '\u0001'),
        (maxMessageBytes, char) => {
          const room = largestObjectBytes(maxMessageBytes);
          // The object's JSON filled to the bound with `char` (its escaped, UTF-8 size counted).
          const unit = Buffer.byteLength(JSON.stringify(char)) - 2;
          const skeleton = { type: 'note', id: 'note--6b1b4f5c-0d4e-4f7a-9a59-2c5b7d0c0e11', content: '' };
          const free = room - Buffer.byteLength(JSON.stringify(skeleton));
          const object = { ...skeleton, content: char.repeat(Math.floor(free / unit)) };
          expect(Buffer.byteLength(JSON.stringify(object))).toBeLessThanOrEqual(room);
          const chunk = JSON.stringify({
            type: 'bundle',
            id: 'bundle--6b1b4f5c-0d4e-4f7a-9a59-2c5b7d0c0e11',
            spec_version: '2.1',
            x_opencti_seq: 999_999_999,
            objects: [{ ...object, nb_deps: 999_999_999 }],
            x_opencti_event_version: '4',
          });
          const body = buildPushMessage(chunk, {
            applicantId: '88ec0c6a-13ce-5e39-b486-354fe4a7084f',
            workId: `work_${'f'.repeat(36)}_2026-08-21T12:34:56.789Z`,
            draftId: '88ec0c6a-13ce-5e39-b486-354fe4a7084f',
            update: true,
            entitiesTypes: ['Indicator', 'Malware'],
            actionSequence: 999_999_999,
          });
          expect(body.length).toBeLessThanOrEqual(maxMessageBytes);
        },
      ),
      { numRuns: 100 },
    );
  });
});
