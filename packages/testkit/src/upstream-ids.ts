/**
 * reference/upstream-ids.json: the ids the upstream Python connectors give the repository's fixtures,
 * computed by scripts/upstream-ids.py (pycti 7's rules re-implemented in Python, independently of the
 * SDK). A connector's test maps the same fixture with the case's options and compares what it produced.
 */
import { readFileSync } from 'node:fs';

export interface UpstreamIdVector {
  kind: string;
  /** The upstream file (and commit) that makes the call. */
  upstream: string;
  /** The call, as upstream writes it. */
  call: string;
  /** What is hashed, with STIX property names (`{ id }` for a vendor id kept as it is). */
  input: Record<string, unknown>;
  id: string;
  canonical?: string;
}

export interface UpstreamIdCase {
  connector: string;
  case: string;
  description: string;
  options?: Record<string, unknown>;
  entity?: { entity_type: string; value: string; id: string };
  vectors: UpstreamIdVector[];
  /** Ids upstream makes and ours does not, each on purpose (docs/migrating.md). */
  differences?: Array<{ id: string; reason: string }>;
  /** Ids ours makes and upstream does not, each on purpose. */
  ours_only?: Array<{ id: string; reason: string }>;
  /** 'subset': ours may send more than upstream (it follows another connector's shape). Default 'exact'. */
  mode?: 'exact' | 'subset';
}

const FILE = new URL('../../../reference/upstream-ids.json', import.meta.url);

/** Every case of reference/upstream-ids.json, or those of one connector. */
export function upstreamIdCases(connector?: string): UpstreamIdCase[] {
  const { cases } = JSON.parse(readFileSync(FILE, 'utf8')) as { cases: UpstreamIdCase[] };
  return connector === undefined ? cases : cases.filter((c) => c.connector === connector);
}

/** One case by connector and name; throws when it is missing (a renamed case must not skip its test). */
export function upstreamIdCase(connector: string, name: string): UpstreamIdCase {
  const found = upstreamIdCases(connector).find((c) => c.case === name);
  if (found === undefined) throw new Error(`reference/upstream-ids.json has no case ${connector}/${name}`);
  return found;
}

export interface UpstreamIdComparison {
  /** Upstream's ids that ours does not produce (and should). */
  missing: string[];
  /** Ours that upstream does not produce and that is not declared `ours_only` (exact cases). */
  unexpected: string[];
  /** Declared differences that ours produces after all. */
  notDifferent: string[];
}

/**
 * Compares the ids a connector produced for a case with upstream's. Marking definitions outside the
 * vectors are left aside: they are the platform's fixed TLP ids, whoever sends their definition.
 */
export function compareWithUpstream(
  upstreamCase: UpstreamIdCase,
  produced: ReadonlyArray<{ id: string; type: string }>,
): UpstreamIdComparison {
  const ours = new Set(produced.map((o) => o.id));
  const differs = new Set((upstreamCase.differences ?? []).map((d) => d.id));
  const expected = new Set(upstreamCase.vectors.map((v) => v.id).filter((id) => !differs.has(id)));
  const allowed = new Set([...expected, ...(upstreamCase.ours_only ?? []).map((d) => d.id)]);
  return {
    missing: [...expected].filter((id) => !ours.has(id)),
    unexpected:
      upstreamCase.mode === 'subset'
        ? []
        : produced.filter((o) => o.type !== 'marking-definition' && !allowed.has(o.id)).map((o) => o.id),
    notDifferent: [...differs].filter((id) => ours.has(id)),
  };
}
