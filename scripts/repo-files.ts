/**
 * The repository files that list the connectors, written from the connector folders by `pnpm metadata`: the
 * root tsconfig.json references, the matrix of the images workflow, and the README's table. Only the
 * generated part of a hand-written file is replaced; the rest is kept as it is.
 */
import type { LoadedConnector } from './folder.js';

/** tsconfig.json: the packages, then every connector, for `tsc -b`. */
export function rootTsconfig(connectors: readonly LoadedConnector[]): string {
  const paths = ['packages/connector-sdk', 'packages/testkit', ...connectors.map((c) => `connectors/${c.slug}`)];
  return `${JSON.stringify({ files: [], references: paths.map((path) => ({ path })) }, null, 2)}\n`;
}

const MATRIX_LINE = /^(\s+connector: )\[[^\]\n]*\](.*)$/m;

/** .github/workflows/images.yml with its matrix listing every connector. */
export function imagesWorkflow(current: string, connectors: readonly LoadedConnector[]): string {
  if (!MATRIX_LINE.test(current)) {
    throw new Error('.github/workflows/images.yml: no "connector: [...]" matrix line to write the connectors into');
  }
  return current.replace(MATRIX_LINE, (_all, head: string, tail: string) => {
    return `${head}[${connectors.map((c) => c.slug).join(', ')}]${tail}`;
  });
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
