/**
 * A connector is one folder, `connectors/<slug>/`, and everything else about it is derived from the folder
 * (`pnpm metadata`) or discovered at run time (the cross-connector suites, the demo, the bench):
 *
 *   package.json, tsconfig.json   the workspace package, named @cti/connector-<slug>
 *   src/index.ts                  the definition (defineEnrichment / defineImport); src/main.ts runs it
 *   catalog.ts                    what OpenCTI's catalog says about it (defineCatalog, default export)
 *   logo.png                      its catalog logo, optional: one is drawn from the slug otherwise
 *   env-contract.json             for a port: the environment variables the original README documents
 *   test/conformance.ts           how the suites and the demo drive it (defineConformance, default export)
 *
 * This module reads those files and says what is wrong with one, naming the file and the field.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { basename, isAbsolute, join, relative } from 'node:path';
import { pathToFileURL } from 'node:url';
import { type ConfigShape, type ConnectorDefinition, envNames, shapeOf, z } from '@cti/connector-sdk/internal';
import { type CatalogFacts, catalogFactsSchema } from '@cti/connector-testkit';
import { folderLogo } from './logo.js';
import { REPO_ROOT } from './paths.js';

const ENV_NAME = /^[A-Z][A-Z0-9_]*$/;
const SLUG = /^[a-z][a-z0-9]*(-[a-z0-9]+)*$/;

/** One variable as the original README documents it, and how our compose file sets it. */
const documentedSettingSchema = z.strictObject({
  name: z.string().regex(ENV_NAME, 'an environment variable name (A-Z, 0-9, _)'),
  /** The README's example value (quotes and trailing comments removed), when an example block gives one. */
  example: z.string().optional(),
  /** The README's Default column, when a table gives one. */
  tableDefault: z.string().optional(),
  /** The compose file's value where the README gives none, or only a placeholder; secrets are ChangeMe. */
  value: z.string().optional(),
  /** A comment written above the variable in the compose file. */
  note: z.string().min(1).optional(),
});
export type DocumentedSetting = z.output<typeof documentedSettingSchema>;

/**
 * `connectors/<slug>/env-contract.json`: the variables the README of the Python connector it ports documents.
 * Admins copy them from their compose files, so the compose service sets exactly these, and the connector
 * reads every one. A new connector (not a port) has none: its compose service sets its required settings.
 */
export const envContractSchema = z
  .strictObject({
    /** Which README, at which version (repository, path, commit, date). */
    source: z.string().min(1),
    settings: z.array(documentedSettingSchema).min(1),
    /** Names the README lists that are not settings of the connector, each with the reason. */
    notSettings: z.record(z.string().regex(ENV_NAME), z.string().min(1)).optional(),
  })
  .superRefine((contract, ctx) => {
    const seen = new Set<string>();
    for (const [i, s] of contract.settings.entries()) {
      if (seen.has(s.name)) ctx.addIssue({ code: 'custom', path: ['settings', i, 'name'], message: `${s.name} twice` });
      seen.add(s.name);
    }
  });
export type EnvContract = z.output<typeof envContractSchema>;

export interface ConnectorPackage {
  name: string;
  version: string;
  description?: string;
}

export interface LoadedConnector {
  slug: string;
  /** Absolute path of connectors/<slug>. */
  dir: string;
  pkg: ConnectorPackage;
  definition: ConnectorDefinition;
  catalog: CatalogFacts;
  /** The folder's own logo.png (checked), or null: the catalog's is then drawn from the slug. */
  logo: Buffer | null;
  envContract: EnvContract | null;
}

export interface MissingConnector {
  slug: string;
  /** Why there is nothing to generate from, naming the file. */
  missing: string;
}

export const connectorsDir = (root = REPO_ROOT) => join(root, 'connectors');

/** Connector folders, connectors/<slug> with a package.json, sorted by name. */
export function connectorSlugs(root = REPO_ROOT): string[] {
  const dir = connectorsDir(root);
  return readdirSync(dir, { withFileTypes: true })
    .filter((e) => e.isDirectory() && existsSync(join(dir, e.name, 'package.json')))
    .map((e) => e.name)
    .sort();
}

/** Enrichments first, then imports, each by slug: the order of every generated list and suite. */
export function byKindThenSlug(a: LoadedConnector, b: LoadedConnector): number {
  if (a.definition.kind !== b.definition.kind) return a.definition.kind === 'enrichment' ? -1 : 1;
  return a.slug < b.slug ? -1 : a.slug > b.slug ? 1 : 0;
}

function problems(error: z.ZodError): string {
  return error.issues.map((i) => `${i.path.length > 0 ? i.path.join('.') : '(root)'}: ${i.message}`).join('; ');
}

async function defaultExport(file: string): Promise<unknown> {
  return ((await import(pathToFileURL(file).href)) as { default?: unknown }).default;
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

/** Every environment name a connector reads (documented names and aliases) → the setting it feeds. */
export function settingsByEnvName(shape: ConfigShape): Map<string, string> {
  return new Map(Object.entries(shape).flatMap(([key, schema]) => envNames(key, schema).map((n) => [n, key])));
}

/** The variables the contract names that the connector does not read (under a name or an alias). */
export function unreadContractNames(definition: ConnectorDefinition, contract: EnvContract): string[] {
  const read = settingsByEnvName(shapeOf(definition));
  return contract.settings.map((s) => s.name).filter((name) => !read.has(name));
}

interface UpstreamCatalogEntry {
  slug: string;
  container_type: string;
  container_image: string;
  folder: string;
}

/** OpenCTI's own catalog (reference/upstream-catalog-slugs.json): every upstream connector's slug, kind and image. */
export function upstreamCatalog(): UpstreamCatalogEntry[] {
  const file = join(REPO_ROOT, 'reference', 'upstream-catalog-slugs.json');
  return (JSON.parse(readFileSync(file, 'utf8')) as { connectors: UpstreamCatalogEntry[] }).connectors;
}

/**
 * Why a slug cannot be used for a connector of this kind: OpenCTI's catalog names connectors by slug, so ours
 * must not be the slug of an upstream connector of another kind (the same kind is the connector it replaces).
 */
export function slugClash(slug: string, kind: ConnectorDefinition['kind']): string | null {
  const type = kind === 'enrichment' ? 'INTERNAL_ENRICHMENT' : 'EXTERNAL_IMPORT';
  const other = upstreamCatalog().find((u) => u.slug === slug && u.container_type !== type);
  return other
    ? `the slug "${slug}" is upstream's ${other.container_type} connector ${other.folder} in OpenCTI's catalog; a ${type} connector needs another (e.g. "${slug}-${kind}")`
    : null;
}

/** connectors/<slug> of the repository at `root`, read with loadConnectorFolder. */
export function loadConnector(slug: string, root = REPO_ROOT): Promise<LoadedConnector | MissingConnector> {
  return loadConnectorFolder(join(connectorsDir(root), slug));
}

/**
 * Everything a connector folder says about the connector (its slug is the folder's name), or what is missing
 * or wrong, naming the file.
 */
export async function loadConnectorFolder(dir: string): Promise<LoadedConnector | MissingConnector> {
  const slug = basename(dir);
  const inRepo = relative(REPO_ROOT, dir);
  const where = inRepo.startsWith('..') || isAbsolute(inRepo) ? dir : inRepo;
  if (!SLUG.test(slug)) {
    return {
      slug,
      missing: `${where}: a slug is lowercase letters and digits in words joined by "-" (it names the package, the image and the compose service)`,
    };
  }
  const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as ConnectorPackage;
  if (pkg.name !== `@cti/connector-${slug}`) {
    return { slug, missing: `${where}/package.json is named "${pkg.name}"; name it "@cti/connector-${slug}"` };
  }
  const entry = join(dir, 'src', 'index.ts');
  if (!existsSync(entry)) return { slug, missing: `${where}/src/index.ts does not exist` };
  const definition = await defaultExport(entry);
  if (!isDefinition(definition)) {
    return {
      slug,
      missing: `${where}/src/index.ts has no default export made with defineEnrichment or defineImport (a placeholder)`,
    };
  }
  if (definition.slug !== slug) {
    return { slug, missing: `its definition says slug "${definition.slug}", but its folder is ${where}` };
  }
  const clash = slugClash(slug, definition.kind);
  if (clash) return { slug, missing: `${where}: ${clash}` };
  const catalogFile = join(dir, 'catalog.ts');
  if (!existsSync(catalogFile)) {
    return { slug, missing: `${where}/catalog.ts does not exist: add the connector's catalog facts (defineCatalog)` };
  }
  const catalog = catalogFactsSchema.safeParse(await defaultExport(catalogFile));
  if (!catalog.success) return { slug, missing: `${where}/catalog.ts: ${problems(catalog.error)}` };
  let logo: Buffer | null;
  try {
    logo = folderLogo(dir, where);
  } catch (err) {
    return { slug, missing: (err as Error).message };
  }
  let envContract: EnvContract | null = null;
  const contractFile = join(dir, 'env-contract.json');
  if (existsSync(contractFile)) {
    const parsed = envContractSchema.safeParse(JSON.parse(readFileSync(contractFile, 'utf8')));
    if (!parsed.success) return { slug, missing: `${where}/env-contract.json: ${problems(parsed.error)}` };
    const unread = unreadContractNames(definition, parsed.data);
    if (unread.length > 0) {
      return {
        slug,
        missing: `${where}/env-contract.json documents ${unread.join(', ')}, which the connector does not read: add them as settings or aliases, or list them under notSettings`,
      };
    }
    envContract = parsed.data;
  }
  return { slug, dir, pkg, definition, catalog: catalog.data, logo, envContract };
}

/** Every connector folder, loaded, in the order of the generated lists; and the folders that could not be. */
export async function loadConnectors(
  root = REPO_ROOT,
): Promise<{ connectors: LoadedConnector[]; missing: MissingConnector[] }> {
  const results = await Promise.all(connectorSlugs(root).map((slug) => loadConnector(slug, root)));
  return {
    connectors: results.filter((r): r is LoadedConnector => !('missing' in r)).sort(byKindThenSlug),
    missing: results.filter((r): r is MissingConnector => 'missing' in r),
  };
}

/** Loads every connector folder, failing with what is wrong with any of them. */
export async function requireConnectors(root = REPO_ROOT): Promise<LoadedConnector[]> {
  const { connectors, missing } = await loadConnectors(root);
  if (missing.length > 0) throw new Error(missing.map((m) => `${m.slug}: ${m.missing}`).join('\n'));
  return connectors;
}
