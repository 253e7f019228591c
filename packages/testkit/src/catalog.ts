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

export const catalogFactsSchema = z.strictObject({
  /** A paragraph: what the connector does, in the catalog's words. */
  description: z.string().min(1),
  /** One line, for the catalog's cards and the README's table. */
  shortDescription: z.string().min(1),
  /** Upstream's use-case names (`Detection & Response Enablement`...). */
  useCases: z.array(z.string().min(1)).min(1),
  /** Upstream's solution categories (`Enrichment & Reputation`...). */
  solutionCategories: z.array(z.string().min(1)).min(1),
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
