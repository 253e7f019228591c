/**
 * Tables in docs/reliability.md and docs/security.md generated from what the fault and security suites
 * observed. Each suite file owns one section: its tests record rows as they pass, its last test renders
 * the section and compares it with the committed file (a stale table fails the suite). With
 * CTI_UPDATE_DOCS=1 the last test rewrites the section instead. The raw rows also go to a JSON file under
 * the OS temp dir (cti-docs/<section>.json), so a run can be inspected without reading Markdown.
 *
 * Rows must hold only what is reproducible from run to run: normalise() strips ports, times and ids.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export type DocName = 'reliability' | 'security';

interface SectionSpec {
  doc: DocName;
  title: string;
  /** One paragraph under the title: what was run, against what. */
  intro: string;
  columns: readonly string[];
}

/** Every generated section, in document order. A suite may only write the sections listed here. */
export const SECTIONS = {
  broker: {
    doc: 'reliability',
    title: 'Broker faults',
    intro:
      'An enrichment daemon in the test process, the real RabbitMQ broker and the stand-in platform; the broker closes the connector connections (listen and push) from its side, as `rabbitmqctl close_connection` or a broker fail-over does.',
    columns: ['Fault', 'What the system did'],
  },
  platform: {
    doc: 'reliability',
    title: 'OpenCTI platform faults',
    intro:
      'The stand-in platform stopped (connection refused), or answering chosen GraphQL operations with HTTP 5xx, while a daemon starts, pings and records works.',
    columns: ['Fault', 'What the system did'],
  },
  process: {
    doc: 'reliability',
    title: 'Process faults',
    intro:
      'Connector processes spawned with `node --import tsx`, killed with SIGKILL in the middle of their work (signals.test.ts in the SDK covers SIGTERM).',
    columns: ['Fault', 'What the system did'],
  },
  'bad-input': {
    doc: 'reliability',
    title: 'Bad listen messages',
    intro:
      'Messages published raw to the listen queue of a running enrichment daemon. After each one, a valid enrichment request is sent: the table says what happened to both.',
    columns: ['Message', 'What the system did'],
  },
  vendor: {
    doc: 'reliability',
    title: 'Vendor API faults',
    intro:
      "Each connector's daemon against a fake vendor API on 127.0.0.1 that answers every route with the fault. After each fault, the vendor is healed and a second request is sent.",
    columns: ['Connector', 'Vendor fault', 'Error on the work', 'Next request'],
  },
  'bad-env': {
    doc: 'reliability',
    title: 'Bad settings',
    intro:
      "For every setting of every connector that can be wrong, the connector is started with one bad value (found by trying candidates against the setting's own schema) and every other setting valid, secrets included. Exit code 1 and the variable named on stderr are required; no secret may appear in the output.",
    columns: ['Connector', 'Setting', 'Bad value', 'Exit', 'What stderr said'],
  },
  tlp: {
    doc: 'security',
    title: 'TLP matrix',
    intro:
      "Each enricher's daemon with its max-TLP setting at every level, asked to enrich an observable at every TLP level (one observable per cell); the fake vendor counts the requests that carry that observable. Expected, and checked for every cell: one request exactly when pycti's `check_max_tlp(tlp, max_tlp)` allows it (the table is copied from protocol.md §11.1 into the suite, not taken from the SDK), none otherwise, and then the work ends in error naming the TLP. Each cell shows the requests the vendor received.",
    columns: [
      'Connector',
      'Max TLP setting',
      'No marking',
      'TLP:CLEAR',
      'TLP:GREEN',
      'TLP:AMBER',
      'TLP:AMBER+STRICT',
      'TLP:RED',
    ],
  },
  'tlp-edge': {
    doc: 'security',
    title: 'TLP: several markings, unknown TLP markings, PAP',
    intro:
      "pycti leaves the entity's TLP to each connector; most keep the last TLP marking in list order, so an observable marked GREEN after RED passes a max of AMBER. The SDK takes the highest TLP marking instead, and counts a TLP marking it does not know as TLP:RED. PAP markings are not TLP and are ignored, as in pycti. Each enricher with its max TLP at TLP:AMBER:",
    columns: ['Connector', 'Markings (in this order)', 'pycti (last TLP wins)', 'Vendor requests', 'Work'],
  },
  secrets: {
    doc: 'security',
    title: 'Secrets',
    intro:
      'Each connector as a spawned process at debug level, with recognisable secret values (vendor keys, the OpenCTI token, the RabbitMQ password of a dedicated broker user handed out by registration), driven through success and every error path. Every byte of stdout and stderr, every work message and error, and every request the platform recorded are searched for each secret.',
    columns: ['Connector', 'Path exercised', 'Secrets searched', 'Found'],
  },
  'token-hosts': {
    doc: 'security',
    title: 'Credentials and foreign hosts',
    intro:
      'The vendor answers with a redirect to another host (another port on 127.0.0.1 is another origin); the second server records the headers it receives.',
    columns: ['Connector', 'Case', 'Credentials seen by the other host', 'Work'],
  },
} as const satisfies Record<string, SectionSpec>;

export type SectionId = keyof typeof SECTIONS;

const REPO_ROOT = fileURLToPath(new URL('../../../../', import.meta.url));
const docPath = (doc: DocName) => join(REPO_ROOT, 'docs', `${doc}.md`);
const RAW_DIR = join(tmpdir(), 'cti-docs');

const DOC_HEADERS: Record<DocName, string> = {
  reliability: [
    '# Reliability: faults and bad input',
    '',
    'What the connectors and their SDK do when the broker, the platform, the process, a vendor API, a queue',
    'message or a setting goes wrong. Every table below is generated by the fault suites from what they observed',
    '(`packages/connector-sdk/test/faults/`, `packages/testkit/test/suites/`); a suite fails when the table here no',
    'longer matches what it observes. Regenerate after a change in behaviour:',
    '',
    '```sh',
    'CTI_UPDATE_DOCS=1 pnpm vitest run packages/connector-sdk/test/faults packages/testkit/test/suites',
    '```',
    '',
    'Ports, times and generated ids are replaced by placeholders (`<vendor>`, `<opencti>`, `<host>`, `<time>`, `<id>`).',
  ].join('\n'),
  security: [
    '# Security',
    '',
    'How the connectors keep data at or below its allowed TLP, keep secrets out of every output and send credentials',
    'only to the hosts they belong to. The tables are generated by `packages/testkit/test/suites/` from what the',
    'suites observed (regenerate with `CTI_UPDATE_DOCS=1 pnpm vitest run packages/testkit/test/suites`); the prose',
    'sections are written by hand.',
  ].join('\n'),
};

const begin = (id: string) => `<!-- BEGIN GENERATED ${id} -->`;
const end = (id: string) => `<!-- END GENERATED ${id} -->`;

/** Makes observed text reproducible: ports, ISO times, UUIDs, work ids and durations become placeholders. */
export function normalise(text: string, local = '<vendor>'): string {
  return text
    .replace(/https?:\/\/(?:127\.0\.0\.1|localhost):\d+/g, local)
    .replace(/\b(?:127\.0\.0\.1|localhost):\d+/g, '<host>')
    .replace(/work_[0-9a-f-]{36}_\S+?Z/g, '<work>')
    .replace(/\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:\d\d)/g, '<time>')
    .replace(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g, '<id>')
    .replace(/\b\d+(?:\.\d+)?\s?(?:ms|s)\b(?! \()/g, (m) => (/^\d+ s$/.test(m) ? m : '<duration>'))
    .replace(/\s+/g, ' ')
    .trim();
}

/** A Markdown table cell: pipes escaped, newlines flattened, long texts cut. */
function cell(value: string, max = 700): string {
  const flat = value.replace(/\s+/g, ' ').trim();
  const cut = flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
  return cut.replace(/\|/g, '\\|');
}

export interface GeneratedSection {
  /** Adds one row (cells in the section's column order). */
  record(...cells: string[]): void;
  readonly rows: readonly string[][];
  /** Renders the section; fails when the committed doc differs (or rewrites it with CTI_UPDATE_DOCS=1). */
  verify(): void;
}

export function generatedSection(id: SectionId): GeneratedSection {
  const spec: SectionSpec = SECTIONS[id];
  const rows: string[][] = [];
  return {
    rows,
    record(...cells) {
      if (cells.length !== spec.columns.length) {
        throw new Error(`section ${id}: ${cells.length} cells for ${spec.columns.length} columns`);
      }
      rows.push(cells.map((c) => cell(c)));
    },
    verify() {
      mkdirSync(RAW_DIR, { recursive: true });
      writeFileSync(join(RAW_DIR, `${id}.json`), `${JSON.stringify({ section: id, rows }, null, 2)}\n`);
      const rendered = renderSection(id, rows);
      if (process.env.CTI_UPDATE_DOCS === '1') {
        withLock(() => {
          writeSection(spec.doc, id, rendered);
          formatDoc(spec.doc);
        });
        return;
      }
      const committed = readSection(spec.doc, id);
      if (committed === undefined || canonical(committed) !== canonical(rendered)) {
        throw new Error(
          `docs/${spec.doc}.md is stale: section "${id}" differs from what the suite observed.\n` +
            `Run with CTI_UPDATE_DOCS=1 to regenerate it.\n--- committed ---\n${committed ?? '(missing)'}\n--- observed ---\n${rendered}`,
        );
      }
    },
  };
}

/**
 * The text with Markdown tables reduced to their cells: Biome (`pnpm format`) pads table columns, and a
 * padded committed table must compare equal to the compact one rendered here.
 */
function canonical(text: string): string {
  return text
    .split('\n')
    .map((line) => {
      if (!line.trim().startsWith('|')) return line.trimEnd();
      const cells = line
        .trim()
        .replace(/^\||\|$/g, '')
        .split(/(?<!\\)\|/)
        .map((c) => c.trim());
      return cells.every((c) => /^:?-+:?$/.test(c)) ? cells.map(() => '---').join('|') : cells.join('|');
    })
    .join('\n');
}

/** Formats the doc as `pnpm format` does, so that the committed file passes `pnpm lint`. */
function formatDoc(doc: DocName): void {
  const biome = join(REPO_ROOT, 'node_modules', '.bin', 'biome');
  execFileSync(biome, ['format', '--write', docPath(doc)], { cwd: REPO_ROOT, stdio: 'ignore' });
}

function renderSection(id: SectionId, rows: readonly string[][]): string {
  const spec: SectionSpec = SECTIONS[id];
  const lines = [
    begin(id),
    `## ${spec.title}`,
    '',
    spec.intro,
    '',
    `| ${spec.columns.join(' | ')} |`,
    `| ${spec.columns.map(() => '---').join(' | ')} |`,
    ...rows.map((r) => `| ${r.join(' | ')} |`),
    end(id),
  ];
  return lines.join('\n');
}

function readDoc(doc: DocName): string {
  try {
    return readFileSync(docPath(doc), 'utf8');
  } catch {
    return '';
  }
}

function readSection(doc: DocName, id: SectionId): string | undefined {
  const text = readDoc(doc);
  const from = text.indexOf(begin(id));
  const to = text.indexOf(end(id));
  if (from < 0 || to < from) return undefined;
  return text.slice(from, to + end(id).length);
}

/**
 * Rewrites one section in place. A missing doc gets its header; a missing section goes after the last
 * section that precedes it in SECTIONS (or after the header), so the order stays fixed. Hand-written text
 * outside the markers is kept.
 */
function writeSection(doc: DocName, id: SectionId, rendered: string): void {
  let text = readDoc(doc);
  if (text.trim() === '') text = `${DOC_HEADERS[doc]}\n`;
  const existing = readSection(doc, id);
  if (existing !== undefined) {
    text = text.replace(existing, () => rendered);
  } else {
    const order = (Object.keys(SECTIONS) as SectionId[]).filter((s) => SECTIONS[s].doc === doc);
    const before = order.slice(0, order.indexOf(id)).reverse();
    const anchor = before.map((s) => text.indexOf(end(s))).find((at) => at >= 0);
    if (anchor === undefined) {
      const headerEnd = text.indexOf(DOC_HEADERS[doc]) >= 0 ? DOC_HEADERS[doc].length : 0;
      text = `${text.slice(0, headerEnd)}\n\n${rendered}\n${text.slice(headerEnd)}`;
    } else {
      const after = text.indexOf('\n', anchor);
      const at = after < 0 ? text.length : after;
      text = `${text.slice(0, at)}\n\n${rendered}${text.slice(at)}`;
    }
  }
  writeFileSync(docPath(doc), `${text.replace(/\n{3,}/g, '\n\n').trimEnd()}\n`);
}

/** Suite files run in parallel workers: one writer at a time (a directory is created atomically). */
function withLock(action: () => void): void {
  const lock = join(REPO_ROOT, 'docs', '.generated.lock');
  mkdirSync(join(REPO_ROOT, 'docs'), { recursive: true });
  const deadline = Date.now() + 30_000;
  for (;;) {
    try {
      mkdirSync(lock);
      break;
    } catch {
      if (Date.now() > deadline) throw new Error(`could not take ${lock}; remove it if no suite is running`);
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 20);
    }
  }
  try {
    action();
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}
