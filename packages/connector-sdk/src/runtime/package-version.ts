/**
 * A connector's version, read from its package.json: the same number its manifest's `container_version`
 * carries and its image is built from. `moduleUrl` is the definition's `import.meta.url`: from `src/` in
 * development and tests, from `dist/` in the image, the package.json is one folder up.
 */
import { readFileSync } from 'node:fs';

export function packageVersion(moduleUrl: string | URL): string | undefined {
  try {
    const pkg: unknown = JSON.parse(readFileSync(new URL('../package.json', moduleUrl), 'utf8'));
    const version = (pkg as { version?: unknown } | null)?.version;
    return typeof version === 'string' ? version : undefined;
  } catch {
    // No package.json next to the code (a bundled or copied definition): no version to report.
    return undefined;
  }
}
