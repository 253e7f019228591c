/**
 * The listen-queue messages the platform sends to an enrichment connector (platform.md b.1–b.3), parsed
 * and validated. A bad message gets an error naming the field; the work it names (if any) can still be
 * reported, so `workIdOf` digs it out of anything JSON-shaped.
 */
import { z } from 'zod';
import { MessageError } from '../errors/index.js';

/** Parses a JSON string or takes an object; the platform sends stix_entity as a string, playbooks as objects. */
const jsonValue = z.union([z.string(), z.record(z.string(), z.unknown()), z.array(z.unknown())]).transform((v, ctx) => {
  if (typeof v !== 'string') return v;
  if (v.trim() === '') return null;
  try {
    return JSON.parse(v) as unknown;
  } catch {
    ctx.addIssue({ code: 'custom', message: 'is not valid JSON' });
    return z.NEVER;
  }
});

const nullableId = z.string().min(1).nullish();

const playbookSchema = z.object({
  event_id: z.string(),
  execution_id: z.string(),
  playbook_id: z.string(),
  data_instance_id: z.string(),
  step_id: z.string(),
  previous_step_id: z.string().nullish(),
});

const listenMessageSchema = z.object({
  internal: z.object({
    work_id: nullableId,
    applicant_id: nullableId,
    draft_id: z.string().nullish(),
    mode: z.string().nullish(),
    trigger: z.string().nullish(),
    playbook: playbookSchema.nullish(),
  }),
  event: z.object({
    event_type: z.string().nullish(),
    entity_id: z.string().min(1, { error: 'must not be empty' }),
    entity_type: z.string().nullish(),
    stix_entity: jsonValue.nullish(),
    stix_objects: jsonValue.nullish(),
    bundle: z
      .object({ objects: z.array(z.record(z.string(), z.unknown())) })
      .loose()
      .nullish(),
    // Review before import (pycti reads both from the event; absent means workbench, not forced).
    validation_mode: z.enum(['workbench', 'draft'], { error: 'expected workbench or draft' }).nullish(),
    force_validation: z.boolean({ error: 'expected true or false' }).nullish(),
  }),
});

export type PlaybookContext = z.infer<typeof playbookSchema>;

export interface ListenMessage {
  workId: string | null;
  applicantId: string | null;
  draftId: string | null;
  mode: string | null;
  trigger: string | null;
  playbook: PlaybookContext | null;
  entityId: string;
  entityType: string | null;
  /** The STIX form of the entity, when the platform or the playbook provided it. */
  stixEntity: Record<string, unknown> | null;
  /** Other STIX objects of the context (playbook bundle, platform bundle resolution). */
  stixObjects: Record<string, unknown>[] | null;
  /** A playbook's incoming bundle, answered with playbookStepExecution. */
  playbookBundle: Record<string, unknown> | null;
  /** `event.validation_mode`: where a reviewed bundle goes (null: the connector's CONNECTOR_VALIDATION_MODE). */
  validationMode: 'workbench' | 'draft' | null;
  /** `event.force_validation`: review the result even when CONNECTOR_VALIDATE_BEFORE_IMPORT is false. */
  forceValidation: boolean;
}

/** The work id of a message even when the rest of it is malformed, so the failure can be reported. */
export function workIdOf(body: unknown): string | null {
  if (body && typeof body === 'object') {
    const internal = (body as { internal?: unknown }).internal;
    if (internal && typeof internal === 'object') {
      const id = (internal as { work_id?: unknown }).work_id;
      if (typeof id === 'string' && id.length > 0) return id;
    }
  }
  return null;
}

function asObjectList(value: unknown): Record<string, unknown>[] | null {
  if (Array.isArray(value)) return value.filter((o): o is Record<string, unknown> => !!o && typeof o === 'object');
  if (value && typeof value === 'object' && Array.isArray((value as { objects?: unknown }).objects)) {
    return asObjectList((value as { objects: unknown[] }).objects);
  }
  return null;
}

/** Validates a parsed message body. Throws MessageError naming each bad field. */
export function parseListenMessage(body: unknown): ListenMessage {
  const result = listenMessageSchema.safeParse(body);
  if (!result.success) {
    const problems = result.error.issues.map((i) => `${i.path.join('.') || 'message'}: ${i.message}`);
    throw new MessageError(`Malformed listen message (${problems.join('; ')})`);
  }
  const { internal, event } = result.data;
  const bundleObjects = event.bundle?.objects ?? null;
  // A playbook step works on its bundle's object, as pycti does, whatever else the message carries.
  // (An `enrichment_entity` in a message is not even read: the entity always comes from the platform.)
  const fromBundle = bundleObjects?.find((o) => o.id === event.entity_id) ?? null;
  let stixEntity =
    event.stix_entity && typeof event.stix_entity === 'object' && !Array.isArray(event.stix_entity)
      ? (event.stix_entity as Record<string, unknown>)
      : null;
  if (internal.playbook || !stixEntity) stixEntity = fromBundle;
  return {
    workId: internal.work_id ?? null,
    applicantId: internal.applicant_id ?? null,
    draftId: internal.draft_id || null,
    mode: internal.mode ?? null,
    trigger: internal.trigger ?? null,
    playbook: internal.playbook ?? null,
    entityId: event.entity_id,
    entityType: event.entity_type ?? null,
    stixEntity,
    stixObjects: bundleObjects ?? asObjectList(event.stix_objects),
    playbookBundle: internal.playbook && event.bundle ? (event.bundle as Record<string, unknown>) : null,
    validationMode: event.validation_mode ?? null,
    forceValidation: event.force_validation ?? false,
  };
}

/** Decodes and validates a raw delivery body. */
export function decodeListenMessage(body: Buffer | string): ListenMessage {
  const text = typeof body === 'string' ? body : body.toString('utf8');
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    const bytes = typeof body === 'string' ? Buffer.byteLength(body) : body.length;
    throw new MessageError(`Malformed listen message: not JSON (${bytes} bytes)`);
  }
  return parseListenMessage(parsed);
}
