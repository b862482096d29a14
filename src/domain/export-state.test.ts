import { describe, expect, it } from 'vitest';
import { EXPORT_STATUSES, allowedTransitions, canTransition, isActive, isTerminal, progressView, type ExportStatus, type ProgressInput } from './export-state.js';

describe('canTransition', () => {
  // Every allowed move; everything else, including staying put, is refused.
  const allowed: Array<[ExportStatus, ExportStatus]> = [
    ['pending', 'processing'],
    ['pending', 'cancelled'],
    ['pending', 'failed'],
    ['processing', 'completed'],
    ['processing', 'failed'],
    ['processing', 'cancelled'],
    ['processing', 'pending'],
    ['failed', 'pending'],
    ['cancelled', 'pending'],
    ['completed', 'expired'],
  ];
  const matrix = EXPORT_STATUSES.flatMap((from) =>
    EXPORT_STATUSES.map((to) => [from, to, allowed.some(([f, t]) => f === from && t === to)] as const),
  );

  it.each(matrix)('%s → %s: %s', (from, to, expected) => {
    expect(canTransition(from, to)).toBe(expected);
    expect(allowedTransitions(from).includes(to)).toBe(expected);
  });

  it('lets nothing leave expired', () => {
    expect(allowedTransitions('expired')).toEqual([]);
  });
});

describe('isActive / isTerminal', () => {
  it.each([
    ['pending', true],
    ['processing', true],
    ['completed', false],
    ['failed', false],
    ['cancelled', false],
    ['expired', false],
  ] as const)('%s active: %s', (status, active) => {
    expect(isActive(status)).toBe(active);
    expect(isTerminal(status)).toBe(!active);
  });
});

describe('progressView', () => {
  const now = new Date('2025-10-20T14:31:00.000Z');
  const base: ProgressInput<'writing'> = {
    phase: 'writing',
    filesDone: 0,
    filesTotal: 10,
    bytesDone: 0,
    bytesTotal: 1000,
    startedAt: '2025-10-20T14:30:50.000Z', // 10 s before now
    now,
  };

  it.each([
    // label, overrides, percent, eta
    ['not started', { startedAt: null }, 0, null],
    ['started, nothing written', {}, 0, null],
    ['a quarter after 10 s', { bytesDone: 250, filesDone: 2 }, 25, 30],
    ['half after 10 s', { bytesDone: 500 }, 50, 10],
    ['eta rounds up', { bytesDone: 300 }, 30, 24], // 700 / 30 per s = 23.3
    ['57 of 100 is 57.0, not 56.9', { bytesDone: 57, bytesTotal: 100 }, 57, 8], // 43 / 5.7 = 7.5
    ['one decimal, rounded down', { bytesDone: 2, bytesTotal: 3 }, 66.6, 5],
    ['never 100 before done', { bytesDone: 9999, bytesTotal: 10000 }, 99.9, 1],
    ['done', { bytesDone: 1000, filesDone: 10 }, 100, 0],
    ['more than announced', { bytesDone: 1500 }, 100, 0],
    ['too early for an eta', { bytesDone: 500, startedAt: '2025-10-20T14:30:58.500Z' }, 50, null],
    ['exactly 2 s', { bytesDone: 500, startedAt: '2025-10-20T14:30:58.000Z' }, 50, 2],
    ['clock behind the start', { bytesDone: 500, startedAt: '2025-10-20T14:32:00.000Z' }, 50, null],
    ['unreadable start', { bytesDone: 500, startedAt: 'soon' }, 50, null],
    ['no bytes: by files', { bytesTotal: 0, filesDone: 3 }, 30, null],
    ['nothing at all', { bytesTotal: 0, filesTotal: 0 }, 0, null],
  ] as const)('%s', (_label, over, percent, eta) => {
    const view = progressView({ ...base, ...over });
    expect(view.percent).toBe(percent);
    expect(view.etaSeconds).toBe(eta);
  });

  it('passes the counts and phase through', () => {
    expect(progressView({ ...base, phase: 'uploading', filesDone: 4, bytesDone: 400 })).toEqual({
      phase: 'uploading',
      percent: 40,
      filesDone: 4,
      filesTotal: 10,
      bytesDone: 400,
      bytesTotal: 1000,
      etaSeconds: 15,
    });
  });

  it('handles export-sized numbers', () => {
    const tb = 2 ** 40;
    const view = progressView({ ...base, bytesDone: tb / 4, bytesTotal: tb, startedAt: '2025-10-20T13:31:00.000Z' });
    expect(view.percent).toBe(25);
    expect(view.etaSeconds).toBe(3 * 3600);
  });
});
