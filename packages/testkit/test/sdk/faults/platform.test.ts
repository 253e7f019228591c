/**
 * OpenCTI unreachable or answering 5xx: at start-up, during pings, and while an enrichment records its
 * outcome. Bounded retries, clear log lines, and the enrichment result is not lost.
 */

import { OpenCtiClient, PlatformError } from '@cti/connector-sdk/internal';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  type RunningConnector,
  startConnector,
  startTestPlatform,
  type TestPlatform,
  waitUntil,
} from '../../../src/index.js';
import { generatedSection, normalise } from '../../suites/generated-docs.js';
import { echoEnrichment } from './connectors.js';

const doc = generatedSection('platform');
let platform: TestPlatform;
let daemon: RunningConnector | null = null;
let ipCounter = 0;

beforeAll(async () => {
  platform = await startTestPlatform();
});
afterEach(async () => {
  platform.faults.clear();
  await platform.start();
  if (daemon) expect(await daemon.stop()).toBe(0);
  daemon = null;
});
afterAll(async () => {
  await platform?.close();
});

interface Log {
  level: string;
  message: string;
  attributes?: Record<string, unknown>;
}
const parsed = (d: RunningConnector): Log[] =>
  d.logs.flatMap((l) => {
    try {
      return [JSON.parse(l) as Log];
    } catch {
      return [];
    }
  });
const messages = (d: RunningConnector, pattern: RegExp) => parsed(d).filter((l) => pattern.test(l.message));

function start(extra: Record<string, string> = {}, pingIntervalMs?: number) {
  const calls = { calls: [] as string[] };
  daemon = startConnector(
    echoEnrichment(calls),
    { OPENCTI_URL: platform.url, OPENCTI_TOKEN: platform.token, CONNECTOR_LOG_LEVEL: 'info', ...extra },
    pingIntervalMs ? { pingIntervalMs } : {},
  );
  const d = daemon;
  const state = { exitCode: null as number | null };
  void d.exited.then((code) => {
    state.exitCode = code;
  });
  return { d, state, calls };
}

async function enrich(d: RunningConnector) {
  ipCounter++;
  const ip = platform.addEntity({ entity_type: 'IPv4-Addr', value: `198.19.0.${ipCounter}` });
  return platform.askEnrichment(d.connectorId, ip.standard_id);
}

/**
 * A work is complete as soon as the worker has reported every expectation, which may come before the
 * connector's toProcessed: this waits for both.
 */
async function processedWork(workId: string, timeoutMs = 30_000) {
  await platform.waitFor(() => platform.work(workId)?.operations.some((o) => o.op === 'toProcessed'), {
    timeoutMs,
    message: `toProcessed on ${workId}`,
  });
  return platform.waitForWork(workId, { timeoutMs });
}

const consuming = (d: RunningConnector) => d.waitForLog('listening for enrichment requests', 60_000);

describe('OpenCTI faults at start-up', () => {
  it('unreachable (connection refused): waits with growing delays, starts once the platform answers', async () => {
    await platform.stop();
    const { d, state } = start();
    await waitUntil(() => messages(d, /OpenCTI not reachable/).length >= 2, {
      timeoutMs: 30_000,
      message: 'two start-up warnings',
    });
    const warnings = messages(d, /OpenCTI not reachable/);
    expect(warnings.map((w) => w.attributes?.attempt)).toEqual([1, 2]);
    expect(warnings.every((w) => w.level === 'WARNING')).toBe(true);
    expect(Number(warnings[1]?.attributes?.delayMs)).toBeGreaterThan(0);
    expect(platform.connector(d.connectorId)).toBeUndefined();
    await platform.start();
    await consuming(d);
    const work = await processedWork(await enrich(d));
    expect(work.errors).toEqual([]);
    expect(state.exitCode).toBeNull();
    doc.record(
      'OpenCTI stopped (connection refused) when the daemon starts',
      `One warning per attempt, with a growing delay (1 s doubling up to 30 s, with jitter), e.g. "${normalise(
        String(warnings[0]?.message).replace(/next in \S+/, 'next in <delay>'),
        '<opencti>',
      )}"; nothing registered meanwhile; once the platform answered, the daemon registered, consumed, and the enrichment completed.`,
    );
  }, 90_000);

  it('a stop requested while waiting for OpenCTI at start-up exits 0', async () => {
    await platform.stop();
    const { d } = start();
    await waitUntil(() => messages(d, /OpenCTI not reachable/).length >= 1, {
      timeoutMs: 30_000,
      message: 'a start-up warning',
    });
    daemon = null;
    const code = await d.stop();
    const critical = parsed(d).find((l) => l.level === 'CRITICAL');
    doc.record(
      'SIGTERM (a stop) while the daemon waits for OpenCTI at start-up',
      code === 0
        ? 'Stopped at once with exit code 0 and "stopped before start-up completed"; no error logged.'
        : `BUG: stopped at once but with exit code ${code} and a CRITICAL line "${normalise(String(critical?.message), '<opencti>')}".`,
    );
    expect(code).toBe(0);
    expect(critical).toBeUndefined();
    expect(messages(d, /stopped before start-up completed/)).toHaveLength(1);
  }, 60_000);

  it('unreachable for good: the start-up wait is bounded', async () => {
    await platform.stop();
    const client = new OpenCtiClient({ url: platform.url, token: platform.token, userAgent: 'fault-suite' });
    const error = await client.waitUntilReachable({ deadlineMs: 2_500, baseDelayMs: 200 }).then(
      () => null,
      (err: unknown) => err,
    );
    expect(error).toBeInstanceOf(PlatformError);
    const message = (error as PlatformError).message;
    expect(message).toMatch(/^OpenCTI not reachable at http:\/\/127\.0\.0\.1:\d+ after \d+ attempts in 2\.5 ?s/);
    expect(message).not.toContain(platform.token);
    // What the daemon does with the error the wait ends in (its own deadline is 5 min): the same path as a
    // rejected token, which ends the wait at once.
    await platform.start();
    const rejected = platform.faults.graphql({ operation: 'healthCheck', status: 401, times: 1 });
    const { d } = start();
    daemon = null;
    expect(await d.exited).toBe(1);
    expect(rejected.hits).toBe(1);
    const critical = parsed(d).filter((l) => l.level === 'CRITICAL');
    expect(critical).toHaveLength(1);
    expect(critical[0]?.message).toMatch(/OpenCTI/);
    doc.record(
      'OpenCTI never comes back',
      `The start-up wait gives up at its deadline (5 min in the daemon, 2.5 s in this test) with "${normalise(message, '<opencti>').replace(/after \d+ attempts/, 'after <n> attempts')}"; the daemon then logs it at CRITICAL and exits 1.`,
    );
  });

  it('HTTP 503 on the health check at start-up: retried, then starts', async () => {
    const fault = platform.faults.graphql({ operation: 'healthCheck', status: 503, times: 3 });
    const { d } = start();
    await consuming(d);
    expect(fault.hits).toBe(3);
    const warnings = messages(d, /OpenCTI not reachable/);
    expect(warnings).toHaveLength(3);
    expect(warnings[0]?.message).toMatch(/503/);
    expect((await processedWork(await enrich(d))).errors).toEqual([]);
    doc.record(
      'OpenCTI answers HTTP 503 to the first 3 health checks',
      `Three warnings ("${normalise(String(warnings[0]?.message), '<opencti>').replace(/next in \S+/, 'next in <delay>')}"), then registered and consumed; the enrichment completed.`,
    );
  }, 60_000);

  it('HTTP 502 on registerConnector twice: the call is retried and the daemon starts', async () => {
    const fault = platform.faults.graphql({ operation: 'RegisterConnector', status: 502, times: 2 });
    const { d } = start();
    await consuming(d);
    expect(fault.hits).toBe(2);
    expect((await processedWork(await enrich(d))).errors).toEqual([]);
    doc.record(
      'OpenCTI answers HTTP 502 to the first 2 registerConnector calls',
      'Retried within the call (3 attempts, 0.5 s doubling): registered, consumed, the enrichment completed.',
    );
  }, 60_000);

  /*
   * The registration waits for the platform with the same start-up deadline as the health check
   * (client.ts registerConnector with deadlineMs): a platform that answers the health check but 5xx on
   * registerConnector for a while (a restart behind a proxy) does not make the daemon exit.
   */
  it('HTTP 503 on registerConnector for a few seconds: the daemon keeps trying and starts', async () => {
    const fault = platform.faults.graphql({ operation: 'RegisterConnector', status: 503, times: 8 });
    const { d, state } = start();
    await waitUntil(() => state.exitCode !== null || d.logs.some((l) => l.includes('listening for enrichment')), {
      timeoutMs: 60_000,
      message: 'the daemon to start or stop',
    });
    const fatal = messages(d, /RegisterConnector/).find((l) => l.level === 'CRITICAL');
    doc.record(
      'OpenCTI answers the health check but HTTP 503 to the first 8 registerConnector calls',
      state.exitCode === null
        ? `Kept trying (${fault.hits} attempts) and started once the registration went through.`
        : `BUG: the daemon gave up after ${fault.hits} attempts and exited ${state.exitCode}: "${normalise(String(fatal?.message), '<opencti>')}".`,
    );
    if (state.exitCode !== null) daemon = null;
    expect(state.exitCode).toBeNull();
    await consuming(d);
  }, 90_000);
});

describe('OpenCTI faults while running', () => {
  it('pings failing (HTTP 502, then the platform stopped): the daemon keeps running and processing', async () => {
    const { d, state } = start({}, 200);
    await consuming(d);
    const pingsBefore = () => platform.connector(d.connectorId)?.pings.length ?? 0;
    // A 502 from a proxy is retried within the call (3 attempts): six answers fail two pings.
    const fault = platform.faults.graphql({ operation: 'PingConnector', status: 502, times: 6 });
    await waitUntil(() => fault.remaining === 0, { timeoutMs: 30_000, message: 'six failed ping attempts' });
    const afterFaults = pingsBefore();
    await waitUntil(() => pingsBefore() > afterFaults, { timeoutMs: 30_000, message: 'a ping to succeed again' });
    const failedPings = messages(d, /ping to OpenCTI failed/);
    expect(failedPings).toHaveLength(2);
    expect(failedPings[0]?.level).toBe('WARNING');

    await platform.stop();
    await waitUntil(() => messages(d, /ping to OpenCTI failed/).length >= failedPings.length + 3, {
      timeoutMs: 30_000,
      message: 'pings to fail while the platform is down',
    });
    await platform.start();
    const resumed = pingsBefore();
    await waitUntil(() => pingsBefore() > resumed, { timeoutMs: 30_000, message: 'pings to resume' });
    expect((await processedWork(await enrich(d))).errors).toEqual([]);
    expect(state.exitCode).toBeNull();
    doc.record(
      'Pings answered HTTP 502 six times (two pings of 3 attempts), then the platform stopped for several ping intervals',
      `Each failed ping logged as a warning ("${normalise(String(failedPings[0]?.message), '<opencti>')}") and retried at the next interval; the daemon kept running, pings resumed when the platform came back, and the next enrichment completed.`,
    );
  }, 90_000);

  it('HTTP 503 on toProcessed beyond the retries: the message is requeued and the result recorded on redelivery', async () => {
    const { d, state, calls } = start();
    await consuming(d);
    const fault = platform.faults.graphql({ operation: 'workToProcessed', status: 503, times: 3 });
    const workId = await enrich(d);
    const work = await processedWork(workId);
    expect(fault.hits).toBe(3);
    expect(work.errors).toEqual([]);
    expect(work.operations.filter((o) => o.op === 'toProcessed')).toHaveLength(1);
    const requeued = messages(d, /could not record the outcome/);
    expect(requeued).toHaveLength(1);
    expect(new Set(platform.objects({ workId }).map((o) => o.object.type))).toEqual(
      new Set(['identity', 'indicator', 'relationship']),
    );
    expect(calls.calls).toHaveLength(2);
    expect((await processedWork(await enrich(d))).errors).toEqual([]);
    expect(state.exitCode).toBeNull();
    doc.record(
      'toProcessed answered HTTP 503 three times (every attempt of the first delivery)',
      `Logged "${normalise(String(requeued[0]?.message), '<opencti>')}" and requeued the message; the redelivery ran the enrichment again (the vendor is asked twice, the bundle pushed twice) and recorded it: the work is complete, without error. The next enrichment completed.`,
    );
  }, 60_000);

  it('HTTP 503 on the entity read beyond the retries: requeued, then processed', async () => {
    const { d, calls } = start();
    await consuming(d);
    const fault = platform.faults.graphql({ operation: 'ReadStixCoreObject', status: 503, times: 3 });
    const work = await processedWork(await enrich(d));
    expect(fault.hits).toBe(3);
    expect(work.errors).toEqual([]);
    expect(calls.calls).toHaveLength(1);
    doc.record(
      'The entity read (stixCoreObject) answered HTTP 503 three times',
      'The message was requeued before the vendor was asked anything; the redelivery read the entity, enriched it once and completed the work.',
    );
  }, 60_000);

  /*
   * An outage is not a poison message: while the platform cannot record the outcome the message goes back
   * to the queue after a growing pause, for as long as the outage lasts (enrichment.ts, outageFailures).
   */
  it('OpenCTI down for 15 s while an enrichment records its outcome: processed when the platform is back', async () => {
    const { d, state, calls } = start({ DELAY_MS: '1500' });
    await consuming(d);
    const workId = await enrich(d);
    await waitUntil(() => calls.calls.length === 1, { timeoutMs: 30_000, message: 'the enrichment to start' });
    await platform.stop();
    await waitUntil(() => messages(d, /could not record the outcome/).length >= 1, {
      timeoutMs: 30_000,
      message: 'the outcome to fail',
    });
    await new Promise((r) => setTimeout(r, 15_000));
    await platform.start();
    const settled = await processedWork(workId)
      .then(() => 'complete')
      .catch(() => platform.work(workId)?.status ?? 'unknown');
    const gaveUp = messages(d, /giving up/);
    doc.record(
      'OpenCTI stopped for 15 s while an enrichment (1.5 s) is running, so its outcome cannot be recorded',
      settled === 'complete'
        ? 'The message was kept until the platform came back; the work completed with the result.'
        : `BUG: requeued once, redelivered at once, failed again and acked ("${normalise(String(gaveUp[0]?.message), '<opencti>').replace(/: .*$/, '')}"): the result is lost and the work stays "${settled}" for ever. The daemon kept running.`,
    );
    expect(state.exitCode).toBeNull();
    expect(settled).toBe('complete');
  }, 120_000);

  it('addExpectations dropped on every attempt while OpenCTI answers everything else: two runs, then reported and dropped', async () => {
    const { d, state, calls } = start();
    await consuming(d);
    const fault = platform.faults.graphql({
      operation: 'addExpectations',
      drop: true,
      times: Number.POSITIVE_INFINITY,
    });
    const workId = await enrich(d);
    await platform.waitFor(() => platform.work(workId)?.operations.some((o) => o.op === 'toProcessed'), {
      timeoutMs: 60_000,
      message: `toProcessed on ${workId}`,
    });
    fault.cancel();
    const errors = platform.work(workId)?.errors.map((e) => e.message) ?? [];
    expect(errors.join('\n')).toMatch(/addExpectations failed/);
    expect(calls.calls).toHaveLength(2);
    expect(await platform.queueDepth(d.connectorId, 'listen')).toBe(0);
    const gaveUp = messages(d, /giving up/);
    expect(gaveUp).toHaveLength(1);
    expect((await processedWork(await enrich(d))).errors).toEqual([]);
    expect(state.exitCode).toBeNull();
    doc.record(
      'addExpectations answered by a dropped connection on every attempt, while OpenCTI answers every other call (a message that can never be recorded)',
      `The platform answered a read of the work, so this was not an outage: the message was requeued once, ran again (the handler twice in all), failed the same way and was dropped ("${normalise(String(gaveUp[0]?.message), '<opencti>')}") with the error on its work. The next enrichment completed.`,
    );
  }, 90_000);

  it('docs/reliability.md lists what this suite observed', ({ task }) => {
    doc.verify(task);
  });
});
