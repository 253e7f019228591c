import {
  assembleBundle,
  buildAuthor,
  buildIndicator,
  buildRelationship,
  type EnrichmentEntity,
  type StixBundle,
  type StixObject,
  updateObservable,
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
  const labels = ['greynoise', gn.classification ?? 'unclassified', ...(gn.riot ? ['common-business-service'] : [])];
  const links = gn.link ? [{ source_name: 'GreyNoise', url: gn.link }] : [];
  // The observable as OpenCTI sent it, with labels and GreyNoise's page added where OpenCTI's importer reads them.
  const objects: StixObject[] = [updateObservable(entity.stix, { addLabels: labels, addExternalReferences: links })];
  if (gn.classification === 'malicious') {
    const pattern = `[${entity.entityType.toLowerCase()}:value = '${gn.ip}']`;
    const indicator = buildIndicator({ name: gn.ip, pattern, x_opencti_main_observable_type: entity.entityType }, ctx);
    const basedOn = { relationship_type: 'based-on', source_ref: indicator.id, target_ref: entity.id };
    objects.push(indicator, buildRelationship(basedOn, ctx));
  }
  // The entity and its markings already exist on the platform.
  return assembleBundle({ objects, author, external: [entity.id, ...entity.markingIds] });
}
