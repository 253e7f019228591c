import { defineCatalog } from '@cti/connector-testkit';

/** What OpenCTI's connector catalog says about GreyNoise (its __metadata__ is generated from this). */
export default defineCatalog({
  description:
    'Enriches IPv4 observables with the GreyNoise Community API: whether the address scans the internet, its classification, and an Indicator for a malicious one.',
  shortDescription: 'Internet scanner context for IPv4 addresses from GreyNoise.',
  useCases: ['Detection & Response Enablement'],
  solutionCategories: ['Enrichment & Reputation'],
  licenseType: 'Free',
  maxConfidenceLevel: 50,
  subscriptionLink: 'https://www.greynoise.io/',
});
