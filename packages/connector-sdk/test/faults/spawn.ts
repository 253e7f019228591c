/** Connector processes for the fault suites: spawned like the image runs them, output captured. */
import { type ChildProcess, spawn } from 'node:child_process';
import { waitUntil } from '@cti/connector-testkit';

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
