/**
 * The repository files that list the connectors, written from the connector folders by `pnpm metadata`: the
 * root tsconfig.json references, the matrix of the images workflow, and the README's table. Only the
 * generated part of a hand-written file is replaced; the rest is kept as it is.
 */
import type { LoadedConnector } from './folder.js';
import { imageName, type Publishing } from './publishing.js';

/** tsconfig.json: the packages, then every connector, for `tsc -b`. */
export function rootTsconfig(connectors: readonly LoadedConnector[]): string {
  const paths = ['packages/connector-sdk', 'packages/testkit', ...connectors.map((c) => `connectors/${c.slug}`)];
  return `${JSON.stringify({ files: [], references: paths.map((path) => ({ path })) }, null, 2)}\n`;
}

const MATRIX_LINE = /^(\s+connector: )\[[^\]\n]*\](.*)$/m;
const IMAGE_LINE = /^(\s+IMAGE: ).*$/m;
const REGISTRY_LINE = /^(\s+registry: ).*$/m;

/**
 * .github/workflows/images.yml with its matrix listing every connector, and the images pushed where the catalog
 * names them: IMAGE is `imageName` with the matrix's slug, and the login is to that registry's host.
 */
export function imagesWorkflow(current: string, connectors: readonly LoadedConnector[], where: Publishing): string {
  for (const [line, what] of [
    [MATRIX_LINE, '"connector: [...]" matrix line to write the connectors into'],
    [IMAGE_LINE, '"IMAGE:" line to write the image name into'],
    [REGISTRY_LINE, 'docker/login-action "registry:" line to write the registry into'],
  ] as const) {
    if (!line.test(current)) throw new Error(`.github/workflows/images.yml: no ${what}`);
  }
  // biome-ignore lint/suspicious/noTemplateCurlyInString: a GitHub Actions expression, written as it is
  const image = imageName('${{ matrix.connector }}', where);
  return current
    .replace(
      MATRIX_LINE,
      (_all, head: string, tail: string) => `${head}[${connectors.map((c) => c.slug).join(', ')}]${tail}`,
    )
    .replace(IMAGE_LINE, (_all, head: string) => `${head}${image}`)
    .replace(REGISTRY_LINE, (_all, head: string) => `${head}${where.registry.split('/')[0]}`);
}

const BEGIN = '<!-- BEGIN GENERATED connectors (pnpm metadata, from connectors/<slug>) -->';
const END = '<!-- END GENERATED connectors -->';

/** README.md with its connector table written between the markers. */
export function readmeWithTable(current: string, connectors: readonly LoadedConnector[]): string {
  const from = current.indexOf(BEGIN);
  const to = current.indexOf(END);
  if (from < 0 || to < from)
    throw new Error(`README.md: the connector table's markers are missing (${BEGIN} ... ${END})`);
  const rows = connectors.map((c) => {
    const what = c.catalog.shortDescription.replace(/\.$/, '').replace(/\|/g, '\\|');
    const kind = c.definition.kind === 'enrichment' ? 'enrichment' : 'import';
    return `| [${c.definition.name}](connectors/${c.slug}) | ${kind} | ${what} | [configuration](docs/configuration/${c.slug}.md) |`;
  });
  const table = ['| connector | kind | what it does | settings |', '| --- | --- | --- | --- |', ...rows];
  return `${current.slice(0, from)}${[BEGIN, '', ...table, '', END].join('\n')}${current.slice(to + END.length)}`;
}
