import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { MessageError } from '../errors/index.js';
import { decodeListenMessage, parseListenMessage, workIdOf } from './listen-message.js';

const stixEntity = JSON.parse(
  readFileSync(
    new URL('../../../../connectors/crowdsec/test/fixtures/opencti-stix-entity.json', import.meta.url),
    'utf8',
  ),
) as Record<string, unknown>;

describe('listen messages', () => {
  it('parses a manual enrichment message as the platform sends it (stix_entity as a JSON string)', () => {
    const msg = decodeListenMessage(
      JSON.stringify({
        internal: { work_id: 'work_1', applicant_id: null, draft_id: null, mode: 'manual', trigger: 'update' },
        event: {
          event_type: 'INTERNAL_ENRICHMENT',
          entity_id: stixEntity.id,
          entity_type: 'IPv4-Addr',
          stix_entity: JSON.stringify(stixEntity),
          stix_objects: null,
        },
      }),
    );
    expect(msg).toMatchObject({
      workId: 'work_1',
      applicantId: null,
      draftId: null,
      mode: 'manual',
      entityId: 'ipv4-addr--06d36f46-e6d1-557f-a527-f1cc701617cc',
      entityType: 'IPv4-Addr',
      playbook: null,
      stixObjects: null,
    });
    expect(msg.stixEntity?.value).toBe('TEST.IP.186.190');
  });

  it('parses a playbook message (bundle object, no work, no entity_type)', () => {
    const msg = parseListenMessage({
      internal: {
        work_id: null,
        applicant_id: 'c49fe040-2dad-412d-af07-ce639204ad55',
        trigger: 'create',
        mode: 'auto',
        playbook: {
          event_id: 'e',
          execution_id: 'x',
          playbook_id: 'p',
          data_instance_id: stixEntity.id,
          step_id: 's',
          previous_step_id: 'ps',
        },
      },
      event: { entity_id: stixEntity.id, bundle: { type: 'bundle', id: 'bundle--1', objects: [stixEntity] } },
    });
    expect(msg.workId).toBeNull();
    expect(msg.playbook?.execution_id).toBe('x');
    expect(msg.stixEntity?.id).toBe(stixEntity.id);
    expect(msg.stixObjects).toHaveLength(1);
    expect(msg.playbookBundle?.id).toBe('bundle--1');
  });

  it('keeps no enrichment_entity from a message: the entity is always read from the platform', () => {
    const msg = parseListenMessage({
      internal: { work_id: 'w' },
      event: { entity_id: stixEntity.id, enrichment_entity: { standard_id: stixEntity.id, objectMarking: [] } },
    });
    expect(msg).not.toHaveProperty('enrichmentEntity');
    expect(JSON.stringify(msg)).not.toContain('objectMarking');
  });

  it("takes a playbook step's entity from its bundle, whatever stix_entity the message also carries", () => {
    const decoy = { ...stixEntity, object_marking_refs: [], value: 'decoy' };
    const msg = parseListenMessage({
      internal: {
        work_id: null,
        playbook: { event_id: 'e', execution_id: 'x', playbook_id: 'p', data_instance_id: 'd', step_id: 's' },
      },
      event: {
        entity_id: stixEntity.id,
        stix_entity: JSON.stringify(decoy),
        bundle: { type: 'bundle', id: 'bundle--1', objects: [stixEntity] },
      },
    });
    expect(msg.stixEntity).toEqual(stixEntity);
  });

  it.each([
    ['not JSON', '{oops', /not JSON/],
    ['no event', JSON.stringify({ internal: { work_id: 'w' } }), /event: /],
    [
      'empty entity id',
      JSON.stringify({ internal: {}, event: { entity_id: '' } }),
      /event\.entity_id: must not be empty/,
    ],
    [
      'stix_entity not JSON',
      JSON.stringify({ internal: {}, event: { entity_id: 'x', stix_entity: '{bad' } }),
      /event\.stix_entity: is not valid JSON/,
    ],
    [
      'wrong work id type',
      JSON.stringify({ internal: { work_id: 12 }, event: { entity_id: 'x' } }),
      /internal\.work_id/,
    ],
  ])('rejects %s with a message naming the field', (_name, body, pattern) => {
    expect(() => decodeListenMessage(body)).toThrow(MessageError);
    expect(() => decodeListenMessage(body)).toThrow(pattern);
  });

  it('reads validation_mode and force_validation from the event (absent: the connector decides, not forced)', () => {
    const base = { internal: { work_id: 'w' }, event: { entity_id: 'ipv4-addr--1' } };
    expect(parseListenMessage(base)).toMatchObject({ validationMode: null, forceValidation: false });
    const draft = parseListenMessage({
      ...base,
      event: { ...base.event, validation_mode: 'draft', force_validation: true },
    });
    expect(draft).toMatchObject({ validationMode: 'draft', forceValidation: true });
    const nulls = parseListenMessage({
      ...base,
      event: { ...base.event, validation_mode: null, force_validation: null },
    });
    expect(nulls).toMatchObject({ validationMode: null, forceValidation: false });
    expect(() => parseListenMessage({ ...base, event: { ...base.event, validation_mode: 'Draft' } })).toThrow(
      /event\.validation_mode: expected workbench or draft/,
    );
    expect(() => parseListenMessage({ ...base, event: { ...base.event, force_validation: 'true' } })).toThrow(
      /event\.force_validation: expected true or false/,
    );
  });

  it('counts bytes, not characters, in the size of a body that is not JSON', () => {
    // Four characters, six bytes of UTF-8: "é" and "€" take two and three bytes.
    expect(() => decodeListenMessage('{é€')).toThrow('not JSON (6 bytes)');
    expect(() => decodeListenMessage(Buffer.from([0x7b, 0xff, 0xfe]))).toThrow('not JSON (3 bytes)');
  });

  it('digs the work id out of a malformed message', () => {
    expect(workIdOf({ internal: { work_id: 'w9' }, event: 7 })).toBe('w9');
    expect(workIdOf({ internal: { work_id: 3 } })).toBeNull();
    expect(workIdOf('x')).toBeNull();
  });
});
