import { defineCatalog } from '@cti/connector-testkit';

/** What OpenCTI's connector catalog says about this connector (connectors/<slug>/__metadata__ is generated from it). */
export default defineCatalog({
  description:
    'Imports SpyCloud breach records on a schedule as Incidents with their observables (accounts, e-mail addresses, URLs, IPs, files), streamed page by page, with state saved only once the bundles are confirmed.',
  shortDescription: 'Breach records from SpyCloud as Incidents and observables.',
  useCases: ['Brand, Digital Risk & Underground Exposure'],
  solutionCategories: ['Digital Risk Protection', 'Threat Intelligence Feed'],
  licenseType: 'Commercial',
  maxConfidenceLevel: 50,
  subscriptionLink: 'https://spycloud.com/',
});
