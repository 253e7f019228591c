/**
 * Listen-queue messages a connector may receive but cannot use: not JSON, missing or mistyped fields,
 * unknown entities, entities out of scope, huge bodies. Each must be reported (on its work when it names
 * one, in the logs always), acked, and must not stop the next message.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startConnector, startTestPlatform, type TestPlatform } from '../../../src/index.js';
import { generatedSection, normalise } from '../../suites/generated-docs.js';
import { pollUntil, queueState } from './broker.js';
import { echoEnrichment } from './connectors.js';

const doc = generatedSection('bad-input');
let platform: TestPlatform;
let daemon: ReturnType<typeof startConnector>;
const calls = { calls: [] as string[] };
let exitCode: number | null = null;
let ipCounter = 0;

beforeAll(async () => {
  platform = await startTestPlatform();
  daemon = startConnector(echoEnrichment(calls), {
    OPENCTI_URL: platform.url,
    OPENCTI_TOKEN: platform.token,
    CONNECTOR_LOG_LEVEL: 'info',
  });
  void daemon.exited.then((code) => {
    exitCode = code;
  });
  await daemon.waitForLog('listening for enrichment requests', 60_000);
}, 90_000);
afterAll(async () => {
  if (daemon) expect(await daemon.stop()).toBe(0);
  await platform?.close();
});

/** A work the message can name, created as the platform's workAdd does. */
async function createWork(): Promise<string> {
  const response = await fetch(`${platform.url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${platform.token}` },
    body: JSON.stringify({
      query:
        'mutation workAdd($connectorId: String!, $friendlyName: String) { workAdd(connectorId: $connectorId, friendlyName: $friendlyName) { id } }',
      variables: { connectorId: daemon.connectorId, friendlyName: 'bad input' },
    }),
  });
  const body = (await response.json()) as { data: { workAdd: { id: string } } };
  return body.data.workAdd.id;
}

interface Log {
  level: string;
  message: string;
}
const logsSince = (from: number): Log[] =>
  daemon.logs.slice(from).flatMap((l) => {
    try {
      return [JSON.parse(l) as Log];
    } catch {
      return [];
    }
  });

interface Outcome {
  /** The error the work got, if the message named one. */
  workError: string | undefined;
  workStatus: string | undefined;
  /** The ERROR or WARNING log line about the message. */
  logged: Log | undefined;
  longestLogLine: number;
}

/**
 * Publishes `body`, then a valid enrichment; waits for the valid one to be processed, and checks that
 * the listen queue holds nothing (ready or unacked): the bad message was acked, not requeued.
 */
async function sendThenValid(body: string | Buffer, workId: string | null, expectLog: RegExp): Promise<Outcome> {
  const from = daemon.logs.length;
  await platform.publishListenRaw(daemon.connectorId, body);
  ipCounter++;
  const value = `203.0.113.${ipCounter}`;
  const ip = platform.addEntity({ entity_type: 'IPv4-Addr', value });
  const next = await platform.askEnrichment(daemon.connectorId, ip.standard_id);
  await platform.waitFor(() => platform.work(next)?.operations.some((o) => o.op === 'toProcessed'), {
    timeoutMs: 30_000,
    message: 'the next message to be processed',
  });
  const nextWork = await platform.waitForWork(next, { timeoutMs: 30_000 });
  expect(nextWork.errors).toEqual([]);
  expect(nextWork.messages.map((m) => m.message)).toContain(`echo ${value}`);
  const listen = platform.queueNames(daemon.connectorId).listen;
  await pollUntil(
    async () => {
      const q = await queueState(listen);
      return q.ready === 0 && q.unacked === 0;
    },
    100,
    'the listen queue to be empty',
  );
  expect(exitCode).toBeNull();
  const lines = daemon.logs.slice(from);
  const logged = logsSince(from).find(
    (l) => (l.level === 'ERROR' || l.level === 'WARNING') && expectLog.test(l.message),
  );
  expect(logged, `a log line matching ${expectLog}`).toBeDefined();
  const work = workId ? platform.work(workId) : undefined;
  if (workId) {
    // A message that names its work closes it, in error: the work is not left "in progress" for ever.
    expect(work?.errors.length, `errors on ${workId}`).toBeGreaterThan(0);
    expect(
      work?.operations.filter((o) => o.op === 'toProcessed'),
      `toProcessed on ${workId}`,
    ).toHaveLength(1);
  }
  return {
    workError: work?.errors.map((e) => e.message).join(' | '),
    workStatus: work?.status,
    logged,
    longestLogLine: Math.max(...lines.map((l) => l.length)),
  };
}

const what = (o: Outcome, workId: string | null) =>
  [
    o.logged ? `logged at ${o.logged.level}: "${normalise(o.logged.message)}"` : 'not logged',
    workId
      ? o.workError === undefined || o.workError === ''
        ? 'its work got no error'
        : o.workError === o.logged?.message
          ? 'its work ended in error with the same text'
          : `its work ended in error: "${normalise(o.workError)}"`
      : null,
    'acked; the next message was processed.',
  ]
    .filter(Boolean)
    .join('; ');

const enrichmentMessage = (workId: string | null, event: Record<string, unknown>) =>
  JSON.stringify({ internal: { work_id: workId, applicant_id: null }, event });

describe('bad listen messages', () => {
  it('a body that is not JSON', async () => {
    const o = await sendThenValid('this is not JSON {', null, /not JSON/);
    doc.record('Not JSON (`this is not JSON {`)', what(o, null));
  });

  it('an empty body', async () => {
    const o = await sendThenValid('', null, /not JSON/);
    doc.record('An empty body', what(o, null));
  });

  it('random bytes (invalid UTF-8)', async () => {
    const o = await sendThenValid(Buffer.concat([Buffer.from([0xff, 0xfe, 0x00]), randomBytes(512)]), null, /not JSON/);
    // The byte count in the message depends on the random bytes.
    doc.record('512 random bytes, not UTF-8', what(o, null).replace(/\(\d+ bytes\)/, '(<n> bytes)'));
  });

  it('JSON that is not an object', async () => {
    for (const body of ['[1,2,3]', 'null', '"text"', '42']) {
      const o = await sendThenValid(body, null, /Malformed listen message/);
      expect(o.logged?.message).toMatch(/Malformed listen message \(/);
    }
    const o = await sendThenValid('[1,2,3]', null, /Malformed listen message/);
    doc.record('JSON that is not an object (`[1,2,3]`, `null`, `"text"`, `42`)', what(o, null));
  });

  it('an enrichment message without event.entity_id, naming a work', async () => {
    const workId = await createWork();
    const o = await sendThenValid(enrichmentMessage(workId, { entity_type: 'IPv4-Addr' }), workId, /Malformed/);
    expect(o.workError).toMatch(/event\.entity_id/);
    doc.record('`event.entity_id` missing, `internal.work_id` set', what(o, workId));
  });

  it('a message without internal, and one with mistyped fields', async () => {
    const o = await sendThenValid(JSON.stringify({ event: { entity_id: 'x' } }), null, /Malformed.*internal/);
    doc.record('`internal` missing', what(o, null));
    const workId = await createWork();
    const typed = await sendThenValid(
      JSON.stringify({ internal: { work_id: workId, applicant_id: 7 }, event: { entity_id: 12 } }),
      workId,
      /Malformed/,
    );
    expect(typed.workError).toMatch(/event\.entity_id/);
    doc.record('Fields of the wrong type (`applicant_id: 7`, `entity_id: 12`)', what(typed, workId));
  });

  it('stix_entity that is not valid JSON', async () => {
    const workId = await createWork();
    const o = await sendThenValid(
      enrichmentMessage(workId, { entity_id: 'ipv4-addr--x', entity_type: 'IPv4-Addr', stix_entity: '{"type": "ipv4' }),
      workId,
      /Malformed/,
    );
    expect(o.workError).toMatch(/stix_entity/);
    doc.record('`event.stix_entity` a truncated JSON string', what(o, workId));
  });

  it('an unknown entity type and id', async () => {
    const workId = await createWork();
    const o = await sendThenValid(
      enrichmentMessage(workId, { entity_id: 'made-up--00000000-0000-4000-8000-000000000000', entity_type: 'Made-Up' }),
      workId,
      /Unable to read the entity/,
    );
    expect(o.workError).toMatch(/Unable to read the entity/);
    expect(calls.calls).not.toContain('made-up--00000000-0000-4000-8000-000000000000');
    doc.record('An entity type and id the platform does not know (`Made-Up`)', what(o, workId));
  });

  it('an entity out of the connector scope', async () => {
    const domain = platform.addEntity({ entity_type: 'Domain-Name', value: 'out-of-scope.example' });
    const before = calls.calls.length;
    const from = daemon.logs.length;
    const workId = await platform.askEnrichment(daemon.connectorId, domain.standard_id);
    const work = await platform.waitFor(
      () => {
        const w = platform.work(workId);
        return w?.operations.some((op) => op.op === 'toProcessed') ? w : undefined;
      },
      { timeoutMs: 30_000 },
    );
    expect(work.errors).toEqual([]);
    const skipped = work.messages.map((m) => m.message).find((m) => /Skipped/.test(m));
    expect(skipped).toMatch(/Domain-Name is not in the connector's scope \(IPv4-Addr\)/);
    expect(calls.calls.length).toBe(before);
    const o = await sendThenValid('{}', null, /Malformed/);
    expect(o.longestLogLine).toBeLessThan(2_000);
    expect(daemon.logs.slice(from).some((l) => l.includes('Skipped'))).toBe(true);
    doc.record(
      'A Domain-Name sent to an IPv4-Addr connector',
      `Not enriched (the connector code never ran); the work completed without error with "${skipped}"; the next message was processed.`,
    );
  });

  it('a malformed message of 8 MB naming a work', async () => {
    const workId = await createWork();
    const filler = 'A'.repeat(8 * 1024 * 1024);
    const o = await sendThenValid(
      JSON.stringify({ internal: { work_id: workId }, event: { entity_type: 'IPv4-Addr', padding: filler } }),
      workId,
      /Malformed/,
    );
    expect(o.workError).toMatch(/event\.entity_id/);
    // The body is not echoed: no log line carries more than a few hundred bytes of it.
    expect(o.longestLogLine).toBeLessThan(4_000);
    expect(JSON.stringify(platform.work(workId))).not.toContain('AAAAAAAAAAAAAAAA');
    doc.record(
      'A malformed message of 8 MB (a padding field, no entity_id) naming a work',
      `${what(o, workId)} No log line or work message echoed the body (longest log line under 4 kB).`,
    );
  });

  it('a valid enrichment carrying 5 MB of stix_objects', async () => {
    const objects = Array.from({ length: 5_000 }, (_, i) => ({
      type: 'note',
      id: `note--${String(i).padStart(8, '0')}-0000-4000-8000-000000000000`,
      content: 'x'.repeat(1_000),
    }));
    ipCounter++;
    const value = `203.0.113.${ipCounter}`;
    const ip = platform.addEntity({ entity_type: 'IPv4-Addr', value });
    const workId = await platform.askEnrichment(daemon.connectorId, ip.standard_id, { stixObjects: objects });
    expect(platform.listenMessages(daemon.connectorId).at(-1)?.body.length).toBeGreaterThan(5_000_000);
    const work = await platform.waitFor(
      () => {
        const w = platform.work(workId);
        return w?.operations.some((op) => op.op === 'toProcessed') ? w : undefined;
      },
      { timeoutMs: 60_000 },
    );
    expect(work.errors).toEqual([]);
    expect(calls.calls).toContain(value);
    const o = await sendThenValid('{}', null, /Malformed/);
    expect(o.longestLogLine).toBeLessThan(4_000);
    doc.record(
      'A valid enrichment request carrying 5 MB of `stix_objects` (5,000 notes)',
      'Processed like any other: the entity enriched, the work completed without error; nothing of the payload logged; the next message was processed.',
    );
  }, 90_000);

  it('a playbook message missing its step fields', async () => {
    const o = await sendThenValid(
      JSON.stringify({ internal: { work_id: null, playbook: { playbook_id: 'p' } }, event: { entity_id: 'x' } }),
      null,
      /Malformed.*playbook/,
    );
    doc.record('A playbook step without `execution_id`, `step_id`…', what(o, null));
  });

  it('docs/reliability.md lists what this suite observed', ({ task }) => {
    doc.verify(task);
  });
});
