/**
 * Rate-limit fidelity of the SDK HTTP client against a local server that timestamps every request:
 *   per-second  Scout's default, 1 request/s, over `requests` requests
 *   budget      urlscan's hourly budget scaled down (same mechanism, shorter window): 20 per 3 s
 * For each: the achieved rate against the limit, and the busiest window seen (never above the limit).
 * Usage: tsx bench/rate-limit.ts [requests]  — prints one JSON line.
 */
import { createHttpClient } from '@cti/connector-sdk/internal';
import { startFakeVendor } from '@cti/connector-testkit';
import { round } from './lib.js';

const requests = Number(process.argv[2] ?? 60);

async function measure(rateLimit: Record<string, number>, windowMs: number, limit: number, count: number) {
  const vendor = await startFakeVendor({ 'GET /x': { body: {} } });
  const client = createHttpClient({ vendor: 'Bench', baseURL: vendor.url, rateLimit, retry: { maxAttempts: 1 } });
  await Promise.all(
    Array.from({ length: count }, async () => {
      await client.get('/x');
    }),
  );
  await client.close();
  await vendor.close();
  // What the vendor saw: arrival times at the server.
  const arrivals = vendor.requests.length;
  const sorted = vendor.requests.map((r) => r.at).sort((a, b) => a - b);
  let busiest = 0;
  for (let i = 0; i < sorted.length; i++) {
    let j = i;
    while (j + 1 < sorted.length && (sorted[j + 1] as number) - (sorted[i] as number) < windowMs) j++;
    busiest = Math.max(busiest, j - i + 1);
  }
  const spanMs = (sorted.at(-1) as number) - (sorted[0] as number);
  // n requests at the limit take (n / limit - 1) windows after the first burst.
  const idealSpanMs = (Math.ceil(arrivals / limit) - 1) * windowMs;
  return {
    requests: arrivals,
    spanMs,
    achievedPerWindow: round((arrivals - 1) / (spanMs / windowMs), 3),
    limitPerWindow: limit,
    rateVsLimit: round(idealSpanMs / spanMs, 3),
    busiestWindow: busiest,
  };
}

const perSecond = await measure({ perSecond: 1 }, 1000, 1, requests);
const budget = await measure({ count: 20, intervalMs: 3000 }, 3000, 20, 81);
process.stdout.write(`${JSON.stringify({ perSecond, budget })}\n`);
process.exit(0);
