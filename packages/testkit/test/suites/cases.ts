/**
 * The connectors as the cross-connector suites drive them: every connector folder's conformance case
 * (connectors/<slug>/test/conformance.ts) joined to its definition, found at run time. A new folder is
 * covered by every suite with no edit here.
 *
 * The testkit depends on no connector: the folders are read through the repository's scripts.
 */
import { type ConnectorCase, connectorCases } from '../../../../scripts/conformance.js';

export type { VendorState } from '../../src/index.js';
export type { ConnectorCase };

export const CASES: readonly ConnectorCase[] = await connectorCases();
export const ENRICHERS = CASES.filter((c) => c.kind === 'enrichment');
export const IMPORTERS = CASES.filter((c) => c.kind === 'import');

/** One connector's case, for the tests about it alone: a renamed or removed connector fails them, not skips. */
export function caseOf(slug: string): ConnectorCase {
  const found = CASES.find((c) => c.slug === slug);
  if (!found) throw new Error(`no connector folder connectors/${slug}: update the tests written for it`);
  return found;
}
