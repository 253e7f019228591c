/**
 * The connector's version and slug as its registration reports them. pycti 7 reads them from the
 * connector's manifest and keeps a value only when, trimmed, it is not a placeholder (empty, `unknown`,
 * `none`, `null`, `undefined`, an unexpanded `$VARIABLE`); it then drops every character but letters,
 * digits and `._+-`, and keeps at most 64. The platform checks the version as semantic versioning
 * (`rolling` stands for an image that follows the latest release); a version it refuses would fail the
 * whole registration, so one that is not valid is left out instead.
 */

const PLACEHOLDERS = new Set(['', 'unknown', 'none', 'null', 'undefined']);
const MAX_LENGTH = 64;
// semver.org's reference expression (2.0.0).
const SEMVER =
  /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$/;

/** A self-reported value cleaned as pycti cleans it, or null when there is nothing usable. */
export function cleanMetadataValue(value: unknown): string | null {
  if (typeof value !== 'string' && typeof value !== 'number') return null;
  const text = String(value).trim();
  if (PLACEHOLDERS.has(text.toLowerCase()) || text.startsWith('$')) return null;
  const kept = [...text].filter((c) => /[\p{L}\p{N}._+-]/u.test(c)).join('');
  return kept.slice(0, MAX_LENGTH) || null;
}

/** Whether the platform accepts `version` as a connector version: semantic versioning, or `rolling`. */
export function isRegistrableVersion(version: string): boolean {
  return version === 'rolling' || SEMVER.test(version);
}

export interface ConnectorMetadata {
  version: string | null;
  slug: string | null;
  /** Why a given value is left out. */
  problems: string[];
}

/** The version and slug to register, cleaned, and what was left out and why. */
export function connectorMetadata(version: unknown, slug: unknown): ConnectorMetadata {
  const problems: string[] = [];
  let cleanVersion = cleanMetadataValue(version);
  if (cleanVersion !== null && !isRegistrableVersion(cleanVersion)) {
    problems.push(`the connector version "${cleanVersion}" is not semantic versioning (x.y.z) nor "rolling"`);
    cleanVersion = null;
  }
  return { version: cleanVersion, slug: cleanMetadataValue(slug), problems };
}
