/**
 * Shared pieces of the benchmarks: percentiles, peak RSS from /proc, result files, a broker connection.
 * Benchmarks measure; they assert nothing (the test suite proves behaviour, `pnpm bench` quantifies it).
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseDockerfile, runRuntimeStage, runtimeEnv } from '../scripts/dockerfile.js';

export const RESULTS_DIR = fileURLToPath(new URL('./results/', import.meta.url));
export const AMQP_URL = process.env.AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672';

export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[index] as number;
}

/** Peak resident set size of a process (VmHWM), in MB; the current process by default. */
export function peakRssMb(pid: number | 'self' = 'self'): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1] ?? Number.NaN);
  return Math.round((kb / 1024) * 10) / 10;
}

function runtimeStage() {
  const dockerfile = readFileSync(fileURLToPath(new URL('../docker/Dockerfile', import.meta.url)), 'utf8');
  return parseDockerfile(dockerfile).stages.at(-1);
}

/**
 * The environment the connector image sets for node (docker/Dockerfile's last stage: NODE_ENV, NODE_OPTIONS
 * with its heap flags), so that benchmarks measure the process as it runs in production. For a process started
 * from an image folder (`appDir`, the image's /app) its paths under /app (the compile cache) point there; for
 * one started from the compiled sources they are left out.
 */
export function imageEnvironment(appDir?: string): Record<string, string> {
  return runtimeEnv(runtimeStage(), appDir);
}

/** The image's /app made from a bundle folder: the runtime stage's RUN lines (its compile cache) run on it. */
export function finishImageFolder(appDir: string): void {
  runRuntimeStage(runtimeStage(), appDir);
}

export function round(n: number, digits = 1): number {
  const f = 10 ** digits;
  return Math.round(n * f) / f;
}

export interface BenchResult {
  name: string;
  /** When and where it ran. */
  at: string;
  machine: { cpus: number; node: string };
  [key: string]: unknown;
}

export function writeResult(name: string, data: Record<string, unknown>): BenchResult {
  const result: BenchResult = {
    name,
    at: new Date().toISOString(),
    machine: {
      cpus: (globalThis as { navigator?: { hardwareConcurrency?: number } }).navigator?.hardwareConcurrency ?? 0,
      node: process.version,
    },
    ...data,
  };
  mkdirSync(RESULTS_DIR, { recursive: true });
  writeFileSync(`${RESULTS_DIR}${name}.json`, `${JSON.stringify(result, null, 2)}\n`);
  return result;
}

export function log(message: string): void {
  process.stderr.write(`[bench] ${message}\n`);
}
