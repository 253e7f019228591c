/** What a connector's `setup` receives: its settings, the logger, and the factory of its vendor HTTP clients. */
import type { BaseConfig } from '../config/index.js';
import { createHttpClient, type HttpClientOptions } from '../http/index.js';
import type { Logger } from '../log/index.js';
import type { SetupContext } from './define.js';
import type { ShutdownSequence } from './shutdown.js';

export interface SetupInputs<C> {
  slug: string;
  config: C;
  base: BaseConfig;
  logger: Logger;
  shutdown: ShutdownSequence;
  dryRun: boolean;
}

export function setupContext<C>({ slug, config, base, logger, shutdown, dryRun }: SetupInputs<C>): SetupContext<C> {
  return {
    config,
    logger,
    signal: shutdown.requested,
    dryRun,
    http: (http: Omit<HttpClientOptions, 'logger' | 'signal'>) =>
      createHttpClient({
        ...http,
        // Replicas of one connector share the vendor's budget through Redis when CONNECTOR_RATE_LIMIT_REDIS_URL is set.
        ...(http.rateLimit
          ? {
              rateLimit: {
                id: `${slug}:${http.vendor}`,
                ...(base.CONNECTOR_RATE_LIMIT_REDIS_URL ? { redisUrl: base.CONNECTOR_RATE_LIMIT_REDIS_URL } : {}),
                ...http.rateLimit,
              },
            }
          : {}),
        logger,
        // Vendor calls in hand are cancelled only once the shutdown's grace period is over.
        signal: shutdown.cancelled,
      }),
  };
}
