/**
 * What OpenCTI's connector catalog and our docs say about each connector, derived from the connector's
 * own definition (connectors/<slug>/src/index.ts) so that none of it can drift from the code:
 *   connectors/<slug>/__metadata__/connector_manifest.json       the catalog entry (upstream's format)
 *   connectors/<slug>/__metadata__/connector_config_schema.json  its settings as JSON Schema, secrets writeOnly
 *   docs/configuration/<slug>.md                                 the configuration reference
 * `pnpm metadata` writes them; scripts/metadata.test.ts fails when a committed file differs.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import {
  baseConfig,
  type ConfigJsonSchema,
  type ConfigShape,
  type ConnectorDefinition,
  configJsonSchema,
  fieldMeta,
  shapeOf,
} from '@cti/connector-sdk';
import { REPO_ROOT, SEED_SETTINGS_PATH, SEEDS_DIR } from './paths.js';
import { readSeedSettings } from './seeds.js';

/** The platform versions the SDK is built for: it speaks pycti 6.8's protocol; older platforms are untested. */
export const SUPPORTED_PLATFORM = '>=6.8.0';

/** What the catalog needs and a definition does not say. Descriptions are ours; the rest follows upstream's entries. */
export interface CatalogFacts {
  description: string;
  shortDescription: string;
  useCases: readonly string[];
  solutionCategories: readonly string[];
  /** The vendor service's licence: 'Free' or 'Commercial'. */
  licenseType: 'Free' | 'Commercial';
  /** The highest confidence the vendor's data deserves (upstream's catalog value). */
  maxConfidenceLevel: number;
  subscriptionLink: string | null;
}

export const CATALOG_FACTS: Readonly<Record<string, CatalogFacts>> = {
  crowdsec: {
    description:
      'Enriches IPv4 and IPv6 observables with the CrowdSec CTI API: reputation, behaviours, attack scenarios, MITRE ATT&CK techniques, CVEs, targeted countries and sightings, with the same deterministic ids as the Python connector.',
    shortDescription: 'IP reputation and attack context from the CrowdSec CTI API.',
    useCases: ['Detection & Response Enablement'],
    solutionCategories: ['Enrichment & Reputation'],
    licenseType: 'Free',
    maxConfidenceLevel: 80,
    subscriptionLink: 'https://www.crowdsec.net/',
  },
  'team-cymru-scout': {
    description:
      "Enriches IPv4, IPv6 and domain-name observables with Team Cymru's Pure Signal Scout: the vendor's STIX 2.1 bundle, filtered and linked to the enriched observable, under a one-request-per-second budget.",
    shortDescription: 'IP and domain intelligence from Team Cymru Pure Signal Scout.',
    useCases: ['Infrastructure & Attack Surface Visibility'],
    solutionCategories: ['Enrichment & Reputation'],
    licenseType: 'Commercial',
    maxConfidenceLevel: 75,
    subscriptionLink: 'https://www.team-cymru.com/pure-signal-scout',
  },
  'urlscan-enrichment': {
    description:
      'Enriches URL and domain-name observables with the newest urlscan.io scan: verdicts, targeted brands and sectors, page and TLS details, resolved IPs and autonomous systems, as one bundle. It searches first and never publishes a scan by accident.',
    shortDescription: 'URL and domain scan results from urlscan.io.',
    useCases: ['Infrastructure & Attack Surface Visibility'],
    solutionCategories: ['Enrichment & Reputation'],
    licenseType: 'Free',
    maxConfidenceLevel: 60,
    subscriptionLink: 'https://urlscan.io',
  },
  spycloud: {
    description:
      'Imports SpyCloud breach records on a schedule as Incidents with their observables (accounts, e-mail addresses, URLs, IPs, files), streamed page by page, with state saved only once the bundles are confirmed.',
    shortDescription: 'Breach records from SpyCloud as Incidents and observables.',
    useCases: ['Brand, Digital Risk & Underground Exposure'],
    solutionCategories: ['Digital Risk Protection', 'Threat Intelligence Feed'],
    licenseType: 'Commercial',
    maxConfidenceLevel: 50,
    subscriptionLink: 'https://spycloud.com/',
  },
  teamt5: {
    description:
      'Imports Reports and Indicator Bundles from the TeamT5 ThreatVision platform on a schedule, with OAuth 2.0 client credentials, one item at a time, never freezing its cursor on a broken item.',
    shortDescription: 'Reports and indicator bundles from TeamT5 ThreatVision.',
    useCases: ['Adversary & Campaign Insights'],
    solutionCategories: ['Threat Intelligence Feed'],
    licenseType: 'Commercial',
    maxConfidenceLevel: 50,
    subscriptionLink: 'https://teamt5.org/',
  },
};

export interface ConnectorPackage {
  name: string;
  version: string;
  description?: string;
}

export interface LoadedConnector {
  slug: string;
  pkg: ConnectorPackage;
  definition: ConnectorDefinition;
}

export interface MissingConnector {
  slug: string;
  /** Why there is nothing to generate from. */
  missing: string;
}

/** Connector folders: connectors/<slug> with a package.json, sorted. */
export function connectorSlugs(root = REPO_ROOT): string[] {
  const dir = join(root, 'connectors');
  return readdirSync(dir, { withFileTypes: true })
    .filter((e) => e.isDirectory() && existsSync(join(dir, e.name, 'package.json')))
    .map((e) => e.name)
    .sort();
}

/** The connector's definition, or why there is none (a placeholder index.ts, a wrong slug). */
export async function loadConnector(slug: string, root = REPO_ROOT): Promise<LoadedConnector | MissingConnector> {
  const folder = join(root, 'connectors', slug);
  const pkg = JSON.parse(readFileSync(join(folder, 'package.json'), 'utf8')) as ConnectorPackage;
  const entry = join(folder, 'src', 'index.ts');
  if (!existsSync(entry)) return { slug, missing: `connectors/${slug}/src/index.ts does not exist` };
  const module = (await import(pathToFileURL(entry).href)) as { default?: unknown };
  const definition = module.default;
  if (!isDefinition(definition)) {
    return {
      slug,
      missing: `connectors/${slug}/src/index.ts has no default export made with defineEnrichment or defineImport (a placeholder)`,
    };
  }
  if (definition.slug !== slug) {
    return { slug, missing: `its definition says slug "${definition.slug}", but its folder is connectors/${slug}` };
  }
  return { slug, pkg, definition };
}

function isDefinition(value: unknown): value is ConnectorDefinition {
  if (value === null || typeof value !== 'object') return false;
  const v = value as Record<string, unknown>;
  return (
    (v.kind === 'enrichment' || v.kind === 'import') &&
    typeof v.slug === 'string' &&
    typeof v.name === 'string' &&
    typeof v.config === 'object' &&
    v.config !== null
  );
}

export function containerType(definition: ConnectorDefinition): 'INTERNAL_ENRICHMENT' | 'EXTERNAL_IMPORT' {
  return definition.kind === 'enrichment' ? 'INTERNAL_ENRICHMENT' : 'EXTERNAL_IMPORT';
}

export function imageName(slug: string): string {
  return `cti/connector-${slug}`;
}

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

function factsFor(slug: string): CatalogFacts {
  const facts = CATALOG_FACTS[slug];
  if (!facts) throw new Error(`scripts/catalog.ts has no CATALOG_FACTS entry for "${slug}": add one`);
  return facts;
}

/** The catalog entry, in upstream's `__metadata__/connector_manifest.json` format. */
export function connectorManifest({ slug, pkg, definition }: LoadedConnector): ConnectorManifest {
  const facts = factsFor(slug);
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

/** Every generated file of one connector: repository-relative path → content. */
export function generatedFiles(connector: LoadedConnector): Map<string, string> {
  const dir = `connectors/${connector.slug}/__metadata__`;
  return new Map([
    [`${dir}/connector_manifest.json`, stableJson(connectorManifest(connector))],
    [`${dir}/connector_config_schema.json`, stableJson(connectorConfigSchema(connector))],
    [`docs/configuration/${connector.slug}.md`, configurationDoc(connector)],
  ]);
}

/** docs/configuration/README.md: the index, listing connectors not yet available as such. */
export function configurationIndex(results: readonly (LoadedConnector | MissingConnector)[]): string {
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
  for (const r of results) {
    if ('missing' in r) {
      lines.push(`| ${r.slug} | not available yet | \`${imageName(r.slug)}\` | - |`);
      continue;
    }
    const kind = r.definition.kind === 'enrichment' ? 'internal enrichment' : 'external import';
    lines.push(`| ${r.definition.name} | ${kind} | \`${imageName(r.slug)}\` | [${r.slug}.md](${r.slug}.md) |`);
  }
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
  const results = await Promise.all(connectorSlugs(root).map((slug) => loadConnector(slug, root)));
  const files = new Map<string, string>();
  const connectors: LoadedConnector[] = [];
  const missing: MissingConnector[] = [];
  for (const result of results) {
    if ('missing' in result) {
      missing.push(result);
      continue;
    }
    connectors.push(result);
    for (const [path, content] of generatedFiles(result)) {
      if (!options.docsOnly || path.startsWith('docs/')) files.set(path, content);
    }
  }
  files.set('docs/configuration/README.md', configurationIndex(results));
  if (!options.docsOnly) {
    const seeds = readSeedSettings(SEEDS_DIR);
    if (seeds) files.set(SEED_SETTINGS_PATH, stableJson(seeds));
  }
  for (const [path, content] of files) files.set(path, formatLikeTheRepository(path, content));
  return { files, missing, connectors };
}

/**
 * Generated files are written as `pnpm format` would leave them, so `pnpm lint` accepts them as they are
 * and a formatting pass never makes them differ from the generator. The catalog's __metadata__ files are
 * outside Biome's scope (biome.json) and keep upstream's plain two-space JSON.
 */
function formatLikeTheRepository(path: string, content: string): string {
  if (path.includes('/__metadata__/')) return content;
  const biome = spawnSync(join(REPO_ROOT, 'node_modules', '.bin', 'biome'), ['format', `--stdin-file-path=${path}`], {
    cwd: REPO_ROOT,
    input: content,
    encoding: 'utf8',
    timeout: 60_000,
  });
  if (biome.status !== 0) throw new Error(`biome could not format ${path}: ${biome.stderr}`);
  return biome.stdout;
}
