/**
 * The generated tables' mechanism: a table is compared or rewritten only after every test that feeds it
 * passed, keyed rows land in key order from any file, and no committed keyed row outlives its test.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  canonical,
  type DocFiles,
  type DocName,
  generatedRow,
  generatedSection,
  type KeyedSectionId,
  repositoryDocs,
  rowsIn,
  SECTIONS,
  type SectionId,
  sectionIn,
  testReference,
  testsNotPassed,
  type VerifyingTest,
} from './generated-docs.js';

/** Docs held in memory, so that nothing here touches docs/. */
function memoryDocs(initial: Partial<Record<DocName, string>> = {}): DocFiles & { texts: Record<DocName, string> } {
  const texts: Record<DocName, string> = { reliability: '', security: '', ...initial };
  return {
    texts,
    read: (doc) => texts[doc],
    update(doc, change) {
      texts[doc] = change(texts[doc]);
    },
  };
}

type State = 'pass' | 'fail' | 'skip' | undefined;
/** A test file as vitest describes it to a running test: the verifying test last, after `others`. */
function fileOf(others: Record<string, State>): VerifyingTest {
  const test = (name: string, state: State) => ({
    type: 'test',
    id: name,
    name,
    mode: state === 'skip' ? 'skip' : 'run',
    result: state && state !== 'skip' ? { state } : undefined,
  });
  const tasks = [
    {
      type: 'suite',
      id: 'suite',
      name: 'suite',
      mode: 'run',
      tasks: Object.entries(others).map(([n, s]) => test(n, s)),
    },
    test('docs', 'pass'),
  ];
  return { id: 'docs', file: { tasks } } as unknown as VerifyingTest;
}

const VENDOR_ROW = ['crowdsec', 'HTTP 500', '"CrowdSec API answered 500"', 'processed'];

describe('a section owned by one test file', () => {
  it('is neither compared nor rewritten when a test of its file failed, was skipped or filtered out', () => {
    const files = memoryDocs();
    const doc = generatedSection('vendor', { files, update: true });
    doc.record(...VENDOR_ROW);
    const task = fileOf({ 'crowdsec faults': 'pass', 'scout faults': 'fail', 'urlscan faults': 'skip' });
    expect(testsNotPassed(task)).toEqual(['suite > scout faults (fail)', 'suite > urlscan faults (skip)']);
    expect(() => doc.verify(task)).toThrow(/not rewritten: these tests of the file did not pass[\s\S]*scout faults/);
    expect(files.texts.reliability).toBe('');
    const compare = generatedSection('vendor', { files, update: false });
    expect(() => compare.verify(task)).toThrow(/not compared/);
  });

  it('is written once every test passed, keeps hand-written text, then compares equal even once padded', () => {
    const files = memoryDocs({ reliability: '# Reliability\n\nHand-written intro.\n' });
    const written = generatedSection('vendor', { files, update: true });
    written.record(...VENDOR_ROW);
    written.verify(fileOf({ faults: 'pass' }));
    expect(files.texts.reliability).toContain('Hand-written intro.');
    const section = sectionIn(files.texts.reliability, 'vendor') ?? '';
    expect(rowsIn(section)).toEqual([VENDOR_ROW]);

    // What `pnpm format` makes of it: padded columns.
    files.texts.reliability = files.texts.reliability.replace('| crowdsec |', '| crowdsec      |');
    const same = generatedSection('vendor', { files, update: false });
    same.record(...VENDOR_ROW);
    expect(() => same.verify(fileOf({ faults: 'pass' }))).not.toThrow();

    const changed = generatedSection('vendor', { files, update: false });
    changed.record(...VENDOR_ROW.slice(0, 3), 'BUG: the next request failed');
    expect(() => changed.verify(fileOf({ faults: 'pass' }))).toThrow(/docs\/reliability\.md is stale/);
  });

  it('refuses a row of the wrong width', () => {
    expect(() => generatedSection('vendor', { files: memoryDocs() }).record('crowdsec', 'HTTP 500')).toThrow(
      'section vendor: 2 cells for 4 columns',
    );
  });
});

describe('a keyed section, one row per test', () => {
  it('inserts rows in key order (13.2 before 13.10), replaces a row by its key, and compares each row alone', () => {
    const files = memoryDocs({ reliability: '# Reliability\n' });
    const write = (key: string, observed: string) =>
      generatedRow('findings', key, { files, update: true }).verify('what broke', observed, 'some.test.ts');
    write('13.10', 'ten');
    write('13.2', 'two, first run');
    write('13.9', 'nine');
    write('13.2', 'two');
    const rows = rowsIn(sectionIn(files.texts.reliability, 'findings') ?? '');
    expect(rows.map((r) => [r[0], r[2]])).toEqual([
      ['13.2', 'two'],
      ['13.9', 'nine'],
      ['13.10', 'ten'],
    ]);

    const compare = (key: string, observed: string) =>
      generatedRow('findings', key, { files, update: false }).verify('what broke', observed, 'some.test.ts');
    expect(() => compare('13.9', 'nine')).not.toThrow();
    expect(() => compare('13.9', 'nine, differently')).toThrow(/row "13\.9" of section "findings" differs/);
    expect(() => compare('13.4', 'four')).toThrow(/--- committed ---\n\(missing\)/);
    expect(() => generatedRow('findings', '13.1', { files }).verify('too few')).toThrow('1 cells after the key for 3');
  });

  it('verifyAfter writes a row several tests observed only once every other test of its block passed', () => {
    const files = memoryDocs({ reliability: '# Reliability\n' });
    const row = (update: boolean) => generatedRow('findings', '13.7', { files, update });
    // The verifying test is in a describe block with two others; a failure elsewhere in the file is not its.
    const inBlock = (states: Record<string, State>): VerifyingTest => {
      const task = fileOf({ 'unrelated test': 'fail' });
      const block = {
        type: 'suite',
        id: 'block',
        name: 'block',
        mode: 'run',
        tasks: [
          ...Object.entries(states).map(([name, state]) => ({
            type: 'test',
            id: name,
            name,
            mode: 'run',
            result: { state },
          })),
          { type: 'test', id: 'docs', name: 'docs', mode: 'run' },
        ],
      };
      return { ...task, suite: block } as unknown as VerifyingTest;
    };
    expect(() =>
      row(true).verifyAfter(inBlock({ 'first half': 'pass', 'second half': 'fail' }), 'broke', 'seen', 'x.test.ts'),
    ).toThrow(
      /row "13\.7" of section "findings" not rewritten: these tests that observe it did not pass:\n- second half \(fail\)/,
    );
    expect(sectionIn(files.texts.reliability, 'findings')).toBeUndefined();
    row(true).verifyAfter(inBlock({ 'first half': 'pass', 'second half': 'pass' }), 'broke', 'seen', 'x.test.ts');
    expect(rowsIn(sectionIn(files.texts.reliability, 'findings') ?? '')).toEqual([
      ['13.7', 'broke', 'seen', 'x.test.ts'],
    ]);
    // From a top-level test, the block is the whole file.
    expect(() => row(false).verifyAfter(fileOf({ other: 'fail' }), 'broke', 'seen', 'x.test.ts')).toThrow(
      /not compared[\s\S]*suite > other \(fail\)/,
    );
  });

  it('testReference names a test or its block by the file from the repository root', ({ task }) => {
    expect(testReference(task)).toBe(
      `\`packages/testkit/test/suites/generated-docs.test.ts\`: testReference names a test or its block by the file from the repository root`,
    );
    expect(testReference(task, 'block')).toBe(
      '`packages/testkit/test/suites/generated-docs.test.ts`: a keyed section, one row per test',
    );
  });
});

const REPO_ROOT = fileURLToPath(new URL('../../../../', import.meta.url));

/** Every TypeScript file under the folders that hold tests. */
function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return ['node_modules', 'dist'].includes(entry.name) ? [] : sources(path);
    return entry.name.endsWith('.ts') ? [path] : [];
  });
}

describe('the repository', () => {
  const texts = ['packages', 'connectors']
    .flatMap((d) => sources(join(REPO_ROOT, d)))
    // The mechanism's own file and test name sections in examples.
    .filter((p) => !/generated-docs(\.test)?\.ts$/.test(p))
    .map((p) => readFileSync(p, 'utf8'));
  const calls = (pattern: RegExp) => texts.flatMap((t) => [...t.matchAll(pattern)].map((m) => m.slice(1).join(' ')));

  it('every committed row of a keyed section is written by exactly one test, with a literal key', () => {
    const claimed = calls(/generatedRow\(\s*'([\w-]+)',\s*'([^']+)'/g);
    expect(
      claimed.filter((c, i) => claimed.indexOf(c) !== i),
      'keys written by two calls',
    ).toEqual([]);
    const keyed = (Object.keys(SECTIONS) as SectionId[]).filter((id): id is KeyedSectionId => 'keyed' in SECTIONS[id]);
    for (const id of keyed) {
      const section = sectionIn(repositoryDocs.read(SECTIONS[id].doc), id);
      for (const [key] of section === undefined ? [] : rowsIn(section)) {
        expect(claimed, `the test that writes row "${key}" of "${id}"`).toContain(`${id} ${key}`);
      }
    }
  });

  it('every other section is owned by exactly one test file and is committed', () => {
    const owners = calls(/generatedSection\(\s*'([\w-]+)'/g);
    for (const id of Object.keys(SECTIONS) as SectionId[]) {
      if ('keyed' in SECTIONS[id]) continue;
      expect(
        owners.filter((o) => o === id),
        `files that generate "${id}"`,
      ).toHaveLength(1);
      const committed = sectionIn(repositoryDocs.read(SECTIONS[id].doc), id);
      expect(committed, `section "${id}" in docs/${SECTIONS[id].doc}.md`).toBeDefined();
      expect(canonical(committed ?? '')).toContain(`## ${SECTIONS[id].title}`);
    }
  });
});
