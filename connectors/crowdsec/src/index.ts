/**
 * CrowdSec: enriches IPv4-Addr and IPv6-Addr observables from the CrowdSec CTI API (smoke v2).
 * The reference connector: the other four follow its shape (config, client, to-stix, index, main).
 */
import { defineEnrichment, packageVersion } from '@cti/connector-sdk';
import { CrowdsecClient, crowdsecHttpOptions } from './client.js';
import { crowdsecConfig } from './config.js';
import { refreshDescription, toStixBundle } from './to-stix.js';

export default defineEnrichment({
  name: 'CrowdSec',
  slug: 'crowdsec',
  version: packageVersion(import.meta.url),
  scope: ['IPv4-Addr', 'IPv6-Addr'],
  config: crowdsecConfig,
  playbookCompatible: true,
  maxTlp: (config) => config.CROWDSEC_MAX_TLP,

  setup: ({ config, http }) =>
    new CrowdsecClient({
      http: http(crowdsecHttpOptions(config)),
      apiVersion: config.CROWDSEC_VERSION,
      quotaWindowMs: Math.max(60_000, config.CROWDSEC_QUOTA_BACKOFF_SECONDS * 1000),
    }),

  async enrich(entity, { config, client, signal, confidence, now }) {
    const ip = entity.value ?? '';
    const at = now();
    const { description, secondsSinceLast } = refreshDescription(entity.description, at);
    const minDelay = config.CROWDSEC_MIN_DELAY_BETWEEN_ENRICHMENTS;
    if (secondsSinceLast !== null && secondsSinceLast >= 0 && secondsSinceLast < minDelay) {
      return { message: `Skipped ${ip}: enriched by CrowdSec ${secondsSinceLast}s ago (minimum delay ${minDelay}s)` };
    }

    const answer = await client.smoke(ip, signal);
    if (!answer.found) return { message: `${ip} is unknown to CrowdSec CTI: nothing to add` };

    const bundle = toStixBundle(entity, answer.data, {
      authorName: config.CROWDSEC_NAME,
      authorDescription: config.CROWDSEC_DESCRIPTION,
      confidence,
      indicatorCreateFrom: config.CROWDSEC_INDICATOR_CREATE_FROM,
      attackPatternsFromMitre: config.CROWDSEC_ATTACK_PATTERN_CREATE_FROM_MITRE,
      vulnerabilitiesFromCves: config.CROWDSEC_VULNERABILITY_CREATE_FROM_CVE,
      targetedCountriesSightings: config.CROWDSEC_CREATE_TARGETED_COUNTRIES_SIGHTINGS,
      createSighting: config.CROWDSEC_CREATE_SIGHTING,
      createNote: config.CROWDSEC_CREATE_NOTE,
      labels: {
        scenarioName: config.CROWDSEC_LABELS_SCENARIO_NAME,
        scenarioLabel: config.CROWDSEC_LABELS_SCENARIO_LABEL,
        cve: config.CROWDSEC_LABELS_CVE,
        mitre: config.CROWDSEC_LABELS_MITRE,
        behavior: config.CROWDSEC_LABELS_BEHAVIOR,
        reputation: config.CROWDSEC_LABELS_REPUTATION,
      },
      description: config.CROWDSEC_LAST_ENRICHMENT_DATE_IN_DESCRIPTION ? description : null,
      now: at,
    });
    return {
      bundle,
      message: `CrowdSec: ${ip} is ${answer.data.reputation} (confidence ${answer.data.confidence ?? 'n/a'}), ${bundle.objects.length} objects sent`,
    };
  },
});
