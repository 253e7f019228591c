/** Connector processes for the fault suites: spawned like the image runs them, output captured. */
import { type ChildProcess, spawn } from 'node:child_process';
import { expect } from 'vitest';
import { waitUntil } from '../../../src/index.js';

export interface SpawnedConnector {
  child: ChildProcess;
  /** stdout and stderr chunks, in arrival order. */
  output: string[];
  stdout: string[];
  stderr: string[];
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  waitForOutput(text: string | RegExp, timeoutMs?: number): Promise<void>;
}

/**
 * Runs a TypeScript entry point with tsx and the workspace's source condition (so '@cti/connector-sdk'
 * resolves to the sources). Only PATH and `env` reach the process: nothing leaks in from the test's own
 * environment.
 */
export function spawnConnector(entry: string, env: Record<string, string>, args: string[] = []): SpawnedConnector {
  const child = spawn(process.execPath, ['--conditions=@cti/source', '--import', 'tsx', entry, ...args], {
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output: string[] = [];
  const stdout: string[] = [];
  const stderr: string[] = [];
  child.stdout?.on('data', (b: Buffer) => {
    output.push(b.toString());
    stdout.push(b.toString());
  });
  child.stderr?.on('data', (b: Buffer) => {
    output.push(b.toString());
    stderr.push(b.toString());
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('exit', (code, signal) => resolve({ code, signal })),
  );
  return {
    child,
    output,
    stdout,
    stderr,
    exited,
    waitForOutput: (text, timeoutMs = 30_000) =>
      waitUntil(
        () => {
          const all = output.join('');
          return typeof text === 'string' ? all.includes(text) : text.test(all);
        },
        { timeoutMs, message: `output matching ${String(text)}` },
      ),
  };
}

/** The grace period the SDK gives the work in hand after SIGTERM. */
export const SHUTDOWN_GRACE_MS = 8_000;
/** Closing the connections and the exit itself, with one core kept busy elsewhere. */
export const EXIT_MARGIN_MS = 4_000;

/** When a call was cancelled after SIGTERM, in words for a docs row: against the grace period it must last. */
export function cancelledWhen(afterMs: number): string {
  return afterMs >= SHUTDOWN_GRACE_MS - 500
    ? `at the end of the ${SHUTDOWN_GRACE_MS / 1000} s grace period`
    : `${afterMs} ms after SIGTERM, before the ${SHUTDOWN_GRACE_MS / 1000} s grace period ended`;
}

/**
 * Sends SIGTERM to `proc` while it waits on `call`, a vendor request held longer than the grace period, and
 * checks that the process let the call run for the whole grace period (an abort at SIGTERM is the bug
 * this guards against), cancelled it then, and exited 0 within the grace period and a margin. Returns
 * when the call was cancelled and the process exited, counted from SIGTERM.
 */
export async function sigtermPastTheGrace(
  proc: SpawnedConnector,
  call: { abandonedAt?: number | undefined },
): Promise<{ code: number | null; cancelledAfterMs: number; exitedAfterMs: number }> {
  const sentAt = Date.now();
  proc.child.kill('SIGTERM');
  const { code } = await proc.exited;
  const exitedAfterMs = Date.now() - sentAt;
  expect(code).toBe(0);
  expect(exitedAfterMs).toBeLessThan(SHUTDOWN_GRACE_MS + EXIT_MARGIN_MS);
  expect(call.abandonedAt).toBeDefined();
  // A timer never fires early; the 0.5 s only absorbs the clocks of two processes.
  const cancelledAfterMs = (call.abandonedAt ?? 0) - sentAt;
  expect(cancelledAfterMs).toBeGreaterThanOrEqual(SHUTDOWN_GRACE_MS - 500);
  return { code, cancelledAfterMs, exitedAfterMs };
}
