/** Every relative link in docs/ points at a file or folder of the repository (README.md is the lead's). */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from './paths.js';

function markdownFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return markdownFiles(path);
    return name.endsWith('.md') ? [path] : [];
  });
}

const pages = markdownFiles(join(REPO_ROOT, 'docs'));

describe.each(pages.map((p) => relative(REPO_ROOT, p)))('%s', (page) => {
  it('has no broken relative link', () => {
    const text = readFileSync(join(REPO_ROOT, page), 'utf8').replace(/^```[\s\S]*?^```$/gm, '');
    const broken: string[] = [];
    for (const match of text.matchAll(/\]\(([^)\s]+)\)/g)) {
      const target = match[1] ?? '';
      if (/^(https?:|mailto:|#)/.test(target)) continue;
      const path = join(dirname(join(REPO_ROOT, page)), decodeURIComponent(target.split('#')[0] ?? ''));
      if (!existsSync(path)) broken.push(target);
    }
    expect(broken).toEqual([]);
  });
});
