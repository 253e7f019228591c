import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { startTestPlatform, type TestPlatform } from '@cti/connector-testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { until } from './helpers.js';

const fixture = fileURLToPath(new URL('./fixtures/slow-connector.ts', import.meta.url));

let platform: TestPlatform;
beforeAll(async () => {
  platform = await startTestPlatform();
});
afterAll(async () => {
  await platform?.close();
});

function spawnConnector(connectorId: string, delayMs: number) {
  const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', fixture], {
    env: {
      PATH: process.env.PATH,
      OPENCTI_URL: platform.url,
      OPENCTI_TOKEN: platform.token,
      CONNECTOR_ID: connectorId,
      CONNECTOR_LOG_LEVEL: 'info',
      DELAY_MS: String(delayMs),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output: string[] = [];
  child.stdout?.on('data', (b: Buffer) => output.push(b.toString()));
  child.stderr?.on('data', (b: Buffer) => output.push(b.toString()));
  const exited = new Promise<{ code: number | null; at: number }>((resolve) =>
    child.on('exit', (code) => resolve({ code, at: Date.now() })),
  );
  return { child, output, exited };
}

describe('signals', () => {
  it('SIGTERM during an enrichment lets it finish, then exits 0 within 10 s', async () => {
    const connectorId = randomUUID();
    const proc = spawnConnector(connectorId, 1500);
    await until(() => proc.output.join('').includes('listening for enrichment requests'), 30_000, 'consuming');
    const ip = platform.addEntity({ entity_type: 'IPv4-Addr', value: '203.0.113.1' });
    const workId = await platform.askEnrichment(connectorId, ip.standard_id);
    await until(() => platform.work(workId)?.status === 'progress', 10_000, 'the work to be received');
    const sentAt = Date.now();
    proc.child.kill('SIGTERM');
    const { code, at } = await proc.exited;
    expect(code).toBe(0);
    expect(at - sentAt).toBeLessThan(10_000);
    const work = await platform.waitForWork(workId, { timeoutMs: 10_000 });
    expect(work.status).toBe('complete');
    expect(await platform.queueDepth(connectorId, 'listen')).toBe(0);
  }, 60_000);

  it('SIGTERM during an enrichment longer than the grace period requeues the message and exits 0 within 10 s', async () => {
    const connectorId = randomUUID();
    const proc = spawnConnector(connectorId, 60_000);
    await until(() => proc.output.join('').includes('listening for enrichment requests'), 30_000, 'consuming');
    const ip = platform.addEntity({ entity_type: 'IPv4-Addr', value: '203.0.113.2' });
    const workId = await platform.askEnrichment(connectorId, ip.standard_id);
    await until(() => platform.work(workId)?.status === 'progress', 10_000, 'the work to be received');
    const sentAt = Date.now();
    proc.child.kill('SIGTERM');
    const { code, at } = await proc.exited;
    expect(code).toBe(0);
    expect(at - sentAt).toBeLessThan(10_000);
    // Not lost: the message is back on the listen queue for the next consumer, and the work is not closed.
    await until(() => platform.work(workId)?.status === 'progress', 5_000, 'the work to stay open');
    expect(await platform.queueDepth(connectorId, 'listen')).toBe(1);
  }, 60_000);
});
