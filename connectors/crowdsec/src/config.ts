/**
 * CrowdSec settings. The names are a contract: the original README's (CROWDSEC_KEY, CROWDSEC_MAX_TLP,
 * CROWDSEC_NAME, CROWDSEC_DESCRIPTION, CROWDSEC_VERSION) and the upstream connector's toggles, with the
 * upstream code defaults, so a compose file written for the Python connector works unchanged.
 */
import { type ConnectorConfig, env, MAX_DURATION_SECONDS } from '@cti/connector-sdk';

export const REPUTATIONS = ['malicious', 'suspicious', 'known', 'safe', 'benign', 'unknown'] as const;

export const crowdsecConfig = {
  CROWDSEC_KEY: env.secret({ description: 'CrowdSec CTI API key' }),
  CROWDSEC_API_URL: env.url({
    default: 'https://cti.api.crowdsec.net',
    description: 'CrowdSec CTI API base URL (a proxy or a test server)',
  }),
  CROWDSEC_VERSION: env.enum(['v2'], {
    default: 'v2',
    aliases: ['CROWDSEC_API_VERSION'],
    // Upstream's config.yml key is the alias's; the README's name is read from the file too.
    yaml: ['crowdsec.api_version', 'crowdsec.version'],
    description: 'CTI API version; only v2 exists',
  }),
  CROWDSEC_MAX_TLP: env.tlp('TLP:AMBER', {
    description: 'Do not send any data to CrowdSec when the observable is marked above this TLP',
  }),
  CROWDSEC_NAME: env.string({ default: 'CrowdSec', description: 'The author organisation of everything created' }),
  CROWDSEC_DESCRIPTION: env.string({
    default: 'Curated Threat Intelligence Powered by the Crowd',
    description: "The author organisation's description",
  }),
  CROWDSEC_TIMEOUT_SECONDS: env.int({ default: 30, min: 1, max: 300, description: 'Timeout of each CTI request' }),
  CROWDSEC_QUOTA_BACKOFF_SECONDS: env.int({
    default: 120,
    min: 0,
    max: 300,
    description: 'On HTTP 429, back off exponentially for at most this long before failing; then fail fast for as long',
  }),
  CROWDSEC_MIN_DELAY_BETWEEN_ENRICHMENTS: env.int({
    default: 300,
    min: 0,
    max: MAX_DURATION_SECONDS,
    description: 'Seconds before the same IP is looked up again (read from the observable description marker)',
  }),
  CROWDSEC_LAST_ENRICHMENT_DATE_IN_DESCRIPTION: env.boolean(true, {
    description: 'Write "Last CrowdSec enrichment: <date>" into the observable description',
  }),
  CROWDSEC_CREATE_SIGHTING: env.boolean(true, { description: 'Sighting of the IP by the CrowdSec organisation' }),
  CROWDSEC_CREATE_NOTE: env.boolean(false, { description: 'A note summarising the CTI answer' }),
  CROWDSEC_INDICATOR_CREATE_FROM: env.list({
    allowed: REPUTATIONS,
    lowerCase: true,
    description: 'Reputations that get an Indicator (comma list of malicious, suspicious, known, safe, benign)',
  }),
  CROWDSEC_ATTACK_PATTERN_CREATE_FROM_MITRE: env.boolean(false, {
    description: 'Attack patterns from MITRE techniques',
  }),
  CROWDSEC_VULNERABILITY_CREATE_FROM_CVE: env.boolean(true, { description: 'Vulnerabilities from CVEs' }),
  CROWDSEC_CREATE_TARGETED_COUNTRIES_SIGHTINGS: env.boolean(true, {
    description: 'Countries as Locations with a sighting of the IP per targeted country',
  }),
  CROWDSEC_LABELS_SCENARIO_NAME: env.boolean(true, { description: 'Scenario names as labels' }),
  CROWDSEC_LABELS_SCENARIO_LABEL: env.boolean(true, { description: 'Scenario labels as labels' }),
  CROWDSEC_LABELS_SCENARIO_COLOR: env.string({ default: '#2E2A14', description: 'Accepted for compatibility' }),
  CROWDSEC_LABELS_CVE: env.boolean(false, { description: 'CVE ids as labels' }),
  CROWDSEC_LABELS_CVE_COLOR: env.string({ default: '#800080', description: 'Accepted for compatibility' }),
  CROWDSEC_LABELS_MITRE: env.boolean(false, { description: 'MITRE technique ids as labels' }),
  CROWDSEC_LABELS_MITRE_COLOR: env.string({ default: '#000080', description: 'Accepted for compatibility' }),
  CROWDSEC_LABELS_BEHAVIOR: env.boolean(false, { description: 'Behaviour names as labels' }),
  CROWDSEC_LABELS_BEHAVIOR_COLOR: env.string({ default: '#808000', description: 'Accepted for compatibility' }),
  CROWDSEC_LABELS_REPUTATION: env.boolean(false, { description: 'The reputation as a label' }),
  CROWDSEC_LABELS_REPUTATION_MALICIOUS_COLOR: env.string({
    default: '#FF0000',
    description: 'Accepted for compatibility',
  }),
  CROWDSEC_LABELS_REPUTATION_SUSPICIOUS_COLOR: env.string({
    default: '#FFA500',
    description: 'Accepted for compatibility',
  }),
  CROWDSEC_LABELS_REPUTATION_SAFE_COLOR: env.string({ default: '#00BFFF', description: 'Accepted for compatibility' }),
  CROWDSEC_LABELS_REPUTATION_KNOWN_COLOR: env.string({ default: '#808080', description: 'Accepted for compatibility' }),
};

export type CrowdsecConfig = ConnectorConfig<typeof crowdsecConfig>;
