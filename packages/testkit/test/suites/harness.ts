/** A fake vendor per connector case whose answers a test can break, and daemons driven against it. */

import { shapeOf, yamlKeys } from '@cti/connector-sdk/internal';
import { expect } from 'vitest';
import { settingsByEnvName } from '../../../../scripts/folder.js';
import {
  describeSightings,
  type FakeReply,
  type FakeRequest,
  type FakeVendor,
  findSecrets,
  type RunningConnector,
  startConnector,
  startFakeVendor,
  type TestPlatform,
  type WorkSnapshot,
} from '../../src/index.js';
import type { ConnectorCase, VendorState } from './cases.js';

/** Replaces the vendor's answer to a faultable request; undefined lets the healthy answer through. */
export type Fault = (req: FakeRequest, hit: number) => FakeReply | undefined;

export interface CaseVendor extends FakeVendor {
  state: VendorState;
  /** Breaks (or, with null, heals) every faultable route. */
  setFault(fault: Fault | null): void;
  /** Requests the fault answered. */
  readonly faulted: number;
}

export async function startCaseVendor(c: ConnectorCase): Promise<CaseVendor> {
  const state: VendorState = { issuedSecrets: [] };
  let fault: Fault | null = null;
  let hits = 0;
  let url = '';
  const route = (req: FakeRequest) => {
    if (fault !== null && c.faultable(req)) {
      const reply = fault(req, hits + 1);
      if (reply !== undefined) {
        hits++;
        return reply;
      }
    }
    return c.answer(req, url, state);
  };
  const vendor = await startFakeVendor({ 'GET *': route, 'POST *': route });
  url = vendor.url;
  // Object.assign would copy the getter's value once: define it on the vendor instead.
  return Object.defineProperties(vendor, {
    state: { value: state },
    setFault: {
      value(next: Fault | null) {
        fault = next;
        hits = 0;
      },
    },
    faulted: { get: () => hits },
  }) as CaseVendor;
}

/** Anything that has log lines: an in-process daemon, or a spawned process's output split in lines. */
export interface LogSource {
  connectorId: string;
  readonly logs: string[];
}

/** Parsed JSON log lines of a daemon. */
export function logLines(d: Pick<LogSource, 'logs'>): Array<{ level: string; message: string }> {
  return d.logs.flatMap((l) => {
    try {
      const parsed = JSON.parse(l) as { level?: unknown; message?: unknown };
      return typeof parsed.message === 'string' ? [{ level: String(parsed.level), message: parsed.message }] : [];
    } catch {
      return [];
    }
  });
}

export interface CaseDaemon {
  d: RunningConnector;
  /** Null while the daemon runs. */
  exitCode(): number | null;
}

/**
 * How an enricher receives its requests: from its listen queue (AMQP), or POSTed by the platform's worker
 * to the callback it registered (API, pycti's HTTP listen protocol). The enrichment suites run on both.
 */
export const LISTEN_PROTOCOLS = ['AMQP', 'API'] as const;
export type ListenProtocol = (typeof LISTEN_PROTOCOLS)[number];

/** The settings of a listen protocol (API: a port the system picks, registered in the callback URI). */
export function listenProtocolEnv(protocol: ListenProtocol): Record<string, string> {
  return protocol === 'API' ? { CONNECTOR_LISTEN_PROTOCOL: 'API', CONNECTOR_LISTEN_PROTOCOL_API_PORT: '0' } : {};
}

/** Starts a case's daemon against the platform and the vendor, at debug level, on a listen protocol. */
export function startCaseDaemon(
  c: ConnectorCase,
  platform: TestPlatform,
  vendor: FakeVendor,
  extra: Record<string, string> = {},
  protocol: ListenProtocol = 'AMQP',
): CaseDaemon {
  const d = startConnector(c.definition, {
    OPENCTI_URL: platform.url,
    OPENCTI_TOKEN: platform.token,
    CONNECTOR_LOG_LEVEL: 'debug',
    ...(c.kind === 'import' ? { CONNECTOR_DURATION_PERIOD: 'PT1H' } : {}),
    ...c.env(vendor.url),
    ...(c.kind === 'enrichment' ? listenProtocolEnv(protocol) : {}),
    ...extra,
  });
  let code: number | null = null;
  void d.exited.then((exit) => {
    code = exit;
  });
  return { d, exitCode: () => code };
}

/** Waits until the connector has called toProcessed on the work (a work may complete before that). */
export async function processedWork(platform: TestPlatform, workId: string, timeoutMs = 60_000): Promise<WorkSnapshot> {
  return platform.waitFor(
    () => {
      const w = platform.work(workId);
      return w?.operations.some((o) => o.op === 'toProcessed') ? w : undefined;
    },
    { timeoutMs, message: `toProcessed on ${workId}` },
  );
}

/** Asks for an enrichment of a new entity and waits for its outcome. */
export async function enrichOnce(
  platform: TestPlatform,
  connectorId: string,
  observable: { entity_type: string; value: string },
  markings: string[] = [],
  timeoutMs = 60_000,
): Promise<WorkSnapshot> {
  const entity = platform.addEntity({ ...observable, markings });
  const workId = await platform.askEnrichment(connectorId, entity.standard_id);
  return processedWork(platform, workId, timeoutMs);
}

/** The line the SDK's import runner logs when a run ends. */
const RUN_END = /^(Import failed after|Imported \d|Nothing new to import|Import interrupted)/;

export interface RunResult {
  /** The run's closing log line. */
  message: string;
  level: string;
  /** The works the run opened (a run that fails before sending anything still opens one), processed. */
  works: WorkSnapshot[];
}

/** Follows an importer daemon's runs, one after the other. */
export function runTracker(platform: TestPlatform, d: LogSource) {
  const seen = new Set<string>();
  let runs = 0;
  return async function nextRun(timeoutMs = 90_000): Promise<RunResult> {
    runs++;
    const n = runs;
    // The run's end is logged before its works are closed (a failed run may even open its work after);
    // "next run scheduled" comes once they are.
    await platform.waitFor(
      () =>
        logLines(d).filter((l) => RUN_END.test(l.message)).length >= n &&
        logLines(d).filter((l) => l.message === 'next run scheduled').length >= n,
      { timeoutMs, message: `run ${n} to end` },
    );
    const line = logLines(d).filter((l) => RUN_END.test(l.message))[n - 1] ?? { level: '', message: '' };
    const ids = platform
      .worksOf(d.connectorId)
      .map((w) => w.id)
      .filter((id) => !seen.has(id));
    for (const id of ids) seen.add(id);
    const works = await Promise.all(ids.map((id) => processedWork(platform, id, timeoutMs)));
    return { message: line.message, level: line.level, works };
  };
}

export const errorsOf = (w: WorkSnapshot) => w.errors.map((e) => e.message).join(' | ');
export const messagesOf = (w: WorkSnapshot) => w.messages.map((m) => m.message).join(' | ');

/** Every secret a case's daemon holds or was handed, by name: its settings, the OpenCTI token, OAuth tokens. */
export function secretsOf(c: ConnectorCase, vendor: CaseVendor, openctiToken: string): Record<string, string> {
  return {
    ...c.secrets,
    OPENCTI_TOKEN: openctiToken,
    ...Object.fromEntries(vendor.state.issuedSecrets.map((t, i) => [`OAuth access token ${i + 1}`, t])),
  };
}

/** Asserts that no secret appears in any of the outputs, raw or encoded (URL, JSON, base64). */
export function expectNoSecrets(
  outputs: Readonly<Record<string, string>>,
  secrets: Readonly<Record<string, string>>,
  what = 'secrets found',
): void {
  expect(describeSightings(findSecrets(outputs, secrets)), what).toEqual([]);
}

/** The settings as config.yml text: each under the key upstream reads it from; JSON strings are YAML strings. */
export function configYml(c: ConnectorCase, settings: Record<string, string>, extra = ''): string {
  const shape = shapeOf(c.definition);
  const keyOf = settingsByEnvName(shape);
  const sections = new Map<string, string[]>();
  for (const [name, value] of Object.entries(settings)) {
    const setting = keyOf.get(name);
    const schema = setting === undefined ? undefined : shape[setting];
    const yamlKey = setting === undefined || schema === undefined ? undefined : yamlKeys(setting, schema)[0];
    if (yamlKey === undefined) throw new Error(`${c.slug}: ${name} has no config.yml key`);
    const [section = '', key = ''] = yamlKey.split('.');
    sections.set(section, [...(sections.get(section) ?? []), `  ${key}: ${JSON.stringify(value)}`]);
  }
  return `${[...sections].map(([s, lines]) => `${s}:\n${lines.join('\n')}`).join('\n\n')}\n${extra}`;
}
