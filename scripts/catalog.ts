/**
 * Every file derived from the connector folders (scripts/folder.ts), so that none of it can drift from them:
 *   connectors/<slug>/tsconfig.json                              the same for every connector
 *   connectors/<slug>/__metadata__/connector_manifest.json       the catalog entry (upstream's format), from
 *                                                                the definition and the folder's catalog.ts
 *   connectors/<slug>/__metadata__/connector_config_schema.json  its settings as JSON Schema, secrets writeOnly
 *   docs/configuration/<slug>.md and README.md                   the configuration reference and its index
 *   docker/docker-compose.yml, docker-compose.attach.yml         one service per connector (compose-file.ts)
 *   tsconfig.json, .github/workflows/images.yml, README.md       the lists of connectors (repo-files.ts)
 * `pnpm metadata` writes them; scripts/metadata.test.ts fails when a committed file differs.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  baseConfig,
  type ConfigJsonSchema,
  type ConfigShape,
  configJsonSchema,
  fieldMeta,
  shapeOf,
} from '@cti/connector-sdk';
import { attachFile, composeFile } from './compose-file.js';
import { containerType, imageName, type LoadedConnector, loadConnectors, type MissingConnector } from './folder.js';
import { REPO_ROOT } from './paths.js';
import { imagesWorkflow, readmeWithTable, rootTsconfig } from './repo-files.js';

/** The platform versions the SDK is built for: it speaks pycti 6.8's protocol; older platforms are untested. */
export const SUPPORTED_PLATFORM = '>=6.8.0';

export interface ConnectorManifest {
  title: string;
  slug: string;
  description: string;
  short_description: string;
  use_cases: string[];
  solution_categories: string[];
  license_type: string;
  verified: boolean;
  last_verified_date: null;
  playbook_supported: boolean;
  max_confidence_level: number;
  support_version: string;
  subscription_link: string | null;
  manager_supported: boolean;
  container_version: string;
  container_image: string;
  container_type: string;
}

/** The catalog entry, in upstream's `__metadata__/connector_manifest.json` format. */
export function connectorManifest({ slug, pkg, definition, catalog: facts }: LoadedConnector): ConnectorManifest {
  return {
    title: definition.name,
    slug,
    description: facts.description,
    short_description: facts.shortDescription,
    use_cases: [...facts.useCases],
    solution_categories: [...facts.solutionCategories],
    license_type: facts.licenseType,
    // Verification is Filigran's process; no port has been through it.
    verified: false,
    last_verified_date: null,
    playbook_supported: definition.kind === 'enrichment' && definition.playbookCompatible === true,
    max_confidence_level: facts.maxConfidenceLevel,
    support_version: SUPPORTED_PLATFORM,
    subscription_link: facts.subscriptionLink,
    // Not tried with OpenCTI's connector manager (XTM Composer): the catalog must not claim it.
    manager_supported: false,
    container_version: pkg.version,
    container_image: imageName(slug),
    container_type: containerType(definition),
  };
}

export function connectorConfigSchema({ slug, definition }: LoadedConnector): ConfigJsonSchema {
  return configJsonSchema(shapeOf(definition), slug);
}

interface SettingRow {
  name: string;
  aliases: readonly string[];
  required: boolean;
  secret: boolean;
  defaultText: string | undefined;
  values: readonly string[] | undefined;
  description: string | undefined;
}

function settingRows(shape: ConfigShape, keys: readonly string[]): SettingRow[] {
  return keys.map((name) => {
    const schema = shape[name];
    if (!schema) throw new Error(`no setting ${name}`);
    const meta = fieldMeta(schema);
    const description = meta.description ?? (typeof schema.description === 'string' ? schema.description : undefined);
    return {
      name,
      aliases: meta.aliases ?? [],
      required: !schema.safeParse(undefined).success,
      secret: meta.secret === true,
      defaultText: meta.defaultText,
      values: meta.values,
      description,
    };
  });
}

function cell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

function renderTable(rows: readonly SettingRow[]): string[] {
  const lines = ['| Variable | Default | Description |', '| --- | --- | --- |'];
  for (const row of rows) {
    const name = [`\`${row.name}\``, ...row.aliases.map((a) => `(or \`${a}\`)`)].join(' ');
    const flags = [
      row.required
        ? '**required**'
        : row.defaultText === undefined
          ? 'unset'
          : row.defaultText === ''
            ? 'empty'
            : `\`${row.defaultText}\``,
      row.secret ? 'secret' : null,
    ].filter((f): f is string => f !== null);
    const allowed = row.values?.length ? ` One of: ${row.values.map((v) => `\`${v}\``).join(', ')}.` : '';
    const description = row.description && !/[.!?]$/.test(row.description) ? `${row.description}.` : row.description;
    lines.push(`| ${cell(name)} | ${cell(flags.join(', '))} | ${cell(`${description ?? ''}${allowed}`.trim())} |`);
  }
  return lines;
}

/** docs/configuration/<slug>.md: every setting, from the same shape the connector parses its environment with. */
export function configurationDoc({ slug, definition }: LoadedConnector): string {
  const shape = shapeOf(definition);
  const own = Object.keys(definition.config);
  const common = Object.keys(shape).filter((k) => !own.includes(k));
  const overridden = own.filter((k) => Object.hasOwn(baseConfig, k));
  const kind =
    definition.kind === 'enrichment'
      ? `an internal-enrichment connector (scope: ${definition.scope.map((s) => `\`${s}\``).join(', ')})`
      : 'an external-import connector (scheduled by `CONNECTOR_DURATION_PERIOD`)';
  const lines = [
    `# ${definition.name}: configuration`,
    '',
    `<!-- Generated by \`pnpm metadata\` from connectors/${slug}/src (the connector's zod settings). Do not edit: change the settings and regenerate. -->`,
    '',
    `${definition.name} is ${kind}. Image \`${imageName(slug)}\`; every setting is an environment variable ` +
      '(a `.env` file in the working directory is read too; the environment wins). A variable set to an empty ' +
      'string counts as unset. `node dist/main.js --help` prints the same list.',
    '',
    `See also: [the connector's README](../../connectors/${slug}/README.md), ` +
      `[its catalog schema](../../connectors/${slug}/__metadata__/connector_config_schema.json), ` +
      '[operations](../operations.md).',
    '',
    `## ${definition.name} settings`,
    '',
  ];
  if (overridden.length > 0) {
    lines.push(
      `These include common settings this connector redefines (another default, or extra names): ${overridden.map((k) => `\`${k}\``).join(', ')}.`,
      '',
    );
  }
  lines.push(...renderTable(settingRows(shape, own)));
  lines.push(
    '',
    '## Common settings',
    '',
    "The settings every connector of the suite reads, with pycti's names. Defaults shown are this connector's.",
    '',
    ...renderTable(settingRows(shape, common)),
    '',
  );
  return lines.join('\n');
}

export function stableJson(value: unknown): string {
  return `${JSON.stringify(value, null, 2)}\n`;
}

/** connectors/<slug>/tsconfig.json: the same for every connector (src compiled to dist, against the SDK). */
export function connectorTsconfig(): string {
  return stableJson({
    extends: '../../tsconfig.base.json',
    compilerOptions: { rootDir: 'src', outDir: 'dist', tsBuildInfoFile: 'dist/.tsbuildinfo' },
    include: ['src'],
    exclude: ['src/**/*.test.ts'],
    references: [{ path: '../../packages/connector-sdk' }],
  });
}

/** Every generated file of one connector: repository-relative path → content. */
export function generatedFiles(connector: LoadedConnector): Map<string, string> {
  const dir = `connectors/${connector.slug}/__metadata__`;
  return new Map([
    [`connectors/${connector.slug}/tsconfig.json`, connectorTsconfig()],
    [`${dir}/connector_manifest.json`, stableJson(connectorManifest(connector))],
    [`${dir}/connector_config_schema.json`, stableJson(connectorConfigSchema(connector))],
    [`docs/configuration/${connector.slug}.md`, configurationDoc(connector)],
  ]);
}

/** docs/configuration/README.md: the index, listing connectors not yet available as such. */
export function configurationIndex(
  connectors: readonly LoadedConnector[],
  missing: readonly MissingConnector[] = [],
): string {
  const lines = [
    '# Configuration reference',
    '',
    '<!-- Generated by `pnpm metadata`. Do not edit. -->',
    '',
    "One page per connector, generated from the connector's zod settings (the same shape it parses its",
    'environment with). The catalog files in each `connectors/<slug>/__metadata__/` come from the same source.',
    '',
    '| Connector | Kind | Image | Settings |',
    '| --- | --- | --- | --- |',
  ];
  for (const c of connectors) {
    const kind = c.definition.kind === 'enrichment' ? 'internal enrichment' : 'external import';
    lines.push(`| ${c.definition.name} | ${kind} | \`${imageName(c.slug)}\` | [${c.slug}.md](${c.slug}.md) |`);
  }
  for (const m of missing) lines.push(`| ${m.slug} | not available yet | \`${imageName(m.slug)}\` | - |`);
  lines.push('');
  return lines.join('\n');
}

export interface GenerationPlan {
  /** Repository-relative path → content. */
  files: Map<string, string>;
  missing: MissingConnector[];
  connectors: LoadedConnector[];
}

/** Everything `pnpm metadata` would write, without writing it. */
export async function planGeneration(options: { docsOnly?: boolean; root?: string } = {}): Promise<GenerationPlan> {
  const root = options.root ?? REPO_ROOT;
  const { connectors, missing } = await loadConnectors(root);
  const files = new Map<string, string>();
  for (const connector of connectors) {
    for (const [path, content] of generatedFiles(connector)) {
      if (!options.docsOnly || path.startsWith('docs/')) files.set(path, content);
    }
  }
  files.set('docs/configuration/README.md', configurationIndex(connectors, missing));
  if (!options.docsOnly) {
    const current = (path: string) => readFileSync(join(root, path), 'utf8');
    files.set('docker/docker-compose.yml', composeFile(connectors));
    files.set('docker/docker-compose.attach.yml', attachFile(connectors));
    files.set('tsconfig.json', rootTsconfig(connectors));
    files.set('.github/workflows/images.yml', imagesWorkflow(current('.github/workflows/images.yml'), connectors));
    files.set('README.md', readmeWithTable(current('README.md'), connectors));
  }
  for (const [path, content] of files) files.set(path, formatLikeTheRepository(path, content));
  return { files, missing, connectors };
}

/**
 * Generated files are written as `pnpm format` would leave them, so `pnpm lint` accepts them as they are
 * and a formatting pass never makes them differ from the generator. The catalog's __metadata__ files are
 * outside Biome's scope (biome.json) and keep upstream's plain two-space JSON; Biome does not format YAML.
 */
function formatLikeTheRepository(path: string, content: string): string {
  if (path.includes('/__metadata__/') || path.endsWith('.yml')) return content;
  const biome = spawnSync(join(REPO_ROOT, 'node_modules', '.bin', 'biome'), ['format', `--stdin-file-path=${path}`], {
    cwd: REPO_ROOT,
    input: content,
    encoding: 'utf8',
    timeout: 60_000,
  });
  if (biome.status !== 0) throw new Error(`biome could not format ${path}: ${biome.stderr}`);
  return biome.stdout;
}
