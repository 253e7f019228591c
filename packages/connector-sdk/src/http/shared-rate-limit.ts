/**
 * Vendor rate limits shared by every replica of a connector through Redis
 * (CONNECTOR_RATE_LIMIT_REDIS_URL). A vendor's quota belongs to the account, not the process: three
 * enrichment replicas at "1 request per second" must make one request per second together.
 *
 * Each budget window is a Redis sorted set of send reservations scored by Redis's own clock (replicas'
 * clocks may disagree). One Lua script, run atomically, drops the reservations older than the window,
 * and either reserves a slot in every window at once or answers how long to wait. Reservations expire
 * by time, so a replica that dies holding slots leaks nothing (bottleneck's clustered reservoir would
 * lose the tokens a dead process never returned).
 *
 * When Redis cannot be reached the limiter falls back to the process's own limiter and says so once:
 * each replica then keeps its own budget, as without Redis.
 */
import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { redactUrl } from '../log/redact.js';
import { sleep } from '../time/index.js';
import {
  budgetWindows,
  createRateLimiter,
  type RateLimiter,
  RateLimitWaitError,
  safetyMarginMs,
} from './rate-limit.js';
import type { HttpLogger, RateLimit } from './types.js';

const RESERVE = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local wait = 0
for i, key in ipairs(KEYS) do
  local count = tonumber(ARGV[2 * i - 1])
  local interval = tonumber(ARGV[2 * i])
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now - interval)
  local n = redis.call('ZCARD', key)
  if n >= count then
    local oldest = redis.call('ZRANGE', key, n - count, n - count, 'WITHSCORES')
    local w = tonumber(oldest[2]) + interval - now
    if w > wait then wait = w end
  end
end
if wait > 0 then return wait end
local member = ARGV[#ARGV]
for i, key in ipairs(KEYS) do
  redis.call('ZADD', key, now, member)
  redis.call('PEXPIRE', key, tonumber(ARGV[2 * i]) + 1000)
end
return 0
`;

const clients = new Map<string, Promise<Redis>>();

/**
 * One connection per Redis URL per process, shared by every limiter. ioredis is loaded only when a
 * shared limit is configured: most deployments never pay for it at start-up.
 */
function redisFor(url: string): Promise<Redis> {
  let client = clients.get(url);
  if (!client) {
    client = import('ioredis').then(({ Redis }) => {
      const redis = new Redis(url, {
        lazyConnect: false,
        // Commands wait for the (re)connection, but never longer than this: then the local limit applies.
        enableOfflineQueue: true,
        commandTimeout: 2_000,
        maxRetriesPerRequest: 1,
        connectTimeout: 5_000,
        retryStrategy: (times) => Math.min(times * 500, 10_000),
      });
      // Failures surface through commands; the connection's own errors would otherwise be unhandled.
      redis.on('error', () => undefined);
      return redis;
    });
    clients.set(url, client);
  }
  return client;
}

/** Closes the shared Redis connections (at shutdown). */
export async function closeSharedRateLimits(): Promise<void> {
  const all = await Promise.all([...clients.values()]);
  clients.clear();
  await Promise.all(all.map((c) => c.quit().catch(() => c.disconnect())));
}

export function createSharedRateLimiter(
  limit: RateLimit & { redisUrl: string },
  name: string,
  logger?: HttpLogger,
): RateLimiter {
  const windows = budgetWindows(limit);
  const local = createRateLimiter(limit, name);
  if (windows.length === 0) return local;
  const id = limit.id ?? name;
  const keys = windows.map((w) => `cti:rate-limit:${id}:${w.count}/${w.intervalMs}`);
  const budgets = windows.flatMap((w) => [String(w.count), String(w.intervalMs + safetyMarginMs(w.intervalMs))]);
  const maxWaitMs = limit.maxWaitMs ?? 300_000;
  const redis = redisFor(limit.redisUrl);
  let warned = false;

  async function reserve(): Promise<number | null> {
    try {
      const wait = (await (await redis).eval(RESERVE, keys.length, ...keys, ...budgets, randomUUID())) as number;
      return Number(wait);
    } catch (err) {
      if (!warned) {
        warned = true;
        logger?.warn(
          { redis: redactUrl(limit.redisUrl), error: err instanceof Error ? err.message : String(err) },
          `shared rate limit unavailable: ${name} falls back to this process's own limit`,
        );
      }
      return null;
    }
  }

  return {
    async schedule<R>(send: () => Promise<R>, signal?: AbortSignal): Promise<R> {
      const started = Date.now();
      while (true) {
        signal?.throwIfAborted();
        const wait = await reserve();
        if (wait === null) return local.schedule(send, signal);
        if (wait <= 0) {
          if (warned) {
            warned = false;
            logger?.info({ redis: redactUrl(limit.redisUrl) }, `shared rate limit available again for ${name}`);
          }
          return send();
        }
        const elapsed = Date.now() - started;
        if (elapsed + wait > maxWaitMs) {
          throw new RateLimitWaitError(`${windows[0]?.count} per ${windows[0]?.intervalMs} ms, shared`, wait);
        }
        await sleep(wait, signal);
      }
    },
    stop: () => local.stop(),
  };
}
