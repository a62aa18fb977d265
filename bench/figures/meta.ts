import type { Figure } from '../report/results';

type Meta = Pick<Figure, 'id' | 'title' | 'unit' | 'target'> & Partial<Pick<Figure, 'subject'>>;

/** The figures: what each measures and what it must reach (issues 6 and 13). */
export const FIGURES = {
  postOrders: {
    id: 1,
    title: 'POST /api/orders',
    unit: 'orders/s',
    target: { text: 'ratio ≥ 0.55, p99 ≤ 50 ms', ratioAtLeast: 0.55, p99MsAtMost: 50 },
  },
  /** Figure 1 again, against the fixed least-order limit: what the design costs. */
  postOrdersDesign: {
    id: 1,
    subject: 'vs least-order limit',
    title: 'POST /api/orders',
    unit: 'orders/s',
    target: { text: 'ratio ≥ 0.25, p99 ≤ 50 ms', ratioAtLeast: 0.25, p99MsAtMost: 50 },
  },
  getOrder: {
    id: 2,
    title: 'GET /api/orders/{id}, cached',
    unit: 'reads/s',
    target: { text: 'ratio ≥ 0.80', ratioAtLeast: 0.8 },
  },
  relayDrain: {
    id: 3,
    title: 'relay drain of an outbox backlog',
    unit: 'events/s',
    target: { text: 'ratio ≥ 0.80', ratioAtLeast: 0.8 },
  },
  commitToConfirm: {
    id: 4,
    title: 'idle commit → broker confirm',
    unit: 'ms',
    target: { text: 'p50 ≤ 5 ms, p99 ≤ 20 ms', p50MsAtMost: 5, p99MsAtMost: 20 },
  },
  consumerApply: {
    id: 5,
    title: 'consumer apply of queued PaymentProcessed',
    unit: 'events/s',
    target: { text: 'ratio ≥ 0.60', ratioAtLeast: 0.6 },
  },
  endToEnd: {
    id: 6,
    title: 'POST → PROCESSING visible through GET',
    unit: 'ms',
    // Issue 13: it must pass in every run, not in the median one.
    target: { text: 'p99 ≤ 100 ms in every run', p99MsAtMost: 100, everyRun: true },
  },
  idleRelay: {
    id: 8,
    title: 'idle relay: statements/s against Postgres',
    unit: 'statements/s',
    // Issue 13 asks for this figure but sets no bound: it is reported, never passed or failed.
    target: { text: 'reported (no target set)' },
  },
  cpuPerOrder: {
    id: 9,
    title: 'CPU per order, POST → PROCESSING, all processes',
    unit: 'ms',
    target: { text: '≤ 4 ms', valueAtMost: 4 },
  },
  sustainedRate: {
    id: 10,
    title: 'highest open-loop rate with POST → PROCESSING p99 ≤ 100 ms',
    unit: 'orders/s',
    target: { text: '≥ 400 orders/s', valueAtLeast: 400 },
  },
  heldVacuum: {
    id: 11,
    title: 'relay drain and POST p99 while a transaction holds vacuum back',
    unit: 'ratio',
    target: { text: 'ratio ≥ 0.5', ratioAtLeast: 0.5 },
  },
  peakRss: {
    id: 7,
    title: 'peak RSS',
    unit: 'MB',
    target: { text: '≤ 200 MB', valueAtMost: 200 },
  },
} satisfies Record<string, Meta>;

export const RSS_BUDGET_MB = 200;
