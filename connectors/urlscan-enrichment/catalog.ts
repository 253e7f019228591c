import { defineCatalog } from '@cti/connector-testkit';

/** What OpenCTI's connector catalog says about this connector (connectors/<slug>/__metadata__ is generated from it). */
export default defineCatalog({
  description:
    'Enriches URL, domain-name and hostname observables with the newest urlscan.io scan: verdicts, targeted brands and sectors, page and TLS details, the screenshot, contacted IPs, hostnames and autonomous systems, as one bundle. IPv4 and IPv6 addresses get the newest scans that contacted them. It searches first and never publishes a scan by accident.',
  shortDescription: 'URL, domain, hostname and IP scan results from urlscan.io.',
  useCases: ['Infrastructure & Attack Surface Visibility'],
  solutionCategories: ['Enrichment & Reputation'],
  licenseType: 'Free',
  maxConfidenceLevel: 60,
  subscriptionLink: 'https://urlscan.io',
});
