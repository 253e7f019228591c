import { describe, expect, it } from 'vitest';
import { Metrics, startMetricsServer } from './metrics.js';

describe('metrics', () => {
  it('renders pycti names, labels and the state set', () => {
    const m = new Metrics();
    m.inc('bundles_sent_total', 3);
    m.inc('enrichments_total', 1, { outcome: 'processed' });
    m.setState('running');
    const text = m.render();
    expect(text).toContain('# TYPE bundles_sent_total counter\nbundles_sent_total 3');
    expect(text).toContain('enrichments_total{outcome="processed"} 1');
    expect(text).toContain('ping_api_errors_total 0');
    expect(text).toContain('state{state="running"} 1');
    expect(text).toContain('state{state="idle"} 0');
  });

  it('serves /metrics and /health over HTTP', async () => {
    const m = new Metrics('opencti');
    m.inc('runs_total');
    let consuming = false;
    const srv = await startMetricsServer(0, m, () => ({ alive: true, registered: true, consuming }), '127.0.0.1');
    try {
      const metrics = await (await fetch(`http://127.0.0.1:${srv.port}/metrics`)).text();
      expect(metrics).toContain('opencti_runs_total 1');
      const down = await fetch(`http://127.0.0.1:${srv.port}/health`);
      expect(down.status).toBe(503);
      consuming = true;
      const up = await fetch(`http://127.0.0.1:${srv.port}/health`);
      expect(up.status).toBe(200);
      expect(await up.json()).toMatchObject({ status: 'ok', consuming: true });
    } finally {
      await srv.close();
    }
  });

  it('shows the longest the event loop was held (the gauge an SRE watches for missed heartbeats)', async () => {
    const m = new Metrics();
    await new Promise((resolve) => setTimeout(resolve, 50));
    // Held 400 ms without burning a core, as a long synchronous computation holds it.
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 400);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(m.eventLoopMaxDelaySeconds).toBeGreaterThanOrEqual(0.35);
    expect(m.render()).toMatch(
      /\nnodejs_eventloop_lag_max_seconds 0\.[3-9]\d\d\n|\nnodejs_eventloop_lag_max_seconds [1-9]/,
    );
  });
});
