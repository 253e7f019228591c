/**
 * Which config.yml key a setting is read from. pycti's `get_config_variable(env_var, [section, key], config)`
 * names both for every setting, and the upstream connectors follow one convention: the env name is the YAML
 * path in upper case joined with `_` (`OPENCTI_URL` is `opencti.url`, `CONNECTOR_DURATION_PERIOD` is
 * `connector.duration_period`, `CROWDSEC_KEY` is `crowdsec.key`). A setting whose upstream key does not follow
 * it (a section with `_` in its name, such as connectors-sdk's `pure_signal_scout`) declares its keys with the
 * field option `yaml` (reference/protocol-notes.md#configyml).
 */
import type { z } from 'zod';
import { fieldMeta } from './fields.js';

/** The key derived from an env name: the part before the first `_` is the section. Undefined without one. */
export function yamlKeyOf(envName: string): string | undefined {
  const at = envName.indexOf('_');
  if (at <= 0 || at === envName.length - 1) return undefined;
  return `${envName.slice(0, at).toLowerCase()}.${envName.slice(at + 1).toLowerCase()}`;
}

/** The config.yml keys a setting is read from, the documented one first: the declared ones, else the derived one. */
export function yamlKeys(name: string, schema: z.ZodType): string[] {
  const declared = fieldMeta(schema).yaml;
  if (declared?.length) return [...declared];
  const derived = yamlKeyOf(name);
  return derived === undefined ? [] : [derived];
}

/**
 * Keys pycti's helper reads from config.yml that no setting of this SDK reads (pycti 6.8 helper,
 * connector_helper.py, `get_config_variable` calls): an admin's existing file may hold them. A connector that
 * reads one declares it as a setting, and then it is that setting's key; otherwise the key is ignored with a
 * warning instead of refused as unknown.
 */
export const PYCTI_ONLY_YAML_KEYS: readonly string[] = [
  'connector.metrics_namespace',
  'connector.metrics_subsystem',
  'connector.live_stream_id',
  'connector.live_stream_listen_delete',
  'connector.live_stream_no_dependencies',
  'connector.live_stream_with_inferences',
  'connector.live_stream_recover_iso_date',
  'connector.live_stream_start_timestamp',
];
