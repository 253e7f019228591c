import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { imageName, publishing, publishingOf, sourceCodeUrl } from './publishing.js';

const pkg = (repository: unknown, bugs: unknown = 'https://github.com/acme/suite/issues') =>
  JSON.stringify({ name: 'x', repository, bugs });

describe('publishingOf, the root package.json setting every catalog entry and the images workflow follow', () => {
  it('reads the repository in the forms npm writes it, and derives the registry of its owner', () => {
    for (const url of [
      'https://github.com/Acme-Labs/cti.suite',
      'https://github.com/Acme-Labs/cti.suite.git',
      'git+https://github.com/Acme-Labs/cti.suite.git',
    ]) {
      expect(publishingOf(pkg({ type: 'git', url }))).toEqual({
        repository: 'https://github.com/Acme-Labs/cti.suite',
        branch: 'main',
        contact: 'https://github.com/acme/suite/issues',
        registry: 'ghcr.io/acme-labs',
      });
    }
    expect(publishingOf(pkg('https://github.com/acme/suite', { url: 'https://example.org/help' })).contact).toBe(
      'https://example.org/help',
    );
  });

  it('refuses what cannot name a GitHub repository, or a contact that is not https, naming the field', () => {
    for (const repository of [
      undefined,
      'acme/suite',
      'https://gitlab.com/acme/suite',
      'http://github.com/acme/suite',
      'https://github.com/acme',
      'https://github.com/-acme/suite',
      'https://github.com/ac--me/suite',
      'https://github.com/acme-/suite',
      'https://github.com/acme/suite/tree/main',
      { url: 42 },
    ]) {
      expect(() => publishingOf(pkg(repository)), JSON.stringify(repository)).toThrow(/package\.json: "repository"/);
    }
    for (const bugs of [null, 'mailto:help@example.org', { url: 'http://example.org' }, 'https://a b']) {
      expect(() => publishingOf(pkg('https://github.com/acme/suite', bugs)), String(bugs)).toThrow(
        /package\.json: "bugs"/,
      );
    }
  });

  it('gives lowercase image names under ghcr.io for any owner and repository GitHub allows', () => {
    const alnum = fc.constantFrom(...'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789');
    // GitHub's rule: letters and digits, single hyphens between them, at most 39 characters.
    const owner = fc
      .array(fc.string({ unit: alnum, minLength: 1, maxLength: 8 }), { minLength: 1, maxLength: 5 })
      .map((words) => words.join('-'))
      .filter((o) => o.length <= 39);
    const name = fc.string({ unit: fc.oneof(alnum, fc.constantFrom('.', '_', '-')), minLength: 1, maxLength: 40 });
    fc.assert(
      fc.property(
        owner,
        name.filter((n) => !n.endsWith('.git') && n !== '.' && n !== '..'),
        (o, n) => {
          const where = publishingOf(pkg(`git+https://github.com/${o}/${n}.git`));
          expect(where.repository).toBe(`https://github.com/${o}/${n}`);
          expect(imageName('crowdsec', where)).toBe(`ghcr.io/${o.toLowerCase()}/connector-crowdsec`);
          // Filigran's schema's pattern for image_name.
          expect(imageName('crowdsec', where)).toMatch(/^[a-z0-9]+(?:[._/-][a-z0-9]+)*$/);
          expect(sourceCodeUrl('crowdsec', where)).toBe(`https://github.com/${o}/${n}/tree/main/connectors/crowdsec`);
        },
      ),
    );
  });

  it("is this repository's: ghcr.io/cti, the project's issue tracker", () => {
    expect(publishing()).toMatchObject({
      registry: 'ghcr.io/cti',
      repository: 'https://github.com/cti/cti-connector-suite',
    });
  });
});
