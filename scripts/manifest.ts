/**
 * A connector's entry in OpenCTI's connector catalog, in the three forms Filigran's tooling reads
 * (reference/catalog/README.md):
 *   the manifest, `__metadata__/connector_manifest.json`, beside its config schema and logo.png;
 *   the manifest fragment, the forward-looking release artefact: the manifest with its config schema and
 *     logo embedded, checked against Filigran's JSON schema (reference/catalog/connector_manifest_schema.json);
 *   the catalog file, `manifest.json` at the repository root: every connector's manifest with its logo and
 *     config schema embedded, as upstream's root manifest.json; what an admin gives OpenCTI to deploy them.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  type ConfigJsonSchema,
  type ConnectorDefinition,
  type ConnectorType,
  configJsonSchema,
  shapeOf,
} from '@cti/connector-sdk/internal';
import type { LoadedConnector } from './folder.js';
import { imageName, type Publishing, publishing, sourceCodeUrl } from './publishing.js';

/** The platform versions the SDK is built for: it speaks pycti 6.8's protocol; older platforms are untested. */
export const SUPPORTED_PLATFORM = '>=6.8.0';

export interface ConnectorManifest {
  title: string;
  slug: string;
  description: string;
  short_description: string;
  /** The logo's path in the repository. */
  logo: string;
  use_cases: string[];
  solution_categories: string[];
  license_type: string;
  contact: string;
  verified: boolean;
  last_verified_date: null;
  playbook_supported: boolean;
  max_confidence_level: number;
  support_version: string;
  subscription_link: string | null;
  source_code: string;
  manager_supported: boolean;
  container_version: string;
  container_image: string;
  container_type: ConnectorType;
}

export function containerType(definition: ConnectorDefinition): 'INTERNAL_ENRICHMENT' | 'EXTERNAL_IMPORT' {
  return definition.kind === 'enrichment' ? 'INTERNAL_ENRICHMENT' : 'EXTERNAL_IMPORT';
}

/** Where pnpm metadata writes a connector's logo, and the manifest points. */
export const logoPath = (slug: string) => `connectors/${slug}/__metadata__/logo.png`;

/** The catalog entry, in upstream's `__metadata__/connector_manifest.json` format. */
export function connectorManifest(
  { slug, pkg, definition, catalog: facts }: LoadedConnector,
  where: Publishing = publishing(),
): ConnectorManifest {
  return {
    title: definition.name,
    slug,
    description: facts.description,
    short_description: facts.shortDescription,
    logo: logoPath(slug),
    use_cases: [...facts.useCases],
    solution_categories: [...facts.solutionCategories],
    license_type: facts.licenseType,
    contact: where.contact,
    // Verification is Filigran's process; no port has been through it.
    verified: false,
    last_verified_date: null,
    playbook_supported: definition.kind === 'enrichment' && definition.playbookCompatible === true,
    max_confidence_level: facts.maxConfidenceLevel,
    support_version: SUPPORTED_PLATFORM,
    subscription_link: facts.subscriptionLink,
    source_code: sourceCodeUrl(slug, where),
    // XTM Composer runs the image with its settings in the environment, watches the container and stops it with
    // SIGTERM: what the SDK does for every connector (docs/operations.md, "Deploy from OpenCTI's catalog"), and
    // what packages/testkit/test/suites/managed-deployment.test.ts checks of each.
    manager_supported: true,
    // The platform deploys <container_image>:<container_version>: the release this manifest describes.
    container_version: pkg.version,
    container_image: imageName(slug, where),
    container_type: containerType(definition),
  };
}

export function connectorConfigSchema({ slug, definition }: LoadedConnector): ConfigJsonSchema {
  return configJsonSchema(shapeOf(definition), slug, containerType(definition));
}

/** A PNG as the data URL the catalog embeds. */
export function pngDataUrl(png: Buffer): string {
  return `data:image/png;base64,${png.toString('base64')}`;
}

/** ">= 6.8.0" → "6.8.0": the first version in a constraint, as Filigran's fragment builder reads it. */
export function minVersion(supportVersion: string): string {
  return /[0-9]+\.[0-9]+(?:\.[0-9]+)?/.exec(supportVersion)?.[0] ?? '';
}

/** The manifest fragment (Filigran's schema): the manifest's descriptive keys, and the rest mapped. */
export type ManifestFragment = Pick<
  ConnectorManifest,
  | 'title'
  | 'slug'
  | 'description'
  | 'short_description'
  | 'use_cases'
  | 'solution_categories'
  | 'license_type'
  | 'contact'
  | 'verified'
  | 'source_code'
  | 'manager_supported'
> & {
  id: string;
  /** The logo as a data URL. */
  logo: string;
  last_verified_date: string | null;
  subscription_link: string;
  min_version: string;
  version: string;
  image_name: string;
  image_type: string;
  platform: 'OpenCTI';
  integration_type: 'connector';
  additional_properties: { playbook_supported: boolean; max_confidence_level: number };
  config_schema: ConfigJsonSchema;
};

/**
 * The manifest fragment of one release of a connector, mapped field by field as Filigran's builder does: the
 * slug and version make the id, the support constraint the minimum version, the image and its type are renamed,
 * the playbook and confidence facts move under additional_properties, an absent contact or subscription link
 * becomes "", and the config schema and the logo are embedded.
 */
export function manifestFragment(
  manifest: ConnectorManifest,
  configSchema: ConfigJsonSchema,
  logo: Buffer,
  version: string,
): ManifestFragment {
  return {
    id: `${manifest.slug}-${version}`,
    title: manifest.title,
    slug: manifest.slug,
    description: manifest.description,
    short_description: manifest.short_description,
    logo: pngDataUrl(logo),
    use_cases: manifest.use_cases,
    solution_categories: manifest.solution_categories,
    license_type: manifest.license_type,
    contact: manifest.contact,
    verified: manifest.verified,
    last_verified_date: manifest.last_verified_date,
    subscription_link: manifest.subscription_link ?? '',
    source_code: manifest.source_code,
    manager_supported: manifest.manager_supported,
    min_version: minVersion(manifest.support_version),
    version,
    image_name: manifest.container_image,
    image_type: manifest.container_type,
    platform: 'OpenCTI',
    integration_type: 'connector',
    additional_properties: {
      playbook_supported: manifest.playbook_supported,
      max_confidence_level: manifest.max_confidence_level,
    },
    config_schema: configSchema,
  };
}

/** The keys of every upstream manifest, in upstream's order. */
export const MANIFEST_KEYS = [
  'title',
  'slug',
  'description',
  'short_description',
  'logo',
  'use_cases',
  'solution_categories',
  'license_type',
  'contact',
  'verified',
  'last_verified_date',
  'playbook_supported',
  'max_confidence_level',
  'support_version',
  'subscription_link',
  'source_code',
  'manager_supported',
  'container_version',
  'container_image',
  'container_type',
] as const satisfies ReadonlyArray<keyof ConnectorManifest>;

/**
 * The fragment of a connector folder's committed catalog files, as Filigran's builder makes it from the folder:
 * `__metadata__/connector_manifest.json`, `connector_config_schema.json` and `logo.png`.
 *
 * @throws Error naming the file and the key a manifest lacks (upstream's builder stops on the first one).
 */
export function fragmentOfFolder(dir: string, version: string): ManifestFragment {
  const metadata = join(dir, '__metadata__');
  const manifest = JSON.parse(readFileSync(join(metadata, 'connector_manifest.json'), 'utf8')) as ConnectorManifest;
  const lacking = MANIFEST_KEYS.filter((key) => !Object.hasOwn(manifest, key));
  if (lacking.length > 0) {
    throw new Error(`${join(metadata, 'connector_manifest.json')} has no ${lacking.join(', ')}`);
  }
  const schema = JSON.parse(readFileSync(join(metadata, 'connector_config_schema.json'), 'utf8')) as ConfigJsonSchema;
  return manifestFragment(manifest, schema, readFileSync(join(metadata, 'logo.png')), version);
}

/** One connector's contract in the catalog file: its manifest, the logo as a data URL, its config schema. */
export type CatalogContract = Omit<ConnectorManifest, 'logo'> & { logo: string; config_schema: ConfigJsonSchema };

export interface SuiteCatalog {
  id: string;
  name: string;
  description: string;
  version: string;
  contracts: CatalogContract[];
}

/** The id OpenCTI files this catalog under (its own is Filigran's); a managed connector refers to it. */
export const CATALOG_ID = 'cti-connector-suite';

/**
 * `manifest.json`: the catalog an admin adds to OpenCTI (APP__CUSTOM_CATALOGS), in the format of upstream's
 * root manifest.json. Its version is the release every image of it carries: one tag publishes them all.
 */
export function suiteCatalog(
  entries: ReadonlyArray<{ manifest: ConnectorManifest; configSchema: ConfigJsonSchema; logo: Buffer }>,
): SuiteCatalog {
  const versions = [...new Set(entries.map((e) => e.manifest.container_version))];
  if (versions.length > 1) {
    throw new Error(
      `the connectors carry different versions (${versions.join(', ')}): one release tag publishes every image, give their package.json one version`,
    );
  }
  return {
    id: CATALOG_ID,
    name: 'CTI connector suite',
    description:
      'OpenCTI connectors in TypeScript on one SDK: deterministic ids identical to the Python connectors, the same settings, lighter images.',
    version: versions[0] ?? '0.0.0',
    contracts: entries.map((e) => ({ ...e.manifest, logo: pngDataUrl(e.logo), config_schema: e.configSchema })),
  };
}
