/**
 * Traffic Light Protocol: parsing the connector's settings, gating what may leave for a vendor,
 * and the marking-definition objects a bundle must carry.
 */

import { z } from 'zod';
import { TLP_MARKING_IDS } from './ids.js';
import type { MarkingDefinition } from './types.js';

/** TLP 2.0 levels, lowest first. TLP:WHITE (TLP 1.0) is read as TLP:CLEAR. */
export const TLP_LEVELS = ['TLP:CLEAR', 'TLP:GREEN', 'TLP:AMBER', 'TLP:AMBER+STRICT', 'TLP:RED'] as const;

export type TlpLevel = (typeof TLP_LEVELS)[number];

const TLP_BY_NAME: ReadonlyMap<string, TlpLevel> = new Map([
  ['CLEAR', 'TLP:CLEAR'],
  ['WHITE', 'TLP:CLEAR'],
  ['GREEN', 'TLP:GREEN'],
  ['AMBER', 'TLP:AMBER'],
  ['AMBER+STRICT', 'TLP:AMBER+STRICT'],
  ['RED', 'TLP:RED'],
]);

const ACCEPTED = 'clear, white, green, amber, amber+strict or red, with or without the TLP: prefix';

/** The level, or undefined: `amber+strict`, `TLP:AMBER+STRICT`, ` tlp:Green `, `white` … */
function lookupTlp(value: string): TlpLevel | undefined {
  const upper = value.trim().toUpperCase();
  return TLP_BY_NAME.get(upper.startsWith('TLP:') ? upper.slice(4).trim() : upper);
}

/**
 * Parses a TLP setting in either form and any case (`amber+strict`, `TLP:AMBER+STRICT`, `white`,
 * ` TLP:Green `). `white` gives TLP:CLEAR.
 *
 * @throws Error naming the accepted values for anything else.
 */
export function parseTlp(value: string): TlpLevel {
  const level = typeof value === 'string' ? lookupTlp(value) : undefined;
  if (level === undefined) throw new Error(`'${String(value)}' is not a TLP level (expected ${ACCEPTED})`);
  return level;
}

/** zod schema for a TLP environment variable: a string parsed with `parseTlp`. */
export const tlpSchema = z.string().transform((value, ctx): TlpLevel => {
  const level = lookupTlp(value);
  if (level === undefined) {
    ctx.addIssue({ code: 'custom', message: `'${value}' is not a TLP level (expected ${ACCEPTED})` });
    return z.NEVER;
  }
  return level;
});

/** Rank in TLP_LEVELS: CLEAR 0 … RED 4. */
export function tlpRank(level: TlpLevel): number {
  return TLP_LEVELS.indexOf(level);
}

/**
 * pycti's `check_max_tlp`: whether data marked `tlp` may be handled by a connector whose maximum
 * is `maxTlp`. The levels are totally ordered, so TLP:AMBER does not admit TLP:AMBER+STRICT.
 */
export function maxTlpAllows(maxTlp: TlpLevel, tlp: TlpLevel): boolean {
  return tlpRank(tlp) <= tlpRank(maxTlp);
}

/** The parts of an OpenCTI `objectMarking` entry this module reads. */
export interface EntityMarking {
  definition_type?: string | null | undefined;
  definition?: string | null | undefined;
}

/** A TLP marking (not PAP, not a statement), whatever the case of its definition_type. */
function isTlpMarking(marking: EntityMarking): boolean {
  return typeof marking.definition_type === 'string' && marking.definition_type.toUpperCase() === 'TLP';
}

/**
 * The TLP of an OpenCTI entity from its `objectMarking` list: the highest TLP marking present, or
 * TLP:CLEAR when it carries none. Non-TLP markings (PAP, statements) are ignored.
 *
 * pycti connectors keep the *last* TLP marking in list order, which under-rates an entity that
 * carries several (GREEN after RED lets RED data out). Taking the highest cannot leak, and a TLP
 * marking this SDK does not recognise (e.g. 'TLP:EX:CHEMICALS') counts as TLP:RED for the same
 * reason: refuse rather than leak.
 */
export function entityTlp(markings: readonly EntityMarking[] | null | undefined): TlpLevel {
  let highest: TlpLevel = 'TLP:CLEAR';
  for (const marking of markings ?? []) {
    if (!isTlpMarking(marking)) continue;
    const level = (typeof marking.definition === 'string' ? lookupTlp(marking.definition) : undefined) ?? 'TLP:RED';
    if (tlpRank(level) > tlpRank(highest)) highest = level;
  }
  return highest;
}

/**
 * The definitions of the entity's TLP markings that are not a TLP level this SDK knows (an admin's
 * 'TLP:EX:CHEMICALS'): entityTlp() counts them as TLP:RED, and a refusal should name them.
 */
export function unknownTlpMarkings(markings: readonly EntityMarking[] | null | undefined): string[] {
  return (markings ?? [])
    .filter(isTlpMarking)
    .filter((m) => typeof m.definition !== 'string' || lookupTlp(m.definition) === undefined)
    .map((m) => (typeof m.definition === 'string' ? m.definition : '(a TLP marking without definition)'));
}

/**
 * The `created` of every TLP marking built here. stix2's built-ins use this date; the statement
 * markings (CLEAR, AMBER+STRICT) reuse it so that the same bundle input gives the same bytes.
 */
export const TLP_MARKING_CREATED = '2017-01-20T00:00:00.000Z';

const STIX2_BUILT_IN: Readonly<Partial<Record<TlpLevel, 'green' | 'amber' | 'red'>>> = {
  'TLP:GREEN': 'green',
  'TLP:AMBER': 'amber',
  'TLP:RED': 'red',
};

/**
 * The marking-definition object for `level`, with the fixed id OpenCTI maps onto its built-in
 * marking. GREEN, AMBER and RED are stix2's TLP 1.0 objects; CLEAR and AMBER+STRICT, which TLP 1.0
 * lacks, are OpenCTI statement markings carrying `x_opencti_definition_type: 'TLP'`.
 */
export function tlpMarkingDefinition(level: TlpLevel): MarkingDefinition {
  const id = TLP_MARKING_IDS[level];
  const color = STIX2_BUILT_IN[level];
  if (color !== undefined) {
    return {
      type: 'marking-definition',
      spec_version: '2.1',
      id,
      created: TLP_MARKING_CREATED,
      definition_type: 'tlp',
      name: level,
      definition: { tlp: color },
    };
  }
  return {
    type: 'marking-definition',
    spec_version: '2.1',
    id,
    created: TLP_MARKING_CREATED,
    definition_type: 'statement',
    name: level,
    definition: { statement: 'custom' },
    x_opencti_definition_type: 'TLP',
    x_opencti_definition: level,
  };
}

/** The TLP level whose fixed marking id is `id`, if any. */
export function tlpOfMarkingId(id: string): TlpLevel | undefined {
  for (const level of TLP_LEVELS) if (TLP_MARKING_IDS[level] === id) return level;
  return undefined;
}
