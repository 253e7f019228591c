import { defineCatalog } from '@cti/connector-testkit';

/** What OpenCTI's connector catalog says about this connector (connectors/<slug>/__metadata__ is generated from it). */
export default defineCatalog({
  description:
    'Imports Reports and Indicator Bundles from the TeamT5 ThreatVision platform on a schedule, with OAuth 2.0 client credentials, one item at a time, never freezing its cursor on a broken item.',
  shortDescription: 'Reports and indicator bundles from TeamT5 ThreatVision.',
  useCases: ['Adversary & Campaign Insights'],
  solutionCategories: ['Threat Intelligence Feed'],
  licenseType: 'Commercial',
  maxConfidenceLevel: 50,
  subscriptionLink: 'https://teamt5.org/',
});
