/**
 * CrowdSec CTI answer → STIX, as the upstream connector maps it (internal-enrichment/crowdsec at
 * OpenCTI-Platform/connectors head), with its ids (pycti's rules, including the argument order of its
 * sighting ids) so a migration duplicates nothing: reference/upstream-ids.json pins them.
 * Differences, on purpose: labels and external references travel in the bundle (not through side API
 * calls), the author is in the bundle, the note's id is stable for the same CTI answer, an unknown
 * country code is skipped instead of crashing, and an IP CrowdSec does not know gets no sighting.
 */
import {
  assembleBundle,
  buildAttackPattern,
  buildAuthor,
  buildIndicator,
  buildLocation,
  buildNote,
  buildRelationship,
  buildSighting,
  buildVulnerability,
  type EnrichmentEntity,
  type ExternalReference,
  generateId,
  type SightingInput,
  type StixBundle,
  type StixContext,
  type StixObject,
  toStixTimestamp,
  updateObservable,
} from '@cti/connector-sdk';
import type { SmokeAnswer } from './client.js';
import { COUNTRIES } from './countries.js';

export const CTI_URL = 'https://app.crowdsec.net/cti/';
export const MITRE_URL = 'https://attack.mitre.org/techniques/';
/** Upstream's placeholder `sighting_of_ref`: the real target is `x_opencti_sighting_of_ref`. */
export const FAKE_INDICATOR_ID = 'indicator--51b92778-cef0-4a90-b7ec-ebd620d01ac8';
export const LAST_ENRICHMENT_MARKER = 'Last CrowdSec enrichment: ';
const CVE = /CVE-\d{4}-\d{4,7}/i;

export interface MappingOptions {
  authorName: string;
  authorDescription: string;
  /** CONNECTOR_CONFIDENCE_LEVEL: on relationships and objects without a CTI-derived confidence. */
  confidence: number | undefined;
  indicatorCreateFrom: readonly string[];
  attackPatternsFromMitre: boolean;
  vulnerabilitiesFromCves: boolean;
  targetedCountriesSightings: boolean;
  createSighting: boolean;
  createNote: boolean;
  labels: {
    scenarioName: boolean;
    scenarioLabel: boolean;
    cve: boolean;
    mitre: boolean;
    behavior: boolean;
    reputation: boolean;
  };
  /** The observable description with the refreshed marker, or null to leave the description alone. */
  description: string | null;
  now: Date;
}

/** CTI confidence → STIX confidence (upstream: high 90, medium 60, low 30, else 0). */
export function ctiConfidence(confidence: string | null | undefined): number {
  return confidence === 'high' ? 90 : confidence === 'medium' ? 60 : confidence === 'low' ? 30 : 0;
}

/**
 * `%Y-%m-%dT%H:%M:%SZ` of an ISO date's wall-clock part, as upstream's strftime prints it (and hashes it), or
 * undefined when that is not a real instant (upstream crashes on it; here the sighting goes without dates).
 */
export function seenDate(value: string | null | undefined): string | undefined {
  if (!value) return undefined;
  const m = /^(\d{4}-\d\d-\d\d)[T ](\d\d:\d\d:\d\d)/.exec(value);
  const text = m ? `${m[1]}T${m[2]}Z` : undefined;
  return text !== undefined && toStixTimestamp(text) !== null ? text : undefined;
}

/**
 * A CrowdSec date as an ISO instant, or undefined when it does not read as a date of years 1-9999 (a bad
 * last_seen made `new Date(...).toISOString()` throw RangeError and fail the whole enrichment).
 */
export function isoInstant(value: string | null | undefined): string | undefined {
  if (!value) return undefined;
  const date = new Date(value);
  const year = date.getUTCFullYear();
  return year >= 1 && year <= 9999 ? date.toISOString() : undefined;
}

/** The labels the toggles ask for, in upstream's order. */
export function crowdsecLabels(cti: SmokeAnswer, labels: MappingOptions['labels']): string[] {
  const out: string[] = [];
  if (labels.mitre) out.push(...cti.mitre_techniques.map((t) => t.name));
  if (labels.cve) out.push(...cti.cves.map((c) => c.toUpperCase()));
  if (labels.behavior) out.push(...cti.behaviors.map((b) => b.name));
  if (labels.reputation && cti.reputation && cti.reputation !== 'unknown') out.push(cti.reputation);
  if (labels.scenarioName) out.push(...cti.attack_details.filter((a) => !CVE.test(a.name)).map((a) => a.name));
  if (labels.scenarioLabel) out.push(...cti.attack_details.map((a) => a.label).filter((l) => l.length > 0));
  return out;
}

/**
 * The observable description with the enrichment marker replaced by one for `now` (upstream format:
 * "\n\n`Last CrowdSec enrichment: <ISO>`"), and the seconds since the previous marker (null if none).
 */
export function refreshDescription(
  description: string | null,
  now: Date,
): { description: string; secondsSinceLast: number | null } {
  let text = description ?? '';
  let secondsSinceLast: number | null = null;
  const found = new RegExp(`${escapeRegExp(LAST_ENRICHMENT_MARKER)}([\\d-]+T[\\d:.]+(?:[+-][\\d:]+|Z))`).exec(text);
  if (found?.[1]) {
    const last = Date.parse(found[1]);
    if (!Number.isNaN(last)) secondsSinceLast = Math.floor((now.getTime() - last) / 1000);
  }
  const marker = new RegExp(`(\\n\\n)?\`${escapeRegExp(LAST_ENRICHMENT_MARKER)}[^\`]*\``, 'g');
  text = text.replace(marker, '');
  const iso = `${now.toISOString().slice(0, 19)}+00:00`;
  return { description: `${text}\n\n\`${LAST_ENRICHMENT_MARKER}${iso}\``, secondsSinceLast };
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

function noteContent(cti: SmokeAnswer): string {
  const first = cti.history?.first_seen ?? '';
  const last = cti.history?.last_seen ?? '';
  let content = `**Reputation**: ${cti.reputation} \n\n`;
  content += `**Confidence**: ${cti.confidence ?? ''} \n\n`;
  content += `**First Seen**: ${first} \n\n`;
  content += `**Last Seen**: ${last} \n\n`;
  if (cti.location?.country && cti.location.city) {
    content += `**Origin**: ${cti.location.country} (${cti.location.city}) \n\n`;
  }
  if (cti.behaviors.length > 0) {
    content += '**Behaviors**: \n\n';
    for (const b of cti.behaviors) content += `- ${b.label}: ${b.description}\n\n`;
  }
  const countries = Object.entries(cti.target_countries ?? {});
  if (countries.length > 0) {
    content += '**Most targeted countries**: \n\n';
    for (const [code, pct] of countries) content += `- ${COUNTRIES[code]?.[0] ?? code} (${pct}%)\n\n`;
  }
  return content;
}

/**
 * A sighting with upstream's id: since connectors#2863 (2024-10-28) it calls
 * `StixSightingRelationship.generate_id(sighting_of, where_sighted, first_seen, last_seen)` with the sighted
 * object first and the sighter as a bare id (not a list), and pycti hashes them as given.
 */
function upstreamSighting(input: SightingInput, sightingOf: string, sighter: string, ctx: StixContext): StixObject {
  const id = generateId('sighting', {
    sighting_of_ref: sightingOf,
    where_sighted_refs: sighter,
    first_seen: input.first_seen ?? null,
    last_seen: input.last_seen ?? null,
  });
  return { ...buildSighting(input, ctx), id };
}

/**
 * Upstream's sightings of one sighter: the observable's, when asked (through the placeholder
 * `sighting_of_ref` and `x_opencti_sighting_of_ref`, as STIX sightings cannot point at an observable),
 * and the indicator's, when there is one.
 */
function sightingsBy(
  sighter: string,
  common: Omit<SightingInput, 'sighting_of_ref' | 'where_sighted_refs'>,
  of: { observable: string | null; indicator: string | null },
  ctx: StixContext,
): StixObject[] {
  const where = { where_sighted_refs: [sighter] };
  const sightings: StixObject[] = [];
  if (of.observable !== null) {
    sightings.push(
      upstreamSighting(
        { ...common, ...where, sighting_of_ref: FAKE_INDICATOR_ID, x_opencti_sighting_of_ref: of.observable },
        of.observable,
        sighter,
        ctx,
      ),
    );
  }
  if (of.indicator !== null) {
    sightings.push(
      upstreamSighting({ ...common, ...where, sighting_of_ref: of.indicator }, of.indicator, sighter, ctx),
    );
  }
  return sightings;
}

/** The enrichment bundle for a CTI answer about `entity`. */
export function toStixBundle(entity: EnrichmentEntity, cti: SmokeAnswer, o: MappingOptions): StixBundle {
  const ip = entity.value ?? cti.ip;
  const author = buildAuthor(o.authorName, o.authorDescription);
  const now = o.now.toISOString();
  const markings = entity.markingIds;
  const ctx: StixContext = { author, markings, confidence: o.confidence, now };
  const observableId = entity.id;
  const objects: StixObject[] = [];
  const cticonf = ctiConfidence(cti.confidence);

  // The observable, re-sent with the CTI link, the labels and the description marker.
  const ctiRef: ExternalReference = {
    source_name: 'CrowdSec CTI',
    url: `${CTI_URL}${ip}`,
    description: 'CrowdSec CTI url for this IP',
  };
  // Written wherever the platform's copy keeps them (extension or x_opencti_*), or the worker would ignore them.
  const observable = updateObservable(entity.stix, {
    addLabels: crowdsecLabels(cti, o.labels),
    addExternalReferences: [ctiRef],
    ...(o.description !== null ? { description: o.description } : {}),
  });
  objects.push(observable);

  let indicatorId: string | null = null;
  if (o.indicatorCreateFrom.includes(cti.reputation)) {
    const isV6 = ip.includes(':');
    const indicator = buildIndicator(
      {
        pattern: `[${isV6 ? 'ipv6-addr' : 'ipv4-addr'}:value = '${ip}']`,
        pattern_type: 'stix',
        name: `CrowdSec CTI (${cti.reputation} IP: ${ip})`,
        description: `CrowdSec CTI detection for ${ip}`,
        valid_from: isoInstant(cti.history?.last_seen) ?? now,
        confidence: cticonf,
        indicator_types: cti.reputation === 'malicious' ? ['malicious-activity'] : [],
        external_references: cti.references.flatMap((r) =>
          r.references?.[0]?.startsWith('http')
            ? [{ source_name: r.label, url: r.references[0], description: r.description }]
            : [],
        ),
        x_opencti_main_observable_type: entity.entityType,
      },
      ctx,
    );
    indicatorId = indicator.id;
    objects.push(
      indicator,
      buildRelationship({ relationship_type: 'based-on', source_ref: indicator.id, target_ref: observableId }, ctx),
    );
  }

  const mitreRefs: ExternalReference[] = cti.mitre_techniques.map((t) => ({
    source_name: `MITRE ATT&CK (${t.name} - ${t.label})`,
    url: `${MITRE_URL}${t.name}`,
    description: `${t.label}: ${t.description}`,
  }));
  const attackPatternIds: string[] = [];
  if (o.attackPatternsFromMitre) {
    cti.mitre_techniques.forEach((t, i) => {
      const ref = mitreRefs[i] as ExternalReference;
      const ap = buildAttackPattern(
        { name: ref.source_name, description: ref.description, x_mitre_id: t.name, external_references: [ref] },
        ctx,
      );
      attackPatternIds.push(ap.id);
      objects.push(
        indicatorId
          ? buildRelationship({ relationship_type: 'indicates', source_ref: indicatorId, target_ref: ap.id }, ctx)
          : buildRelationship({ relationship_type: 'related-to', source_ref: observableId, target_ref: ap.id }, ctx),
        ap,
      );
    });
  }

  if (o.vulnerabilitiesFromCves) {
    for (const cve of cti.cves) {
      const name = cve.toUpperCase();
      const vuln = buildVulnerability({ name, description: name }, ctx);
      objects.push(
        vuln,
        buildRelationship({ relationship_type: 'related-to', source_ref: vuln.id, target_ref: observableId }, ctx),
      );
    }
  }

  if (attackPatternIds.length > 0 || o.targetedCountriesSightings) {
    for (const [code, percent] of Object.entries(cti.target_countries ?? {})) {
      const country = COUNTRIES[code.toUpperCase()];
      if (!country) continue; // an unknown code is skipped (upstream crashes on it)
      const [name, official] = country;
      const location = buildLocation(
        {
          name,
          x_opencti_location_type: 'Country',
          country: official ?? name,
          x_opencti_aliases: [official ?? name],
        },
        ctx,
      );
      objects.push(location);
      // Upstream sights the indicator in each country even when the observable's country sightings are off.
      const countrySightings = {
        count: percent,
        description: `CrowdSec CTI sighting for country: ${code}`,
        confidence: cticonf,
      };
      const sighted = { observable: o.targetedCountriesSightings ? observableId : null, indicator: indicatorId };
      objects.push(...sightingsBy(location.id, countrySightings, sighted, ctx));
      for (const apId of attackPatternIds) {
        objects.push(
          buildRelationship({ relationship_type: 'targets', source_ref: apId, target_ref: location.id }, ctx),
        );
      }
    }
  }

  if (o.createNote) {
    const content = noteContent(cti);
    objects.push(
      buildNote(
        {
          abstract: `CrowdSec enrichment for ${ip}`,
          content,
          object_refs: [observableId],
          note_types: ['external'],
          // Same CTI answer, same note: the id hashes the content alone (upstream hashes "now" too).
          idFromContentOnly: true,
        },
        ctx,
      ),
    );
  }

  if (o.createSighting) {
    const common = {
      first_seen: seenDate(cti.history?.first_seen),
      last_seen: seenDate(cti.history?.last_seen),
      count: 1,
      description: `CrowdSec CTI sighting for IP: ${ip}`,
      confidence: cticonf,
      external_references: [ctiRef, ...mitreRefs],
    };
    objects.push(...sightingsBy(author.id, common, { observable: observableId, indicator: indicatorId }, ctx));
  }

  // The entity, the placeholder and non-TLP markings (PAP, statements) live on the platform already.
  return assembleBundle({ objects, author, external: [observableId, FAKE_INDICATOR_ID, ...markings] });
}
