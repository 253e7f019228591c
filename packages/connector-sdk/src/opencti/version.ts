/**
 * Platform versions, as `about.version` reports them: "6.8.10" on the 6.x line, date-based "7.260318.0"
 * on 7.x. Only the leading numbers matter for feature gates; a suffix ("-rc1", "+build") is ignored.
 */

export interface PlatformVersion {
  major: number;
  minor: number;
  patch: number;
}

export function parsePlatformVersion(raw: string | null | undefined): PlatformVersion | null {
  if (typeof raw !== 'string') return null;
  const match = /^\s*v?(\d+)\.(\d+)(?:\.(\d+))?/.exec(raw);
  if (!match) return null;
  return { major: Number(match[1]), minor: Number(match[2]), patch: Number(match[3] ?? '0') };
}

/** True when `version` is `min` or newer. */
export function isAtLeast(version: PlatformVersion, min: PlatformVersion): boolean {
  if (version.major !== min.major) return version.major > min.major;
  if (version.minor !== min.minor) return version.minor > min.minor;
  return version.patch >= min.patch;
}

/**
 * Registration input fields that not every platform accepts (reference/protocol-notes.md#platform-versions):
 * a platform older than the
 * field rejects the whole registration with a GraphQL validation error, so they are sent only to a
 * platform known to accept them.
 */
export const REGISTRATION_FIELD_SINCE = {
  /** API listen protocol (6.5.7). */
  listen_callback_uri: { major: 6, minor: 5, patch: 7 },
  /** Enrichment on update and platform-side STIX resolution (6.8.9). */
  auto_update: { major: 6, minor: 8, patch: 9 },
  enrichment_resolution: { major: 6, minor: 8, patch: 9 },
} as const satisfies Record<string, PlatformVersion>;

export type VersionGatedRegistrationField = keyof typeof REGISTRATION_FIELD_SINCE;

/** Whether the platform accepts the registration field; an unknown version accepts none of them. */
export function acceptsRegistrationField(
  version: PlatformVersion | null,
  field: VersionGatedRegistrationField,
): boolean {
  return version !== null && isAtLeast(version, REGISTRATION_FIELD_SINCE[field]);
}

/**
 * Registration fields no released platform is known by version to accept: the connector's `version` and
 * `slug` (OpenCTI#18083, after 7.260318.0). pycti 7 asks the platform's schema which fields
 * `RegisterConnectorInput` declares (`__type` introspection) and sends both only when both are declared;
 * when the schema cannot be read, neither is sent. The same rule here.
 */
export const SCHEMA_GATED_REGISTRATION_FIELDS = ['version', 'slug'] as const;

/** Whether a platform whose `RegisterConnectorInput` declares `declared` accepts the connector's version and slug. */
export function acceptsConnectorMetadata(declared: ReadonlySet<string> | null): boolean {
  return declared !== null && SCHEMA_GATED_REGISTRATION_FIELDS.every((field) => declared.has(field));
}
