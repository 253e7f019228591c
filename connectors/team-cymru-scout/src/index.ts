/**
 * Team Cymru Scout: enriches IPv4-Addr, IPv6-Addr and Domain-Name observables from the STIX-emitting Pure
 * Signal Scout API, passing Scout's bundle through upstream's filter (see to-stix.ts).
 */
import { defineEnrichment, packageVersion } from '@cti/connector-sdk';
import { ScoutClient, scoutHttpOptions } from './client.js';
import { SCOUT_SCOPE, scoutConfig } from './config.js';
import { toStixBundle } from './to-stix.js';

export default defineEnrichment({
  name: 'TeamCymruScout',
  slug: 'team-cymru-scout',
  version: packageVersion(import.meta.url),
  scope: SCOUT_SCOPE,
  config: scoutConfig,
  // Upstream registers playbook_compatible and the seed lists playbooks among the triggers.
  playbookCompatible: true,
  maxTlp: (config) => config.PURE_SIGNAL_SCOUT_MAX_TLP,

  setup: ({ config, http }) => new ScoutClient({ http: http(scoutHttpOptions(config)) }),

  async enrich(entity, { client, signal, logger, now }) {
    const value = entity.value ?? '';
    const answer = await client.lookup(entity.entityType, value, signal);
    if (answer.objects.length === 0) return { message: `Team Cymru Scout: no intelligence found for ${value}` };

    const mapped = toStixBundle(entity, answer.objects, { now: now() });
    logger.debug(
      { received: answer.objects.length, kept: mapped.kept, linked: mapped.linked, bundle: mapped.bundle },
      'Scout bundle filtered',
    );
    if (mapped.bundle === null) {
      return {
        message: `Team Cymru Scout: no intelligence found for ${value} (the ${answer.objects.length} objects returned were all filtered out)`,
      };
    }
    return {
      bundle: mapped.bundle,
      message: `Team Cymru Scout: ${value}: kept ${mapped.kept} of ${answer.objects.length} objects, ${mapped.bundle.objects.length} sent`,
    };
  },
});
