/**
 * Bundle path scaling: the CPU a large vendor answer costs on its way to the push queue, by stage, for a
 * Scout answer of N relationships each pointing at the previous one (the shape that made the reference
 * cleanup quadratic): half of them hang from an object Scout did not send, so the cleanup removes that
 * half link by link; the other half is sent.
 *   map    Scout's mapping: filter, reference cleanup (dropDanglingReferences), author, assembleBundle
 *   check  assertSendable, as every sink runs it before the first message
 *   split  splitBundleLazily and every push message built from its chunks, as AmqpBundleSink does
 * Each stage is timed three times and the fastest kept, after a warm-up on a small answer. Growth is linear when the time per object at N
 * stays that of the smallest N (bench/run.ts reports the ratio).
 * Usage: tsx bench/bundle-path.ts <relationships>  — prints one JSON line.
 */
import {
  assertSendable,
  buildPushMessage,
  DEFAULT_MAX_MESSAGE_BYTES,
  dryRunEntity,
  largestObjectBytes,
  observableId,
  splitBundleLazily,
} from '@cti/connector-sdk/internal';
import type { ScoutObject } from '../connectors/team-cymru-scout/src/client.js';
import { toStixBundle } from '../connectors/team-cymru-scout/src/to-stix.js';

const relationships = Number(process.argv[2] ?? 1000);
const AT = '2026-01-02T03:04:05.000Z';
const entity = dryRunEntity('198.51.100.7', 'IPv4-Addr');
const as = observableId('autonomous-system', { number: 64500 });
const id = (chain: number, i: number) => `relationship--00000000-0000-4000-8${chain}00-${String(i).padStart(12, '0')}`;

function answer(n: number): ScoutObject[] {
  const objects: ScoutObject[] = [
    { type: 'ipv4-addr', spec_version: '2.1', id: entity.id, value: '198.51.100.7' },
    { type: 'autonomous-system', spec_version: '2.1', id: as, number: 64500 },
  ];
  const half = Math.floor(n / 2);
  for (const [chain, first] of [
    [1, entity.id],
    [2, 'indicator--99999999-9999-4999-8999-999999999999'],
  ] as const) {
    for (let i = 0; i < half; i++) {
      objects.push({
        type: 'relationship',
        spec_version: '2.1',
        id: id(chain, i),
        created: AT,
        modified: AT,
        relationship_type: 'related-to',
        source_ref: i === 0 ? first : id(chain, i - 1),
        target_ref: as,
      });
    }
  }
  return objects;
}

function fastest(run: () => void): number {
  let best = Number.POSITIVE_INFINITY;
  for (let i = 0; i < 3; i++) {
    const started = performance.now();
    run();
    best = Math.min(best, performance.now() - started);
  }
  return best / 1000;
}

function stages(input: ScoutObject[]) {
  const { bundle } = toStixBundle(entity, input, { now: new Date(AT) });
  if (bundle === null) throw new Error('the mapping kept nothing');
  const map = fastest(() => toStixBundle(entity, input, { now: new Date(AT) }));
  const check = fastest(() =>
    assertSendable(bundle, { maxObjectBytes: largestObjectBytes(DEFAULT_MAX_MESSAGE_BYTES) }),
  );
  const split = fastest(() => {
    let sequence = 0;
    for (const chunk of splitBundleLazily(bundle).chunks) {
      sequence += 1;
      buildPushMessage(JSON.stringify(chunk), {
        applicantId: null,
        workId: 'work-bench',
        draftId: null,
        update: false,
        actionSequence: sequence,
      });
    }
  });
  return { bundle, map, check, split };
}

// Warm-up on a small answer, so that every size is measured with the code already compiled.
for (let i = 0; i < 5; i++) stages(answer(1_000));
const { bundle, map, check, split } = stages(answer(relationships));
process.stdout.write(
  `${JSON.stringify({ relationships, sent: bundle.objects.length, mapSeconds: map, checkSeconds: check, splitSeconds: split })}\n`,
);
