/**
 * Marking definitions exactly as the platform returns them in `objectMarking { ... }`: the five TLP 2.0
 * markings the platform creates at initialisation (fixed standard ids, definition_type 'TLP', the
 * platform's order and colour), plus any statement/PAP marking a test declares.
 */
import { TestPlatformError } from './errors.js';
import { deterministicStixId, internalIdFor } from './ids.js';

/** The TLP levels a test may name. 'TLP:WHITE' is accepted and mapped onto TLP:CLEAR, like the platform does. */
export type TlpLevel = 'TLP:CLEAR' | 'TLP:WHITE' | 'TLP:GREEN' | 'TLP:AMBER' | 'TLP:AMBER+STRICT' | 'TLP:RED';

/** A marking definition in the shape of the platform's GraphQL `MarkingDefinition`. */
export interface PlatformMarking {
  id: string;
  standard_id: string;
  entity_type: 'Marking-Definition';
  parent_types: string[];
  definition_type: string;
  definition: string;
  x_opencti_order: number;
  x_opencti_color: string;
  created: string;
  modified: string;
  created_at: string;
  updated_at: string;
}

/** A non-TLP marking a test wants on an entity, e.g. `{ definition_type: 'PAP', definition: 'PAP:RED' }`. */
export interface MarkingInput {
  definition_type: string;
  definition: string;
  standard_id?: string;
  x_opencti_order?: number;
  x_opencti_color?: string;
}

/** Fixed ids (reference/protocol-notes.md#tlp): CLEAR shares stix2's TLP_WHITE id, AMBER+STRICT is OpenCTI's own. */
export const TLP_MARKING_IDS = {
  'TLP:CLEAR': 'marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9',
  'TLP:GREEN': 'marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da',
  'TLP:AMBER': 'marking-definition--f88d31f6-486f-44da-b317-01333bde0b82',
  'TLP:AMBER+STRICT': 'marking-definition--826578e1-40ad-459f-bc73-ede076f81f37',
  'TLP:RED': 'marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ed',
} as const;

type CanonicalTlp = keyof typeof TLP_MARKING_IDS;

// Order and colour as the platform's initialisation creates them.
const TLP_PRESENTATION: Record<CanonicalTlp, { order: number; color: string }> = {
  'TLP:CLEAR': { order: 1, color: '#ffffff' },
  'TLP:GREEN': { order: 2, color: '#2e7d32' },
  'TLP:AMBER': { order: 3, color: '#d84315' },
  'TLP:AMBER+STRICT': { order: 3, color: '#d84315' },
  'TLP:RED': { order: 4, color: '#c62828' },
};

// A fixed creation date keeps every marking object byte-identical from one run to the next.
const MARKINGS_CREATED = '2024-01-01T00:00:00.000Z';

function canonicalTlp(level: string): CanonicalTlp | undefined {
  const upper = level.trim().toUpperCase();
  const prefixed = upper.startsWith('TLP:') ? upper : `TLP:${upper}`;
  if (prefixed === 'TLP:WHITE') return 'TLP:CLEAR';
  return prefixed in TLP_MARKING_IDS ? (prefixed as CanonicalTlp) : undefined;
}

/** True when `value` names a TLP level ('TLP:AMBER', 'amber', 'TLP:WHITE'...). */
export function isTlpLevel(value: string): boolean {
  return canonicalTlp(value) !== undefined;
}

/**
 * The TLP marking as the platform returns it, e.g. `tlpMarking('TLP:AMBER')` →
 * `{ standard_id: 'marking-definition--f88d31f6-…', definition_type: 'TLP', definition: 'TLP:AMBER', x_opencti_order: 3, … }`.
 * Accepts the level with or without the `TLP:` prefix, in any case.
 */
export function tlpMarking(level: TlpLevel | string): PlatformMarking {
  const tlp = canonicalTlp(level);
  if (tlp === undefined) {
    throw new TestPlatformError(`Unknown TLP level "${level}": use one of ${Object.keys(TLP_MARKING_IDS).join(', ')}`);
  }
  const standardId = TLP_MARKING_IDS[tlp];
  const presentation = TLP_PRESENTATION[tlp];
  return buildMarking(standardId, 'TLP', tlp, presentation.order, presentation.color);
}

/** A marking for a test-declared definition (PAP, statement...), with the platform's id rule for non-TLP markings. */
export function customMarking(input: MarkingInput): PlatformMarking {
  // The platform's static ids apply only to an exact TLP definition; anything else is hashed like any marking.
  if (input.definition_type === 'TLP' && (input.definition in TLP_MARKING_IDS || input.definition === 'TLP:WHITE')) {
    return tlpMarking(input.definition);
  }
  const standardId =
    input.standard_id ??
    deterministicStixId('marking-definition', {
      definition: input.definition,
      definition_type: input.definition_type,
    });
  return buildMarking(
    standardId,
    input.definition_type,
    input.definition,
    input.x_opencti_order ?? 0,
    input.x_opencti_color ?? '#ffffff',
  );
}

/** A TLP level or a marking input, resolved to the platform's marking object. */
export function resolveMarking(marking: TlpLevel | string | MarkingInput): PlatformMarking {
  return typeof marking === 'string' ? tlpMarking(marking) : customMarking(marking);
}

function buildMarking(
  standardId: string,
  definitionType: string,
  definition: string,
  order: number,
  color: string,
): PlatformMarking {
  return {
    id: internalIdFor(standardId),
    standard_id: standardId,
    entity_type: 'Marking-Definition',
    parent_types: ['Basic-Object', 'Stix-Object', 'Stix-Meta-Object'],
    definition_type: definitionType,
    definition,
    x_opencti_order: order,
    x_opencti_color: color,
    created: MARKINGS_CREATED,
    modified: MARKINGS_CREATED,
    created_at: MARKINGS_CREATED,
    updated_at: MARKINGS_CREATED,
  };
}
