/**
 * The observable an Indicator stands for, when its pattern is one comparison of a URL, domain name or
 * hostname value: `[url:value = '…']`, `[domain-name:value = '…']`, `[hostname:value = '…']` (STIX 2.1
 * patterning: a string literal in single quotes, `\'` and `\\` its only escapes). Anything else (another
 * type or property, AND/OR, several observations, qualifiers, another pattern language) is refused: the
 * indicator does not name one value urlscan.io could be asked about.
 */
import { type EnrichmentEntity, InputError, observableId } from '@cti/connector-sdk';

export type PatternObservableType = 'url' | 'domain-name' | 'hostname';

/** The OpenCTI entity type of each pattern observable type. */
export const ENTITY_TYPE_OF: Readonly<Record<PatternObservableType, string>> = {
  url: 'Url',
  'domain-name': 'Domain-Name',
  hostname: 'Hostname',
};

const SIMPLE = /^\s*\[\s*(url|domain-name|hostname)\s*:\s*value\s*=\s*'((?:[^'\\]|\\['\\])*)'\s*\]\s*$/;

/** The refusal, naming what is accepted; the pattern is shown cut short (it can be long). */
function refusal(pattern: string, why: string): InputError {
  const shown = pattern.length > 200 ? `${pattern.slice(0, 200)}…` : pattern;
  return new InputError(
    `Indicator not enriched: ${why}. urlscan.io enrichment takes an Indicator whose STIX pattern is one ` +
      `url, domain-name or hostname value, such as [url:value = 'https://example.com/'] (pattern: ${JSON.stringify(shown)})`,
  );
}

/**
 * The type and value an Indicator's pattern compares, or an InputError saying why it is not a simple URL,
 * domain-name or hostname pattern.
 */
export function parseSimplePattern(
  pattern: string | null | undefined,
  patternType: string | null | undefined,
): { type: PatternObservableType; value: string } {
  const text = pattern ?? '';
  if (patternType && patternType.toLowerCase() !== 'stix') {
    throw refusal(text, `its pattern type is ${JSON.stringify(patternType)}, not stix`);
  }
  if (text.trim() === '') throw refusal(text, 'it has no pattern');
  const match = SIMPLE.exec(text);
  if (match === null) {
    throw refusal(text, 'its pattern is not one comparison of a url, domain-name or hostname value');
  }
  const type = match[1] as PatternObservableType;
  const value = (match[2] ?? '').replace(/\\(['\\])/g, '$1').trim();
  if (value === '') throw refusal(text, 'the value it compares is empty');
  for (let i = 0; i < value.length; i++) {
    const code = value.charCodeAt(i);
    if (code < 0x20 || code === 0x7f) throw refusal(text, 'the value it compares holds control characters');
  }
  return { type, value };
}

/** The pattern of a value, escaped as STIX patterning wants it (the inverse of parseSimplePattern). */
export function simplePattern(type: PatternObservableType, value: string): string {
  return `[${type}:value = '${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}']`;
}

/**
 * The observable an Indicator's simple pattern names, as an entity to enrich: the value's STIX form (the
 * standard id any connector gives it), carrying the indicator's markings and none of its labels.
 */
export function observableOfIndicator(
  indicator: EnrichmentEntity,
  type: PatternObservableType,
  value: string,
): EnrichmentEntity {
  const id = observableId(type, { value });
  return {
    ...indicator,
    id,
    internalId: null,
    entityType: ENTITY_TYPE_OF[type],
    value,
    labels: [],
    description: null,
    stix: {
      type,
      spec_version: '2.1',
      id,
      value,
      ...(indicator.markingIds.length > 0 ? { object_marking_refs: [...indicator.markingIds] } : {}),
    },
    raw: {},
  };
}

/** A string attribute of the indicator, from its STIX form or the platform's read. */
export function indicatorAttribute(indicator: EnrichmentEntity, key: 'pattern' | 'pattern_type'): string | null {
  for (const source of [indicator.stix, indicator.raw]) {
    const value = source[key];
    if (typeof value === 'string') return value;
  }
  return null;
}
