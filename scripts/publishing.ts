/**
 * Where the suite is published, from one setting: the root package.json's `repository` (a GitHub repository)
 * and `bugs`. The catalog names the source of each connector in that repository, the images are published
 * to the GitHub container registry of its owner (`ghcr.io/<owner>/connector-<slug>`, which the images
 * workflow can push to with the repository's own token), and the contact is the issue tracker. A fork changes
 * `repository` and `bugs`, runs `pnpm metadata`, and every manifest, the catalog and the workflow follow.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from './paths.js';

export interface Publishing {
  /** https://github.com/<owner>/<name> */
  repository: string;
  /** The branch the catalog's source links point into. */
  branch: string;
  /** Where users ask for help: the catalog's `contact`. */
  contact: string;
  /** ghcr.io/<owner>: the images are <registry>/connector-<slug>. */
  registry: string;
}

/** A GitHub owner (letters, digits, single inner hyphens, at most 39) and repository name, as npm writes the URL. */
const GITHUB =
  /^(?:git\+)?https:\/\/github\.com\/([A-Za-z0-9](?:[A-Za-z0-9]|-(?=[A-Za-z0-9])){0,38})\/([A-Za-z0-9._-]+?)(?:\.git)?$/;

/** Publishing facts from a root package.json's text; throws naming the field that is missing or unusable. */
export function publishingOf(packageJson: string): Publishing {
  const pkg = JSON.parse(packageJson) as { repository?: { url?: unknown } | string; bugs?: { url?: unknown } | string };
  const url = typeof pkg.repository === 'string' ? pkg.repository : pkg.repository?.url;
  const match = typeof url === 'string' ? GITHUB.exec(url) : null;
  if (!match) {
    throw new Error(
      'package.json: "repository" must be the GitHub repository the suite is published from (https://github.com/<owner>/<name>)',
    );
  }
  const [, owner = '', name = ''] = match;
  const bugs = typeof pkg.bugs === 'string' ? pkg.bugs : pkg.bugs?.url;
  if (typeof bugs !== 'string' || !/^https:\/\/\S+$/.test(bugs)) {
    throw new Error('package.json: "bugs" must be the https:// URL where users ask for help (the catalog\'s contact)');
  }
  return {
    repository: `https://github.com/${owner}/${name}`,
    branch: 'main',
    contact: bugs,
    // Container image names are lowercase; GitHub owners are not always.
    registry: `ghcr.io/${owner.toLowerCase()}`,
  };
}

/** The publishing facts of this repository. */
export function publishing(root = REPO_ROOT): Publishing {
  return publishingOf(readFileSync(join(root, 'package.json'), 'utf8'));
}

/** The image a connector is published as, without a tag (docker/Dockerfile builds any folder with CONNECTOR=<slug>). */
export function imageName(slug: string, where: Publishing = publishing()): string {
  return `${where.registry}/connector-${slug}`;
}

/** The connector's folder in the repository, as the catalog's `source_code` links it. */
export function sourceCodeUrl(slug: string, where: Publishing = publishing()): string {
  return `${where.repository}/tree/${where.branch}/connectors/${slug}`;
}
