/** What `--help` and `--version` print, and the usage shown under a command-line error. */
import { type ConfigShape, fieldMeta, yamlKeys } from '../config/index.js';
import { SDK_VERSION } from '../version.js';
import type { ConnectorDefinition } from './define.js';
import { shapeOf } from './settings.js';

type Described = Pick<ConnectorDefinition, 'name' | 'kind' | 'cli'>;

/** The commands the connector's main.js takes. */
export function usage(definition: Described): string {
  const lines = [
    `${definition.name} connector (${definition.kind === 'enrichment' ? 'internal enrichment' : 'external import'})`,
    '',
    'Usage:',
    '  node dist/main.js                  run the connector (settings from the environment, .env, config.yml)',
  ];
  if (definition.kind === 'enrichment') {
    lines.push('  node dist/main.js enrich <value> [--type <OpenCTI type>] [--tlp <TLP>]');
    lines.push('                                     print the enrichment bundle; needs no OpenCTI');
  } else {
    lines.push("  node dist/main.js import --dry-run [--state '<json>']");
    lines.push("                                     print one run's bundles as NDJSON; saves no state");
  }
  lines.push('  node dist/main.js --help | --version');
  if (definition.cli?.help) lines.push('', definition.cli.help);
  return `${lines.join('\n')}\n`;
}

/** `--help`: the usage, then every setting with its default, aliases and whether it is a secret. */
export function helpText(definition: Described & Pick<ConnectorDefinition, 'scope' | 'config'>): string {
  return `${usage(definition)}\n${settingsHelp(shapeOf(definition))}`;
}

/** `--version`: the connector's version and the SDK's. */
export function versionText(definition: Pick<ConnectorDefinition, 'slug' | 'version'>): string {
  return `${definition.slug} ${definition.version ?? SDK_VERSION} (cti-connector-sdk ${SDK_VERSION})\n`;
}

function settingsHelp(shape: ConfigShape): string {
  const lines = ['Settings (environment variables, which win over their config.yml keys):'];
  for (const [name, schema] of Object.entries(shape)) {
    const meta = fieldMeta(schema);
    const keys = yamlKeys(name, schema);
    const bits = [
      meta.secret ? 'secret' : null,
      meta.defaultText !== undefined && meta.defaultText !== '' ? `default ${meta.defaultText}` : null,
      meta.aliases?.length ? `also ${meta.aliases.join(', ')}` : null,
      keys.length ? `config.yml ${keys.join(', ')}` : null,
    ].filter(Boolean);
    lines.push(
      `  ${name}${bits.length ? ` (${bits.join('; ')})` : ''}${meta.description ? `: ${meta.description}` : ''}`,
    );
  }
  return `${lines.join('\n')}\n`;
}
