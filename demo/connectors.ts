/**
 * The connectors as the demo runs them: every connector folder, found at run time, with the settings and the
 * fake vendor of its conformance case (connectors/<slug>/test/conformance.ts, which replays the connector's
 * recorded fixtures) and what its `demo` part adds: richer answers, the observables to enrich.
 */
import { type EntityInput, type FakeReply, type FakeVendor, startFakeVendor } from '@cti/connector-testkit';
import { type ConnectorCase, connectorCases } from '../scripts/conformance.js';

export interface DemoConnector {
  slug: string;
  title: string;
  kind: 'enrichment' | 'import';
  vendorName: string;
  env(vendorUrl: string): Record<string, string>;
  vendor(): Promise<FakeVendor>;
  /** Enrichers: the observables to enrich. */
  samples?: EntityInput[];
}

/** The demo's view of a case: an import runs once; an enrichment enriches its samples. */
export function demoConnector(c: ConnectorCase): DemoConnector {
  const samples = c.demo?.samples ?? (c.observable ? [{ ...c.observable, markings: ['TLP:GREEN'] }] : undefined);
  return {
    slug: c.slug,
    title: c.definition.name,
    kind: c.kind,
    vendorName: c.demo?.vendorName ?? c.vendor,
    env: (url) => ({
      ...c.env(url),
      ...(c.kind === 'import' ? { CONNECTOR_DURATION_PERIOD: 'PT1H', CONNECTOR_RUN_AND_TERMINATE: 'true' } : {}),
      ...c.demo?.env?.(url),
    }),
    async vendor() {
      const state = { issuedSecrets: [] as string[] };
      let url = '';
      const route = (req: Parameters<ConnectorCase['answer']>[0]): FakeReply | undefined =>
        c.demo?.answer?.(req, url, state) ?? c.answer(req, url, state);
      const vendor = await startFakeVendor({ 'GET *': route, 'POST *': route });
      url = vendor.url;
      return vendor;
    },
    ...(c.kind === 'enrichment' && samples ? { samples } : {}),
  };
}

/** Every connector folder of the repository at `root`, as the demo runs it. */
export async function demoConnectors(root?: string): Promise<DemoConnector[]> {
  return (await connectorCases(root)).map(demoConnector);
}
