/**
 * The repository stands alone: a fresh clone has no sibling `shared/` folder, so nothing may point at one, and
 * the facts the code relies on are in reference/ (protocol-notes.md for the platform protocol). Every
 * `reference/protocol-notes.md#section` a comment cites must be a section of it.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from './paths.js';

const files = spawnSync('git', ['ls-files', '--cached', '--others', '--exclude-standard'], {
  cwd: REPO_ROOT,
  encoding: 'utf8',
})
  .stdout.split('\n')
  .filter((f) => f !== '' && /\.(ts|md|json|ya?ml|graphql|py|sh)$|^run$|Dockerfile$/.test(f))
  .filter((f) => !f.includes('/fixtures/') && !f.startsWith('bench/results/'));
const text = (f: string) => {
  try {
    return readFileSync(join(REPO_ROOT, f), 'utf8');
  } catch {
    return ''; // deleted in the working tree
  }
};

/** A working-notes citation that a clone cannot follow. */
const OUTSIDE = /\.\.\/shared\b|\/work\/|\b(protocol|connectors|platform|stack)\.md ?§|\bdesign\.md\b/;
const THIS_FILE = 'scripts/self-contained.test.ts';

/** GitHub's anchor of a Markdown heading. */
const anchorOf = (heading: string) =>
  heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s-]/gu, '')
    .replace(/\s/g, '-');

describe('the repository stands alone', () => {
  it('has no file that points at working notes outside it (../shared, protocol.md §…, design.md)', () => {
    const citing = files
      .filter((f) => f !== THIS_FILE)
      .flatMap((f) =>
        text(f)
          .split('\n')
          .map((line, i) => ({ f, i, line }))
          .filter(({ line }) => OUTSIDE.test(line))
          .map(({ f, i, line }) => `${f}:${i + 1}: ${line.trim().slice(0, 120)}`),
      );
    expect(citing).toEqual([]);
  });

  it('cites only sections reference/protocol-notes.md has', () => {
    const notes = text('reference/protocol-notes.md');
    const anchors = new Set([...notes.matchAll(/^#{1,3} (.+)$/gm)].map((m) => anchorOf(m[1] ?? '')));
    expect(anchors.size).toBeGreaterThan(10);
    const cited = files
      .filter((f) => f !== THIS_FILE)
      .flatMap((f) =>
        [...text(f).matchAll(/protocol-notes\.md#([a-z0-9-]+)/g)].map((m) => ({ f, anchor: m[1] ?? '' })),
      );
    expect(cited.length).toBeGreaterThan(10);
    expect(cited.filter((c) => !anchors.has(c.anchor)).map((c) => `${c.f}: #${c.anchor}`)).toEqual([]);
  });

  it('catches a citation of the working notes (the check can fail)', () => {
    expect(OUTSIDE.test('// as protocol.md §11.1 states it')).toBe(true);
    expect(OUTSIDE.test(' * the seeds in ../shared/seeds')).toBe(true);
    expect(OUTSIDE.test('(design.md "One enrichment")')).toBe(true);
    expect(OUTSIDE.test('see reference/protocol-notes.md#tlp')).toBe(false);
  });
});
