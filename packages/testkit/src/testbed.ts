/**
 * The set-up every connector's end-to-end test repeats: the stand-in platform, a fake vendor, and the
 * connector's daemon started against both with the connector's own settings. Created at module level,
 * wired to the test runner's hooks by the test (the testkit stays free of any test framework):
 *
 *   const bed = connectorTestbed({ definition: crowdsec, routes, env: (vendor) => ({ CROWDSEC_API_URL: vendor.url }) });
 *   beforeAll(() => bed.setup());
 *   afterEach(() => bed.reset());
 *   afterAll(() => bed.close());
 */
import type { ConnectorDefinition } from '@cti/connector-sdk/internal';
import { type RunningConnector, startConnector } from './connector-runner.js';
import { type FakeRoute, type FakeVendor, startFakeVendor } from './fake-vendor.js';
import { startTestPlatform, type TestPlatform, type TestPlatformOptions } from './platform.js';
import { StixViolationError } from './stix-validation.js';

export interface TestbedOptions {
  definition: ConnectorDefinition;
  /** The fake vendor's routes. */
  routes: Record<string, FakeRoute>;
  /** The connector's own settings, given the fake vendor (its URL); the platform's are added. */
  env: (vendor: FakeVendor) => Record<string, string>;
  /**
   * The log line start() waits for: an enrichment connector's "listening" by default; null for none (an
   * import's tests wait for the run they look at).
   */
  readyLog?: string | RegExp | null;
  /** The stand-in platform's options (e.g. `autoEnrichment`). */
  platform?: TestPlatformOptions;
}

export interface ConnectorTestbed {
  /** The stand-in platform (after setup()). */
  readonly platform: TestPlatform;
  /** The fake vendor (after setup()). */
  readonly vendor: FakeVendor;
  /** The daemon start() started last, until reset(). */
  readonly daemon: RunningConnector | null;
  /** Starts the platform and the vendor. */
  setup(): Promise<void>;
  /** Starts the daemon with the connector's settings, then `env`, and waits until it is ready. */
  start(env?: Record<string, string>): Promise<RunningConnector>;
  /**
   * Stops every daemon start() started and forgets the vendor's requests, for the next test; throws if
   * anything the daemons sent broke STIX 2.1 (the platform's check), naming the test that sent it.
   */
  reset(): Promise<void>;
  /** Stops everything. */
  close(): Promise<void>;
}

export function connectorTestbed(options: TestbedOptions): ConnectorTestbed {
  let platform: TestPlatform | undefined;
  let vendor: FakeVendor | undefined;
  let daemons: RunningConnector[] = [];
  let checkedViolations = 0;
  const started = <T>(value: T | undefined, what: string): T => {
    if (value === undefined) throw new Error(`the testbed's ${what} is not started: call setup() first`);
    return value;
  };
  // Closures, not `this`: a test may take `const { start } = bed`.
  const reset = async () => {
    const running = daemons;
    daemons = [];
    await Promise.all(running.map((d) => d.stop()));
    if (vendor) vendor.requests.length = 0;
    const violations = platform?.stixViolations() ?? [];
    const fresh = violations.slice(checkedViolations);
    checkedViolations = violations.length;
    if (fresh.length > 0) {
      throw new StixViolationError(
        'What the connector sent in this test',
        fresh.map((v) => v.message),
      );
    }
  };
  return {
    get platform() {
      return started(platform, 'platform');
    },
    get vendor() {
      return started(vendor, 'vendor');
    },
    get daemon() {
      return daemons.at(-1) ?? null;
    },
    async setup() {
      platform = await startTestPlatform(options.platform);
      vendor = await startFakeVendor(options.routes);
    },
    async start(env = {}) {
      const p = started(platform, 'platform');
      const v = started(vendor, 'vendor');
      const daemon = startConnector(options.definition, {
        OPENCTI_URL: p.url,
        OPENCTI_TOKEN: p.token,
        ...options.env(v),
        ...env,
      });
      daemons.push(daemon);
      const ready = options.readyLog === undefined ? 'listening for enrichment requests' : options.readyLog;
      if (ready !== null) await daemon.waitForLog(ready);
      return daemon;
    },
    reset,
    async close() {
      await reset();
      await vendor?.close();
      await platform?.close();
    },
  };
}
