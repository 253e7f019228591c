/**
 * STIX 2.1 shapes for what the connectors emit, with the OpenCTI custom properties they use.
 * Optional where STIX or OpenCTI lets them be absent; not exhaustive (any `x_*` property is
 * allowed). Declared as type aliases so that every one is assignable to `StixObject`.
 */

/** Any STIX object: what bundles carry and the splitter reads. */
export type StixObject = {
  type: string;
  id: string;
  [property: string]: unknown;
};

/** Custom properties (`x_opencti_*`, vendor `x_*`) allowed on every object. */
type CustomProperties = { [property: `x_${string}`]: unknown };

export type ExternalReference = {
  source_name: string;
  description?: string;
  url?: string;
  external_id?: string;
  hashes?: Record<string, string>;
};

export type KillChainPhase = {
  kill_chain_name: string;
  phase_name: string;
};

/** Properties shared by SDOs and SROs. */
export type StixCoreProperties = CustomProperties & {
  type: string;
  spec_version: '2.1';
  id: string;
  /**
   * STIX requires `created`/`modified` on every SDO and SRO; the builders always set them (`buildAuthor`
   * to a fixed instant, so the author identity stays byte-stable).
   */
  created?: string;
  modified?: string;
  created_by_ref?: string;
  revoked?: boolean;
  labels?: string[];
  confidence?: number;
  lang?: string;
  external_references?: ExternalReference[];
  object_marking_refs?: string[];
};

export type Identity = StixCoreProperties & {
  type: 'identity';
  name: string;
  description?: string;
  roles?: string[];
  /** 'organization', 'individual', 'class' (OpenCTI sectors), 'system' … */
  identity_class?: string;
  sectors?: string[];
  contact_information?: string;
};

export type Indicator = StixCoreProperties & {
  type: 'indicator';
  name?: string;
  description?: string;
  indicator_types?: string[];
  pattern: string;
  pattern_type: string;
  pattern_version?: string;
  valid_from: string;
  valid_until?: string;
  kill_chain_phases?: KillChainPhase[];
  /** OpenCTI: the observable type the pattern describes ('IPv4-Addr', 'Url' …). */
  x_opencti_main_observable_type?: string;
  x_opencti_score?: number;
};

export type Relationship = StixCoreProperties & {
  type: 'relationship';
  relationship_type: string;
  description?: string;
  source_ref: string;
  target_ref: string;
  start_time?: string;
  stop_time?: string;
};

export type Sighting = StixCoreProperties & {
  type: 'sighting';
  description?: string;
  first_seen?: string;
  last_seen?: string;
  count?: number;
  sighting_of_ref: string;
  observed_data_refs?: string[];
  where_sighted_refs?: string[];
  summary?: boolean;
  /** OpenCTI: the real "sighting of" when it is an observable (STIX only allows SDOs there). */
  x_opencti_sighting_of_ref?: string;
};

export type Note = StixCoreProperties & {
  type: 'note';
  abstract?: string;
  content: string;
  authors?: string[];
  object_refs: string[];
  note_types?: string[];
};

export type Report = StixCoreProperties & {
  type: 'report';
  name: string;
  description?: string;
  report_types?: string[];
  published: string;
  object_refs: string[];
};

/** STIX 2.1's Incident is a stub; these are the properties OpenCTI reads. */
export type Incident = StixCoreProperties & {
  type: 'incident';
  name: string;
  description?: string;
  kill_chain_phases?: KillChainPhase[];
  first_seen?: string;
  last_seen?: string;
  objective?: string;
  incident_type?: string;
  severity?: string;
  source?: string;
};

export type LocationType = 'Country' | 'City' | 'Region' | 'Administrative-Area' | 'Position';

export type Location = StixCoreProperties & {
  type: 'location';
  name?: string;
  description?: string;
  latitude?: number;
  longitude?: number;
  precision?: number;
  region?: string;
  country?: string;
  administrative_area?: string;
  city?: string;
  street_address?: string;
  postal_code?: string;
  x_opencti_location_type?: LocationType;
  x_opencti_aliases?: string[];
};

export type Vulnerability = StixCoreProperties & {
  type: 'vulnerability';
  name: string;
  description?: string;
};

export type AttackPattern = StixCoreProperties & {
  type: 'attack-pattern';
  name: string;
  description?: string;
  aliases?: string[];
  kill_chain_phases?: KillChainPhase[];
  x_mitre_id?: string;
};

export type MarkingDefinition = CustomProperties & {
  type: 'marking-definition';
  spec_version: '2.1';
  id: string;
  created: string;
  created_by_ref?: string;
  name?: string;
  definition_type?: string;
  definition?: Record<string, unknown>;
  external_references?: ExternalReference[];
  object_marking_refs?: string[];
  /** OpenCTI: 'TLP', 'PAP' … when the STIX definition_type is 'statement'. */
  x_opencti_definition_type?: string;
  /** OpenCTI: 'TLP:AMBER+STRICT' … */
  x_opencti_definition?: string;
};

/**
 * Properties shared by observables. OpenCTI reads authorship, labels, description, score and
 * external references of an SCO from `x_opencti_*` properties (STIX gives SCOs none of these).
 */
export type ObservableCommon = CustomProperties & {
  type: string;
  spec_version?: '2.1';
  id: string;
  object_marking_refs?: string[];
  defanged?: boolean;
  extensions?: Record<string, unknown>;
  x_opencti_created_by_ref?: string;
  x_opencti_labels?: string[];
  x_opencti_description?: string;
  x_opencti_score?: number;
  x_opencti_external_references?: ExternalReference[];
};

export type Ipv4Addr = ObservableCommon & {
  type: 'ipv4-addr';
  value: string;
  resolves_to_refs?: string[];
  belongs_to_refs?: string[];
};

export type Ipv6Addr = ObservableCommon & {
  type: 'ipv6-addr';
  value: string;
  resolves_to_refs?: string[];
  belongs_to_refs?: string[];
};

export type DomainName = ObservableCommon & {
  type: 'domain-name';
  value: string;
  resolves_to_refs?: string[];
};

export type Url = ObservableCommon & {
  type: 'url';
  value: string;
};

export type EmailAddr = ObservableCommon & {
  type: 'email-addr';
  value: string;
  display_name?: string;
  belongs_to_ref?: string;
};

export type UserAccount = ObservableCommon & {
  type: 'user-account';
  user_id?: string;
  credential?: string;
  account_login?: string;
  account_type?: string;
  display_name?: string;
  is_service_account?: boolean;
  is_privileged?: boolean;
  can_escalate_privs?: boolean;
  is_disabled?: boolean;
  account_created?: string;
  account_expires?: string;
  credential_last_changed?: string;
  account_first_login?: string;
  account_last_login?: string;
};

export type MacAddr = ObservableCommon & {
  type: 'mac-addr';
  value: string;
};

/** OpenCTI custom observable. */
export type UserAgent = ObservableCommon & {
  type: 'user-agent';
  value: string;
};

/** OpenCTI custom observable. */
export type Hostname = ObservableCommon & {
  type: 'hostname';
  value: string;
};

export type StixFile = ObservableCommon & {
  type: 'file';
  hashes?: Record<string, string>;
  size?: number;
  name?: string;
  name_enc?: string;
  magic_number_hex?: string;
  mime_type?: string;
  ctime?: string;
  mtime?: string;
  atime?: string;
  parent_directory_ref?: string;
  contains_refs?: string[];
  content_ref?: string;
};

export type Directory = ObservableCommon & {
  type: 'directory';
  path: string;
  path_enc?: string;
  ctime?: string;
  mtime?: string;
  atime?: string;
  contains_refs?: string[];
};

export type AutonomousSystem = ObservableCommon & {
  type: 'autonomous-system';
  number: number;
  name?: string;
  rir?: string;
};

/** The observables with a dedicated type here, by STIX type. */
export type ObservableByType = {
  'ipv4-addr': Ipv4Addr;
  'ipv6-addr': Ipv6Addr;
  'domain-name': DomainName;
  url: Url;
  'email-addr': EmailAddr;
  'user-account': UserAccount;
  'mac-addr': MacAddr;
  'user-agent': UserAgent;
  file: StixFile;
  directory: Directory;
  'autonomous-system': AutonomousSystem;
  hostname: Hostname;
};

export type ObservableType = keyof ObservableByType;

export type StixBundle = {
  type: 'bundle';
  id: string;
  spec_version?: '2.1';
  objects: StixObject[];
  [property: string]: unknown;
};
