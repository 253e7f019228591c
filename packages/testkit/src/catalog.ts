/**
 * What OpenCTI's connector catalog says about a connector and its definition does not: each connector
 * folder's `catalog.ts`. `pnpm metadata` writes the folder's `__metadata__/connector_manifest.json` (upstream's
 * catalog format) from it and from the definition, and the README's table from its short description.
 *
 * ```ts
 * export default defineCatalog({
 *   description: 'Enriches IPv4 observables with GreyNoise: ...',
 *   shortDescription: 'Internet scanner intelligence from GreyNoise.',
 *   useCases: ['Detection & Response Enablement'],
 *   solutionCategories: ['Enrichment & Reputation'],
 *   licenseType: 'Free',
 *   maxConfidenceLevel: 50,
 *   subscriptionLink: 'https://www.greynoise.io/',
 * });
 * ```
 */
import { z } from '@cti/connector-sdk';

/** The use cases Filigran's catalog schema allows (reference/catalog/connector_manifest_schema.json). */
export const USE_CASES = [
  'Adversary & Campaign Insights',
  'Vulnerability & Exploit Awareness',
  'Infrastructure & Attack Surface Visibility',
  'Detection & Response Enablement',
  'Fraud, Financial Crime & Cryptocurrency Monitoring',
  'Brand, Digital Risk & Underground Exposure',
  'Third-Party & Supply Chain Oversight',
  'Cloud, SaaS & Platform Security',
  'Geopolitical, Physical & Hybrid Risk Analysis',
  'Market Vertical & Mission-Specific Intelligence',
  'FIMI & Disinformation',
  'Other',
] as const;

/** The solution categories Filigran's catalog schema allows. */
export const SOLUTION_CATEGORIES = [
  'Threat Intelligence Feed',
  'Endpoint Detection & Response',
  'SIEM & Security Analytics',
  'Malware Analysis & Sandbox',
  'SOAR & Security Automation',
  'Vulnerability & Exposure Management',
  'Attack Surface Management',
  'Network Security',
  'Email Security',
  'AI Security',
  'Incident Response & Case Management',
  'Digital Risk Protection',
  'Governance, Risk & Compliance',
  'Cloud Security',
  'Enrichment & Reputation',
  'Import, Export & Sharing',
  'Other',
] as const;

/** One to three distinct values of the list, as the catalog schema wants them. */
const oneToThree = <const T extends readonly [string, ...string[]]>(values: T) =>
  z
    .array(z.enum(values))
    .min(1)
    .max(3)
    .refine((list) => new Set(list).size === list.length, { error: 'lists a value twice' });

export const catalogFactsSchema = z.strictObject({
  /** A paragraph: what the connector does, in the catalog's words. */
  description: z.string().min(1),
  /** One line, for the catalog's cards and the README's table (the catalog cuts it at 250 characters). */
  shortDescription: z.string().min(1).max(250),
  /** 1 to 3 of upstream's use cases (`Detection & Response Enablement`...). */
  useCases: oneToThree(USE_CASES),
  /** 1 to 3 of upstream's solution categories (`Enrichment & Reputation`...). */
  solutionCategories: oneToThree(SOLUTION_CATEGORIES),
  /** The vendor service's licence. */
  licenseType: z.enum(['Free', 'Commercial']),
  /** The highest confidence the vendor's data deserves (upstream's catalog value). */
  maxConfidenceLevel: z.number().int().min(0).max(100),
  /** Where to get an account, or null. */
  subscriptionLink: z.url().nullable(),
});

export type CatalogFacts = z.input<typeof catalogFactsSchema>;

/** Declares a connector's catalog facts (`connectors/<slug>/catalog.ts`, default export). */
export function defineCatalog(facts: CatalogFacts): CatalogFacts {
  return facts;
}
