import { defineCatalog } from '@cti/connector-testkit';

/** What OpenCTI's connector catalog says about this connector (connectors/<slug>/__metadata__ is generated from it). */
export default defineCatalog({
  description:
    'Enriches IPv4 and IPv6 observables with the CrowdSec CTI API: reputation, behaviours, attack scenarios, MITRE ATT&CK techniques, CVEs, targeted countries and sightings, with the same deterministic ids as the Python connector.',
  shortDescription: 'IP reputation and attack context from the CrowdSec CTI API.',
  useCases: ['Detection & Response Enablement'],
  solutionCategories: ['Enrichment & Reputation'],
  licenseType: 'Free',
  maxConfidenceLevel: 80,
  subscriptionLink: 'https://www.crowdsec.net/',
});
