/**
 * Start-up failures a setting causes, as the image runs the connector (a spawned process, every byte of its
 * output captured): it must exit 1 at once, name the setting, and print no secret in any encoding. URL
 * settings holding credentials, a key pasted into the wrong variable, a token with a line break, an OpenCTI
 * certificate OPENCTI_SSL_VERIFY does not trust, a metrics port already taken, an unreadable CA file, numbers
 * in another notation. The file's last test writes docs' rows on the findings these cases reproduce.
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import https from 'node:https';
import net, { type AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestPlatform, type TestPlatform } from '../../../src/index.js';
import { generatedRow, normalise, testReference } from '../../suites/generated-docs.js';
import { type SpawnedConnector, spawnConnector } from './spawn.js';

const crowdsecEntry = fileURLToPath(new URL('../../../../../connectors/crowdsec/src/main.ts', import.meta.url));
const echoEntry = fileURLToPath(new URL('../fixtures-faults/echo-connector.ts', import.meta.url));
const fixture = (name: string) =>
  readFileSync(fileURLToPath(new URL(`../../../../connector-sdk/src/http/test-fixtures/${name}`, import.meta.url)));

const PASSWORD = 'Adm1n+p4ss/w=rd"q';
const KEY = 'CROWDSEC-KEY+st4rt/up=Zq';
const TOKEN = 'OPENCTI-TOKEN-startup-7d1e';

/** A secret in every encoding it could be printed in. */
function forms(secret: string): string[] {
  const b64 = (s: string) => Buffer.from(s).toString('base64');
  return [
    secret,
    encodeURIComponent(secret),
    encodeURIComponent(secret).replace(/%[0-9A-F]{2}/g, (m) => m.toLowerCase()),
    new URLSearchParams({ k: secret }).toString().slice(2),
    JSON.stringify(secret).slice(1, -1),
    b64(secret),
    b64(`admin:${secret}`),
  ];
}

const running: SpawnedConnector[] = [];
function spawnTracked(entry: string, env: Record<string, string>): SpawnedConnector {
  const p = spawnConnector(entry, env);
  running.push(p);
  return p;
}
afterAll(() => {
  for (const p of running) if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL');
});

/** Runs the connector to its exit; returns the exit code, stderr and the whole output. */
async function exitOf(entry: string, env: Record<string, string>) {
  const p = spawnTracked(entry, env);
  const { code } = await p.exited;
  return { code, stderr: p.stderr.join(''), output: p.output.join('') };
}

/** Checks that no form of any secret is in `output`; returns how many forms were looked for. */
function expectNoForm(output: string, ...secrets: string[]): number {
  let searched = 0;
  for (const secret of secrets) {
    for (const form of forms(secret)) {
      expect(output, `the output holds ${JSON.stringify(form)}`).not.toContain(form);
      searched++;
    }
  }
  return searched;
}

/** The stderr lines that name `variable`, as a docs row quotes them. */
const linesNaming = (stderr: string, variable: string) =>
  stderr
    .split('\n')
    .filter((line) => line.includes(`${variable}:`))
    .map((line) => `"${normalise(line, '<opencti>').replace(/^- /, '')}"`)
    .join(' and ');

/** What each case observed, by the finding it reproduces, for docs' rows (the file's last test writes them). */
const observed = { secrets: [] as string[], formsSearched: 0, tls: [] as string[], settings: [] as string[] };

describe('settings that hold a secret by mistake', () => {
  const valid = {
    OPENCTI_URL: 'http://opencti.invalid:8080',
    OPENCTI_TOKEN: TOKEN,
    CONNECTOR_ID: randomUUID(),
    CROWDSEC_KEY: KEY,
    CONNECTOR_LOG_LEVEL: 'debug',
  };

  it.each([
    ['OPENCTI_URL', { OPENCTI_URL: `http://admin:${encodeURIComponent(PASSWORD)}@opencti:99999` }],
    ['OPENCTI_URL', { OPENCTI_URL: `ftp://admin:${encodeURIComponent(PASSWORD)}@opencti:8080` }],
    ['CROWDSEC_API_URL', { CROWDSEC_API_URL: `cti.api.crowdsec.net/v2?apikey=${encodeURIComponent(KEY)}` }],
  ])(
    '%s invalid with credentials in it: exit 1 naming it, no credential in any encoding',
    async (variable, bad) => {
      const { code, stderr, output } = await exitOf(crowdsecEntry, { ...valid, ...bad });
      expect(code).toBe(1);
      expect(stderr).toContain(`${variable}: `);
      observed.formsSearched += expectNoForm(output, PASSWORD, KEY, TOKEN);
      const given = Object.values(bad)[0]
        ?.replace(encodeURIComponent(PASSWORD), '<password>')
        .replace(encodeURIComponent(KEY), '<key>');
      observed.secrets.push(`${variable}=${given} → exit ${code}, ${linesNaming(stderr, variable)}`);
    },
    60_000,
  );

  it("a key pasted into another variable while the key's own is unset: both named, the key never shown", async () => {
    const { CROWDSEC_KEY: _unset, ...withoutKey } = valid;
    const { code, stderr, output } = await exitOf(crowdsecEntry, { ...withoutKey, CROWDSEC_MAX_TLP: KEY });
    expect(code).toBe(1);
    expect(stderr).toContain('CROWDSEC_KEY: is required');
    expect(stderr).toContain('CROWDSEC_MAX_TLP: expected a TLP level');
    observed.formsSearched += expectNoForm(output, KEY, TOKEN);
    observed.secrets.push(
      `CROWDSEC_KEY unset, the key in CROWDSEC_MAX_TLP → exit ${code}, ${linesNaming(stderr, 'CROWDSEC_KEY')} and ` +
        linesNaming(stderr, 'CROWDSEC_MAX_TLP'),
    );
  }, 60_000);

  it('OPENCTI_TOKEN with a line break: refused at start-up, naming OPENCTI_TOKEN', async () => {
    const { code, stderr, output } = await exitOf(crowdsecEntry, { ...valid, OPENCTI_TOKEN: `${TOKEN}\r\n` });
    expect(code).toBe(1);
    expect(stderr).toMatch(/OPENCTI_TOKEN: contains a line break/);
    observed.formsSearched += expectNoForm(output, TOKEN, KEY);
    observed.tls.push(`OPENCTI_TOKEN ending in CR LF → exit ${code}, ${linesNaming(stderr, 'OPENCTI_TOKEN')}`);
  }, 60_000);
});

describe('an OpenCTI certificate OPENCTI_SSL_VERIFY does not trust', () => {
  let server: https.Server;
  let connections = 0;

  beforeAll(async () => {
    server = https.createServer({ cert: fixture('self-signed-cert.pem'), key: fixture('self-signed-key.pem') });
    server.on('connection', () => connections++);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  it('exits 1 at the first attempt, naming OPENCTI_SSL_VERIFY and the certificate problem', async () => {
    const { code, stderr, output } = await exitOf(echoEntry, {
      OPENCTI_URL: `https://127.0.0.1:${(server.address() as AddressInfo).port}`,
      OPENCTI_SSL_VERIFY: 'true',
      OPENCTI_TOKEN: TOKEN,
      CONNECTOR_ID: randomUUID(),
    });
    expect(code).toBe(1);
    expect(stderr).toMatch(
      /OPENCTI_SSL_VERIFY: the TLS certificate of https:\/\/127\.0\.0\.1:\d+\/graphql was rejected: the certificate is self-signed \(DEPTH_ZERO_SELF_SIGNED_CERT\)/,
    );
    // One attempt: no "not reachable" warnings, no retry loop.
    expect(output).not.toContain('not reachable');
    expect(connections).toBe(1);
    observed.formsSearched += expectNoForm(output, TOKEN);
    observed.tls.unshift(
      `A self-signed OpenCTI certificate with OPENCTI_SSL_VERIFY=true → exit ${code} after ${connections} ` +
        `connection, ${linesNaming(stderr, 'OPENCTI_SSL_VERIFY')}`,
    );
  }, 60_000);
});

describe('settings the daemon uses once registered', () => {
  let platform: TestPlatform;
  let squatter: net.Server;

  beforeAll(async () => {
    platform = await startTestPlatform();
    squatter = net.createServer();
    await new Promise<void>((resolve) => squatter.listen(0, '0.0.0.0', resolve));
  });
  afterAll(async () => {
    await new Promise<void>((resolve) => squatter.close(() => resolve()));
    await platform?.close();
  });

  it('CONNECTOR_METRICS_PORT already taken: exit 1 naming it, not "an unexpected error"', async () => {
    const port = (squatter.address() as AddressInfo).port;
    const { code, stderr, output } = await exitOf(echoEntry, {
      OPENCTI_URL: platform.url,
      OPENCTI_TOKEN: platform.token,
      CONNECTOR_ID: randomUUID(),
      CONNECTOR_EXPOSE_METRICS: 'true',
      CONNECTOR_METRICS_PORT: String(port),
    });
    expect(code).toBe(1);
    expect(stderr).toContain(`CONNECTOR_METRICS_PORT: port ${port} on 0.0.0.0 is already in use`);
    expect(output).not.toContain('unexpected error');
    observed.settings.push(
      `CONNECTOR_METRICS_PORT already taken → exit ${code}, ` +
        linesNaming(stderr, 'CONNECTOR_METRICS_PORT').replace(`port ${port} `, 'port <port> '),
    );
  }, 60_000);

  it('an MQ_USE_SSL_CA file that cannot be read: exit 1 naming MQ_USE_SSL_CA', async () => {
    const { code, stderr, output } = await exitOf(echoEntry, {
      OPENCTI_URL: platform.url,
      OPENCTI_TOKEN: platform.token,
      CONNECTOR_ID: randomUUID(),
      MQ_USE_SSL_CA: '/nonexistent/rabbitmq-ca.pem',
    });
    expect(code).toBe(1);
    expect(stderr).toContain('MQ_USE_SSL_CA: is neither PEM text nor a readable file (ENOENT)');
    expect(output).not.toContain('unexpected error');
  }, 60_000);
});

describe('whole numbers written in another notation', () => {
  it.each(['0x32', '1e2'])(
    'CONNECTOR_METRICS_PORT=%s: exit 1 at start-up naming it',
    async (written) => {
      const { code, stderr } = await exitOf(echoEntry, {
        OPENCTI_URL: 'http://opencti.invalid:8080',
        OPENCTI_TOKEN: TOKEN,
        CONNECTOR_ID: randomUUID(),
        CONNECTOR_METRICS_PORT: written,
      });
      expect(code).toBe(1);
      expect(stderr).toMatch(/CONNECTOR_METRICS_PORT: expected a whole number/);
      expect(stderr).not.toContain('opencti.invalid');
      observed.settings.push(
        `CONNECTOR_METRICS_PORT=${written} → exit ${code}, ${linesNaming(stderr, 'CONNECTOR_METRICS_PORT')}`,
      );
    },
    60_000,
  );
});

it('docs/security.md row 13.6 and docs/reliability.md rows 13.8 and 13.10 say what this file observed', ({ task }) => {
  const where = testReference(task, 'block');
  generatedRow('findings-security', '13.6').verifyAfter(
    task,
    "Invalid URL settings were echoed whole, credentials included (`OPENCTI_URL=http://admin:<password>@opencti:99999`, an `ftp://` URL, `CROWDSEC_API_URL=...?apikey=...`); a key pasted into the wrong variable was echoed when its own was unset; secrets were masked only in their raw form (TeamT5's echoed form put `client_secret=<URL-encoded secret>` in a CRITICAL line).",
    `The connector started as its image starts it, at debug level: ${observed.secrets.join('; ')}. ` +
      `${observed.formsSearched} searches of the whole output for a secret (raw, URL- and form-encoded, JSON-escaped, base64, Basic credentials): 0 found.`,
    where,
  );
  generatedRow('findings', '13.8').verifyAfter(
    task,
    '`OPENCTI_SSL_VERIFY=true` with a self-signed OpenCTI certificate: "OpenCTI not reachable ... (DEPTH_ZERO_SELF_SIGNED_CERT)", retried for 5 minutes as if the platform were down. A token ending in CR LF was not refused at start-up.',
    `${observed.tls.join('; ')}.`,
    where,
  );
  generatedRow('findings', '13.10').verifyAfter(
    task,
    'The metrics port already taken: exit 1 with "the connector stopped on an unexpected error", no setting named. Integer settings read with `Number()` accepted `0x32` and `1e2`.',
    `${observed.settings.join('; ')}.`,
    where,
  );
});
