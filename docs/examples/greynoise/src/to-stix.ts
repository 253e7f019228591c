import {
  assembleBundle,
  buildAuthor,
  buildIndicator,
  buildRelationship,
  type EnrichmentEntity,
  type StixBundle,
  type StixObject,
} from '@cti/connector-sdk';
import type { CommunityAnswer } from './client.js';

/** Pure: the same answer, entity and time give the same bundle, ids included. */
export function toStixBundle(
  entity: EnrichmentEntity,
  gn: CommunityAnswer,
  now: Date,
  confidence?: number,
): StixBundle {
  const author = buildAuthor('GreyNoise', 'Internet scanner and common business service intelligence');
  const ctx = { author, markings: entity.markingIds, confidence, now: now.toISOString() };
  const labels = new Set([...entity.labels, 'greynoise', gn.classification ?? 'unclassified']);
  if (gn.riot) labels.add('common-business-service');
  // The observable as OpenCTI sent it, with the labels and a link to GreyNoise's page.
  const observable: Record<string, unknown> = { ...entity.stix, x_opencti_labels: [...labels] };
  if (gn.link) observable.external_references = [{ source_name: 'GreyNoise', url: gn.link }];
  const objects: StixObject[] = [observable as StixObject];
  if (gn.classification === 'malicious') {
    const pattern = `[${entity.entityType.toLowerCase()}:value = '${gn.ip}']`;
    const indicator = buildIndicator({ name: gn.ip, pattern, x_opencti_main_observable_type: entity.entityType }, ctx);
    const basedOn = { relationship_type: 'based-on', source_ref: indicator.id, target_ref: entity.id };
    objects.push(indicator, buildRelationship(basedOn, ctx));
  }
  // The entity and its markings already exist on the platform.
  return assembleBundle({ objects, author, external: [entity.id, ...entity.markingIds] });
}
