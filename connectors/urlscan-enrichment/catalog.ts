import { defineCatalog } from '@cti/connector-testkit';

/** What OpenCTI's connector catalog says about this connector (connectors/<slug>/__metadata__ is generated from it). */
export default defineCatalog({
  description:
    'Enriches URL and domain-name observables with the newest urlscan.io scan: verdicts, targeted brands and sectors, page and TLS details, resolved IPs and autonomous systems, as one bundle. It searches first and never publishes a scan by accident.',
  shortDescription: 'URL and domain scan results from urlscan.io.',
  useCases: ['Infrastructure & Attack Surface Visibility'],
  solutionCategories: ['Enrichment & Reputation'],
  licenseType: 'Free',
  maxConfidenceLevel: 60,
  subscriptionLink: 'https://urlscan.io',
});
