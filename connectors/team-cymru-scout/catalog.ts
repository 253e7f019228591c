import { defineCatalog } from '@cti/connector-testkit';

/** What OpenCTI's connector catalog says about this connector (connectors/<slug>/__metadata__ is generated from it). */
export default defineCatalog({
  description:
    "Enriches IPv4, IPv6 and domain-name observables with Team Cymru's Pure Signal Scout: the vendor's STIX 2.1 bundle, filtered and linked to the enriched observable, under a one-request-per-second budget.",
  shortDescription: 'IP and domain intelligence from Team Cymru Pure Signal Scout.',
  useCases: ['Infrastructure & Attack Surface Visibility'],
  solutionCategories: ['Enrichment & Reputation'],
  licenseType: 'Commercial',
  maxConfidenceLevel: 75,
  subscriptionLink: 'https://www.team-cymru.com/pure-signal-scout',
});
