/**
 * The message a connector puts on its push queue for the OpenCTI worker (pycti 6.8 `_send_bundle`).
 */

export interface PushMessageMeta {
  /** The user the worker impersonates: the connector user, or the applicant of the listen message. */
  applicantId: string | null;
  /** The work the objects count against; the key is left out when null, as pycti does. */
  workId: string | null;
  draftId: string | null;
  /** Worker "update existing" mode. */
  update: boolean;
  /** Worker-side type filter; absent means every type. */
  entitiesTypes?: readonly string[] | undefined;
  /** 1-based position of this chunk in the split bundle. */
  actionSequence: number;
}

/** The JSON object on the wire, keys in pycti's order. */
export interface PushMessage {
  bundle_type: 'QUEUE_BUNDLE';
  applicant_id: string | null;
  action_sequence: number;
  entities_types: string[];
  content: string;
  update: boolean;
  draft_id: string | null;
  work_id?: string;
}

/**
 * Serialises one chunk (a STIX bundle as JSON text) into the push-queue body: the chunk is carried as
 * base64 of its UTF-8 bytes in `content`, next to the work, draft and applicant it belongs to.
 */
export function buildPushMessage(chunk: string, meta: PushMessageMeta): Buffer {
  const message: PushMessage = {
    bundle_type: 'QUEUE_BUNDLE',
    applicant_id: meta.applicantId,
    action_sequence: meta.actionSequence,
    entities_types: meta.entitiesTypes ? [...meta.entitiesTypes] : [],
    content: Buffer.from(chunk, 'utf8').toString('base64'),
    update: meta.update,
    draft_id: meta.draftId,
  };
  if (meta.workId !== null) message.work_id = meta.workId;
  return Buffer.from(JSON.stringify(message), 'utf8');
}

/** Room left in a message for what surrounds the object: the envelope's fields and the chunk's own. */
const MESSAGE_OVERHEAD_BYTES = 2048;

/**
 * The largest object (its JSON text, in bytes) whose push message stays within `maxMessageBytes`: the
 * chunk around it is carried as base64 (4 bytes for 3) inside the envelope.
 */
export function largestObjectBytes(maxMessageBytes: number): number {
  return Math.max(0, Math.floor(((maxMessageBytes - MESSAGE_OVERHEAD_BYTES) * 3) / 4));
}
