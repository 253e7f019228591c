import { describe, expect, it } from 'vitest';
import { WorkStore } from './works.js';

function store() {
  let t = Date.parse('2026-01-01T00:00:00.000Z');
  let changes = 0;
  const works = new WorkStore(
    () => {
      t += 1000;
      return new Date(t);
    },
    () => {
      changes += 1;
    },
  );
  const create = (received = true) =>
    works.create({
      connectorId: 'c1',
      connectorType: 'EXTERNAL_IMPORT',
      name: 'run',
      sourceId: 'c1',
      userId: 'u1',
      receivedTime: received ? new Date(t).toISOString() : null,
    });
  return { works, create, changes: () => changes };
}

describe('WorkStore completion rules', () => {
  it('names works work_<connector>_<ISO time> and keeps ids distinct within one millisecond', () => {
    const works = new WorkStore(
      () => new Date('2026-01-01T00:00:00.000Z'),
      () => {},
    );
    const a = works.create({ connectorId: 'c', connectorType: null, name: null, sourceId: null, userId: 'u' });
    const b = works.create({ connectorId: 'c', connectorType: null, name: null, sourceId: null, userId: 'u' });
    expect(a.id).toBe('work_c_2026-01-01T00:00:00.000Z');
    expect(b.id).toBe('work_c_2026-01-01T00:00:00.001Z');
    expect(a.status).toBe('wait');
  });

  it('completes on the last reportExpectation when toProcessed came first', () => {
    const { works, create } = store();
    const work = create();
    works.addExpectations(work.id, 2);
    works.toProcessed(work.id, 'sent 2', false);
    expect(works.snapshot(work.id)?.status).toBe('progress');
    works.reportExpectation(work.id, null);
    expect(works.snapshot(work.id)?.status).toBe('progress');
    works.reportExpectation(work.id, null);
    const done = works.snapshot(work.id);
    expect(done?.status).toBe('complete');
    expect(done?.completed_number).toBe(2);
    expect(done?.messages.map((m) => m.message)).toEqual(['sent 2']);
  });

  it('completes on toProcessed when every expectation was already reported, and closes the counters', () => {
    const { works, create } = store();
    const work = create();
    works.addExpectations(work.id, 1);
    works.reportExpectation(work.id, null);
    expect(works.snapshot(work.id)?.status).toBe('complete');
    expect(works.isAlive(work.id)).toBe(true);
    works.toProcessed(work.id, 'done', false);
    const done = works.snapshot(work.id);
    expect(done?.status).toBe('complete');
    expect(done?.import_expected_number).toBe(1);
    expect(works.isAlive(work.id)).toBe(false);
  });

  it('takes the expected == 0 shortcut on toProcessed, with completed_number = processed or 1', () => {
    const { works, create } = store();
    const empty = create();
    works.toProcessed(empty.id, 'nothing to send', false);
    expect(works.snapshot(empty.id)).toMatchObject({
      status: 'complete',
      completed_number: 1,
      import_expected_number: 1,
    });
    const unexpected = create();
    works.reportExpectation(unexpected.id, null);
    expect(works.snapshot(unexpected.id)?.status).toBe('progress');
    works.toProcessed(unexpected.id, null, false);
    expect(works.snapshot(unexpected.id)).toMatchObject({ status: 'complete', completed_number: 1 });
  });

  it('puts an in-error toProcessed message in errors[], and caps reported errors at 100', () => {
    const { works, create } = store();
    const work = create();
    works.addExpectations(work.id, 150);
    for (let i = 0; i < 120; i += 1) works.reportExpectation(work.id, { error: `e${i}`, source: 's' });
    works.toProcessed(work.id, 'vendor down', true);
    const snap = works.snapshot(work.id);
    // The cap applies to reportExpectation only; toProcessed(inError) always appends.
    expect(snap?.errors).toHaveLength(101);
    expect(snap?.errors[0]).toMatchObject({ message: 'e0', source: 's' });
    expect(snap?.errors[99]?.message).toBe('e99');
    expect(snap?.errors[100]?.message).toBe('vendor down');
    expect(snap?.messages).toEqual([]);
    expect(snap?.tracking).toEqual({ import_expected_number: 150, import_processed_number: 120 });
  });

  it('ignores reports on a deleted work and says it is not alive', () => {
    const { works, create } = store();
    const work = create();
    works.addExpectations(work.id, 1);
    works.delete(work.id);
    works.reportExpectation(work.id, null);
    const snap = works.snapshot(work.id);
    expect(snap?.deleted).toBe(true);
    expect(snap?.alive).toBe(false);
    expect(snap?.status).toBe('progress');
    expect(works.document(work.id)).toBeUndefined();
  });

  it('toReceived moves a waiting work to progress and records non-empty messages only', () => {
    const { works, create } = store();
    const work = create(false);
    expect(work.status).toBe('wait');
    works.toReceived(work.id, '');
    works.toReceived(work.id, 'Connector ready to process the operation');
    const snap = works.snapshot(work.id);
    expect(snap?.status).toBe('progress');
    expect(snap?.received_time).not.toBeNull();
    expect(snap?.messages.map((m) => m.message)).toEqual(['Connector ready to process the operation']);
  });

  it('sweeps older stuck works once a newer work of the connector reports', () => {
    const { works, create } = store();
    const stuck = create();
    works.addExpectations(stuck.id, 3);
    works.reportExpectation(stuck.id, null);
    const newer = create();
    works.addExpectations(newer.id, 1);
    expect(works.sweep()).toEqual([]);
    works.reportExpectation(newer.id, null);
    expect(works.sweep()).toEqual([stuck.id]);
    expect(works.snapshot(stuck.id)).toMatchObject({ status: 'complete', completed_number: 1, alive: false });
  });

  it('records every operation in order and notifies on each change', () => {
    const { works, create, changes } = store();
    const work = create();
    const before = changes();
    works.toReceived(work.id, 'r');
    works.addExpectations(work.id, 1);
    works.ping(work.id);
    expect(changes() - before).toBe(3);
    expect(works.snapshot(work.id)?.operations.map((o) => o.op)).toEqual([
      'create',
      'toReceived',
      'addExpectations',
      'ping',
    ]);
  });
});
