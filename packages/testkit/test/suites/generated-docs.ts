/**
 * Tables in docs/reliability.md and docs/security.md generated from what the fault and security suites
 * observed. A table is a report, never an assertion: every test asserts its invariants itself (the error is
 * on the work and names the vendor, no secret in any encoding, the daemon alive, the next message
 * processed, zero vendor requests when refused...) before it records a row, so a regenerated table can only
 * show what the assertions already accepted. The committed table is compared with what the suites observed
 * (a stale table fails); with CTI_UPDATE_DOCS=1 it is rewritten instead, and only after a run in which every
 * test that feeds it passed.
 *
 * How a test contributes a row:
 *
 * 1. A whole section owned by one test file (SECTIONS without `keyed`): the file creates it once at the top,
 *    `const doc = generatedSection('vendor')`; each test asserts, then calls `doc.record(...cells)` (in the
 *    section's column order; tests that run concurrently keep their rows in a map and record them in a fixed
 *    order at the end); the file's last test is `it('docs/… lists what this suite observed', ({ task }) =>
 *    doc.verify(task))`. verify refuses to compare or rewrite unless every other test of the file passed.
 *
 * 2. One row of a keyed section, from any test file (SECTIONS with `keyed: true`, e.g. a row per finding):
 *    at the end of the test, once its assertions passed, `generatedRow('findings', '13.1').verify(...cells)`.
 *    The first cell is the row's key, written by that call and no other (a repository test checks that each
 *    committed key still has its call); the row is compared with its committed copy, or inserted/replaced in
 *    key order with CTI_UPDATE_DOCS=1. Several files may feed one keyed section. A row whose cells several
 *    tests observe is verified by the last test of their describe block (or of the file, from a top-level
 *    test), `generatedRow(…).verifyAfter(task, ...cells)`, which refuses unless every other test of that
 *    block passed. The cells say what the test observed (counts, exit codes, messages, a measure against
 *    the bound it was asserted to keep), never prose the test could not contradict.
 *
 * Rows hold only what is reproducible from run to run: normalise() strips ports, times and ids. The raw rows
 * of whole sections also go to a JSON file under the OS temp dir (cti-docs/<section>.json).
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TestContext } from 'vitest';

export type DocName = 'reliability' | 'security';

interface SectionSpec {
  doc: DocName;
  title: string;
  /** One paragraph under the title: what was run, against what. */
  intro: string;
  columns: readonly string[];
  /** Rows contributed one by one (generatedRow), keyed by their first cell, from any test file. */
  keyed?: true;
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
      "Each enricher's daemon with its max-TLP setting at every level, asked to enrich an observable at every TLP level (one observable per cell); the fake vendor counts the requests that carry that observable. Expected, and checked for every cell: one request exactly when pycti's `check_max_tlp(tlp, max_tlp)` allows it (the table is copied from reference/protocol-notes.md into the suite, not taken from the SDK), none otherwise, and then the work completes with an error naming the TLP. Each cell shows the requests the vendor received.",
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
  findings: {
    doc: 'reliability',
    title: 'Findings: what broke in routine operations, and what the tests observe now',
    intro:
      'One row per finding of the hostile review (issue 13), each written by the test that reproduces it through the production path (a real daemon process, the real broker, the stand-in platform, a misbehaving local vendor); the test asserts the behaviour, the row reports what it observed. A row is regenerated by running the file of its Test column with `CTI_UPDATE_DOCS=1`.',
    columns: ['Finding', 'What broke', 'What the test observes now', 'Test'],
    keyed: true,
  },
  'findings-security': {
    doc: 'security',
    title: 'Findings: TLP, secrets and credentials',
    intro:
      'One row per security finding of the hostile review (issue 13), each written by the test that reproduces it; the test asserts the behaviour, the row reports what it observed. A row is regenerated by running the file of its Test column with `CTI_UPDATE_DOCS=1`.',
    columns: ['Finding', 'What broke', 'What the test observes now', 'Test'],
    keyed: true,
  },
} as const satisfies Record<string, SectionSpec>;

export type SectionId = keyof typeof SECTIONS;
/** Sections whose rows come one by one from any test (generatedRow). */
export type KeyedSectionId = { [K in SectionId]: (typeof SECTIONS)[K] extends { keyed: true } ? K : never }[SectionId];
/** Sections owned whole by one test file (generatedSection). */
export type WholeSectionId = Exclude<SectionId, KeyedSectionId>;

const REPO_ROOT = fileURLToPath(new URL('../../../../', import.meta.url));
const RAW_DIR = join(tmpdir(), 'cti-docs');

const DOC_HEADERS: Record<DocName, string> = {
  reliability: [
    '# Reliability: faults and bad input',
    '',
    'What the connectors and their SDK do when the broker, the platform, the process, a vendor API, a queue',
    'message or a setting goes wrong. Every table below is generated by the fault suites from what they observed',
    '(`packages/testkit/test/sdk/faults/`, `packages/testkit/test/suites/`); a suite fails when the table here no',
    'longer matches what it observes. Regenerate after a change in behaviour:',
    '',
    '```sh',
    'CTI_UPDATE_DOCS=1 pnpm vitest run packages/testkit/test/sdk/faults packages/testkit/test/suites',
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

/** The cells of a Markdown table line, trimmed (escaped pipes stay escaped). */
function cellsOf(line: string): string[] {
  return line
    .trim()
    .replace(/^\||\|$/g, '')
    .split(/(?<!\\)\|/)
    .map((c) => c.trim());
}

/**
 * The text with Markdown tables reduced to their cells: Biome (`pnpm format`) pads table columns, and a
 * padded committed table must compare equal to the compact one rendered here.
 */
export function canonical(text: string): string {
  return text
    .split('\n')
    .map((line) => {
      if (!line.trim().startsWith('|')) return line.trimEnd();
      const cells = cellsOf(line);
      return cells.every((c) => /^:?-+:?$/.test(c)) ? cells.map(() => '---').join('|') : cells.join('|');
    })
    .join('\n');
}

export function renderSection(id: SectionId, rows: readonly string[][]): string {
  const spec: SectionSpec = SECTIONS[id];
  return [
    begin(id),
    `## ${spec.title}`,
    '',
    spec.intro,
    '',
    `| ${spec.columns.join(' | ')} |`,
    `| ${spec.columns.map(() => '---').join(' | ')} |`,
    ...rows.map((r) => `| ${r.join(' | ')} |`),
    end(id),
  ].join('\n');
}

/** The section as committed in `text`, markers included; undefined when it is not there. */
export function sectionIn(text: string, id: SectionId): string | undefined {
  const from = text.indexOf(begin(id));
  const to = text.indexOf(end(id));
  if (from < 0 || to < from) return undefined;
  return text.slice(from, to + end(id).length);
}

/**
 * `text` with one section replaced by `rendered`. A missing doc gets its header; a missing section goes
 * after the last section that precedes it in SECTIONS (or after the header), so the order stays fixed.
 * Hand-written text outside the markers is kept.
 */
export function withSection(text: string, id: SectionId, rendered: string): string {
  const doc = SECTIONS[id].doc;
  let out = text.trim() === '' ? `${DOC_HEADERS[doc]}\n` : text;
  const existing = sectionIn(out, id);
  if (existing !== undefined) {
    out = out.replace(existing, () => rendered);
  } else {
    const order = (Object.keys(SECTIONS) as SectionId[]).filter((s) => SECTIONS[s].doc === doc);
    const before = order.slice(0, order.indexOf(id)).reverse();
    const anchor = before.map((s) => out.indexOf(end(s))).find((at) => at >= 0);
    if (anchor === undefined) {
      const headerEnd = out.indexOf(DOC_HEADERS[doc]) >= 0 ? DOC_HEADERS[doc].length : 0;
      out = `${out.slice(0, headerEnd)}\n\n${rendered}\n${out.slice(headerEnd)}`;
    } else {
      const after = out.indexOf('\n', anchor);
      const at = after < 0 ? out.length : after;
      out = `${out.slice(0, at)}\n\n${rendered}${out.slice(at)}`;
    }
  }
  return `${out.replace(/\n{3,}/g, '\n\n').trimEnd()}\n`;
}

/** The data rows of a committed section's table, as cells (the header and its rule left out). */
export function rowsIn(section: string): string[][] {
  const table = section.split('\n').filter((l) => l.trim().startsWith('|'));
  return table.slice(2).map(cellsOf);
}

/** Keys sort as numbers where they are numbers: 13.2 before 13.10. */
const byKey = (a: string[], b: string[]) => (a[0] ?? '').localeCompare(b[0] ?? '', 'en', { numeric: true });

/** Where the docs are read and written: the repository's docs/ folder, or a test's stand-in. */
export interface DocFiles {
  read(doc: DocName): string;
  /** Rewrites the doc from its latest text, one writer at a time. */
  update(doc: DocName, change: (text: string) => string): void;
}

const docPath = (doc: DocName) => join(REPO_ROOT, 'docs', `${doc}.md`);

export const repositoryDocs: DocFiles = {
  read(doc) {
    try {
      return readFileSync(docPath(doc), 'utf8');
    } catch {
      return '';
    }
  },
  update(doc, change) {
    withLock(() => {
      writeFileSync(docPath(doc), change(repositoryDocs.read(doc)));
      formatDoc(doc);
    });
  },
};

export interface GeneratedDocsOptions {
  files?: DocFiles;
  /** Rewrite instead of compare; CTI_UPDATE_DOCS=1 by default. */
  update?: boolean;
}

const updating = (options: GeneratedDocsOptions) => options.update ?? process.env.CTI_UPDATE_DOCS === '1';

/** A test as vitest hands it to its function (`it(name, ({ task }) => …)`): enough to see its file's tests. */
export type VerifyingTest = Pick<TestContext['task'], 'id' | 'file' | 'suite'>;

/**
 * The tests of the file (or of `within`, a describe block's tasks), other than `self`, that did not pass
 * (failed, skipped, filtered out, not run).
 */
export function testsNotPassed(
  self: VerifyingTest,
  within: VerifyingTest['file']['tasks'] = self.file.tasks,
): string[] {
  const names: string[] = [];
  const walk = (tasks: VerifyingTest['file']['tasks'], path: string) => {
    for (const t of tasks) {
      const name = path === '' ? t.name : `${path} > ${t.name}`;
      if (t.type === 'suite') walk(t.tasks, name);
      else if (t.id !== self.id && t.result?.state !== 'pass') names.push(`${name} (${t.result?.state ?? t.mode})`);
    }
  };
  walk(within, '');
  return names;
}

/** Where a test is, for a row's Test cell: its file from the repository root and its name (or its block's). */
export function testReference(
  test: Pick<TestContext['task'], 'name' | 'file' | 'suite'>,
  scope: 'test' | 'block' = 'test',
): string {
  const path = relative(REPO_ROOT, test.file.filepath);
  const name = scope === 'test' ? test.name : test.suite?.name;
  return name ? `\`${path}\`: ${name}` : `\`${path}\``;
}

export interface GeneratedSection {
  /** Adds one row (cells in the section's column order). */
  record(...cells: string[]): void;
  readonly rows: readonly string[][];
  /**
   * Compares the section with the committed doc (or rewrites it with CTI_UPDATE_DOCS=1); `test` is the
   * calling test, and every other test of its file must have passed: a row missing because its test failed
   * or did not run must never reach the doc, nor be reported as a stale doc.
   */
  verify(test: VerifyingTest): void;
}

export function generatedSection(id: WholeSectionId, options: GeneratedDocsOptions = {}): GeneratedSection {
  const spec: SectionSpec = SECTIONS[id];
  const files = options.files ?? repositoryDocs;
  const rows: string[][] = [];
  return {
    rows,
    record(...cells) {
      if (cells.length !== spec.columns.length) {
        throw new Error(`section ${id}: ${cells.length} cells for ${spec.columns.length} columns`);
      }
      rows.push(cells.map((c) => cell(c)));
    },
    verify(test) {
      const notPassed = testsNotPassed(test);
      if (notPassed.length > 0) {
        throw new Error(
          `section "${id}" of docs/${spec.doc}.md not ${updating(options) ? 'rewritten' : 'compared'}: ` +
            `these tests of the file did not pass, so their rows are missing:\n- ${notPassed.join('\n- ')}`,
        );
      }
      if (files === repositoryDocs) {
        mkdirSync(RAW_DIR, { recursive: true });
        writeFileSync(join(RAW_DIR, `${id}.json`), `${JSON.stringify({ section: id, rows }, null, 2)}\n`);
      }
      const rendered = renderSection(id, rows);
      if (updating(options)) {
        files.update(spec.doc, (text) => withSection(text, id, rendered));
        return;
      }
      const committed = sectionIn(files.read(spec.doc), id);
      if (committed === undefined || canonical(committed) !== canonical(rendered)) {
        throw new Error(
          `docs/${spec.doc}.md is stale: section "${id}" differs from what the suite observed.\n` +
            `Run with CTI_UPDATE_DOCS=1 to regenerate it.\n--- committed ---\n${committed ?? '(missing)'}\n--- observed ---\n${rendered}`,
        );
      }
    },
  };
}

export interface GeneratedRow {
  /**
   * Compares the row (the key and then `cells`, in the section's column order) with its committed copy, or
   * writes it in key order with CTI_UPDATE_DOCS=1. Call it once the test's assertions have passed.
   */
  verify(...cells: string[]): void;
  /**
   * As verify, for a row observed by several tests: called by the last test of their describe block (of the
   * file, from a top-level test), it compares or writes nothing unless every other test of that block passed.
   */
  verifyAfter(test: VerifyingTest, ...cells: string[]): void;
}

/**
 * One row of a keyed section, owned by the test that calls this with a literal key
 * (`generatedRow('findings', '13.1')`): the repository test of generated-docs finds each committed key's
 * call by that text, so that a row cannot outlive its test.
 */
export function generatedRow(id: KeyedSectionId, key: string, options: GeneratedDocsOptions = {}): GeneratedRow {
  const spec: SectionSpec = SECTIONS[id];
  const files = options.files ?? repositoryDocs;
  const row: GeneratedRow = {
    verifyAfter(test, ...cells) {
      const notPassed = testsNotPassed(test, (test.suite ?? test.file).tasks);
      if (notPassed.length > 0) {
        throw new Error(
          `row "${key}" of section "${id}" not ${updating(options) ? 'rewritten' : 'compared'}: ` +
            `these tests that observe it did not pass:\n- ${notPassed.join('\n- ')}`,
        );
      }
      row.verify(...cells);
    },
    verify(...cells) {
      if (cells.length !== spec.columns.length - 1) {
        throw new Error(
          `section ${id}, row ${key}: ${cells.length} cells after the key for ${spec.columns.length - 1}`,
        );
      }
      // A finding's observations take more room than a fault table's cells.
      const written = [cell(key), ...cells.map((c) => cell(c, 1_500))];
      if (updating(options)) {
        files.update(spec.doc, (text) => {
          const committed = sectionIn(text, id);
          const others = (committed === undefined ? [] : rowsIn(committed)).filter((r) => r[0] !== written[0]);
          return withSection(text, id, renderSection(id, [...others, written].sort(byKey)));
        });
        return;
      }
      const committed = sectionIn(files.read(spec.doc), id);
      const found = committed === undefined ? undefined : rowsIn(committed).find((r) => r[0] === written[0]);
      if (found === undefined || found.join('|') !== written.join('|')) {
        throw new Error(
          `docs/${spec.doc}.md is stale: row "${key}" of section "${id}" differs from what the test observed.\n` +
            `Run with CTI_UPDATE_DOCS=1 to regenerate it.\n--- committed ---\n${found ? `| ${found.join(' | ')} |` : '(missing)'}\n--- observed ---\n| ${written.join(' | ')} |`,
        );
      }
    },
  };
  return row;
}

/** Formats the doc as `pnpm format` does, so that the committed file passes `pnpm lint`. */
function formatDoc(doc: DocName): void {
  const biome = join(REPO_ROOT, 'node_modules', '.bin', 'biome');
  execFileSync(biome, ['format', '--write', docPath(doc)], { cwd: REPO_ROOT, stdio: 'ignore' });
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
