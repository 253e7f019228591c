/**
 * The public surface of '@cti/connector-sdk', pinned: a name added to src/index.ts (or dropped from it) fails
 * here until this list says so, so the surface only grows on purpose. Values are checked on the loaded module
 * as well, so that an `export *` cannot widen it unnoticed; types are read from the entry's source.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import * as sdk from './index.js';

const VALUES = [
  'AUTHOR_CREATED',
  'packageVersion',
  'assembleBundle',
  'ATTACHABLE_MIME_TYPES',
  'attachFile',
  'AttachmentError',
  'attackPatternId',
  'buildAttackPattern',
  'buildAuthor',
  'buildIdentity',
  'buildIncident',
  'buildIndicator',
  'buildLocation',
  'buildNote',
  'buildObservable',
  'buildRelationship',
  'buildReport',
  'buildSighting',
  'buildVulnerability',
  'BundleError',
  'bundleIdFor',
  'ConfigError',
  'createHttpClient',
  'createHttpClientWith',
  'credentialsRejected',
  'CtiError',
  'DEFAULT_MAX_FILE_BYTES',
  'defaultHttpRuntime',
  'defineEnrichment',
  'defineImport',
  'dryRunEntity',
  'DurationError',
  'env',
  'externalReferenceId',
  'generateId',
  'identityId',
  'incidentId',
  'indicatorId',
  'InputError',
  'isObservableType',
  'killChainPhaseId',
  'labelId',
  'loadConfig',
  'locationId',
  'LONGEST_VENDOR_WAIT_MS',
  'malwareId',
  'markingDefinitionId',
  'MAX_DURATION_SECONDS',
  'maxTlpAllows',
  'noteId',
  'observableId',
  'OPENCTI_SCO_EXTENSION',
  'OPENCTI_SDO_EXTENSION',
  'parseDurationSeconds',
  'parseTlp',
  'RateLimitError',
  'redactString',
  'redactUrl',
  'registerSecret',
  'relationshipId',
  'reportId',
  'runConnector',
  'SDK_VERSION',
  'shapeOf',
  'sightingId',
  'silentLogger',
  'sleep',
  'splitBundle',
  'threatActorId',
  'TLP_LEVELS',
  'TLP_MARKING_IDS',
  'tlpMarkingDefinition',
  'tlpOfMarkingId',
  'tlpRank',
  'toEnrichmentEntity',
  'toStixTimestamp',
  'updateObservable',
  'UpstreamApiError',
  'validateBundle',
  'vulnerabilityId',
  'z',
];

const TYPES = [
  'AcceptingRequest',
  'AcceptingRequestOptions',
  'AssembleBundleInput',
  'AttachFileOptions',
  'AttachmentProblem',
  'AttackPattern',
  'AttackPatternInput',
  'AuthorExtra',
  'AutonomousSystem',
  'BaseConfig',
  'ConfigIssue',
  'ConfigOf',
  'ConfigShape',
  'ConnectorConfig',
  'ConnectorDefinition',
  'CoreInput',
  'CtiErrorOptions',
  'Directory',
  'DomainName',
  'EmailAddr',
  'EnrichContext',
  'EnrichmentDefinition',
  'EnrichmentEntity',
  'EnrichResult',
  'Env',
  'ExternalReference',
  'FileAttachment',
  'Hostname',
  'HttpAcceptedResponse',
  'HttpAuth',
  'HttpClient',
  'HttpClientOptions',
  'HttpLogger',
  'HttpRequest',
  'HttpRequestOptions',
  'HttpResponse',
  'HttpRuntime',
  'IdDate',
  'Identity',
  'IdentityInput',
  'ImportContext',
  'ImportDefinition',
  'ImportItem',
  'Incident',
  'IncidentInput',
  'Indicator',
  'IndicatorInput',
  'Ipv4Addr',
  'Ipv6Addr',
  'KillChainPhase',
  'Location',
  'LocationInput',
  'LocationType',
  'Logger',
  'MacAddr',
  'MarkingDefinition',
  'Note',
  'NoteInput',
  'ObservableByType',
  'ObservableChanges',
  'ObservableCommon',
  'ObservableExtras',
  'ObservableInput',
  'ObservableType',
  'OpenCtiFile',
  'ProxyOptions',
  'QueryParams',
  'QueryValue',
  'RateLimit',
  'Relationship',
  'RelationshipInput',
  'Report',
  'ReportInput',
  'RetryOptions',
  'SetupContext',
  'Sighting',
  'SightingInput',
  'StixBundle',
  'StixContext',
  'StixCoreProperties',
  'StixFile',
  'StixObject',
  'TlpLevel',
  'UpstreamApiErrorDetails',
  'Url',
  'UserAccount',
  'UserAgent',
  'Vulnerability',
  'VulnerabilityInput',
];

const source = readFileSync(new URL('./index.ts', import.meta.url), 'utf8');

/** The names src/index.ts exports, split into values and types, read from its `export { … } from` lines. */
function declaredExports(text: string): { values: string[]; types: string[] } {
  const values: string[] = [];
  const types: string[] = [];
  for (const [, allTypes, list] of text.matchAll(/export\s+(type\s+)?\{([^}]*)\}/g)) {
    for (const raw of (list ?? '').split(',')) {
      const entry = raw.trim();
      if (entry === '') continue;
      const isType = allTypes !== undefined || entry.startsWith('type ');
      const name =
        entry
          .replace(/^type\s+/, '')
          .split(/\s+as\s+/)
          .pop() ?? entry;
      (isType ? types : values).push(name);
    }
  }
  return { values: values.sort(), types: types.sort() };
}

describe('the public surface of @cti/connector-sdk', () => {
  it('exports exactly the pinned values and types', () => {
    const declared = declaredExports(source);
    expect(declared.values).toEqual([...VALUES].sort());
    expect(declared.types).toEqual([...TYPES].sort());
  });

  it('the loaded module holds exactly the pinned values', () => {
    expect(Object.keys(sdk).sort()).toEqual([...VALUES].sort());
  });

  it('names every export: no `export *`, no declaration of its own', () => {
    const statements = source.match(/^export\b.*$/gm) ?? [];
    expect(statements.filter((s) => !/^export\s+(type\s+)?\{/.test(s))).toEqual([]);
  });
});
