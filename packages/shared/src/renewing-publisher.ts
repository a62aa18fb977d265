import type { Connection, Envelope, Publisher, PublisherProps } from 'rabbitmq-client';

/** A confirm-mode publisher that moves to a fresh channel when its channel stops being trusted. */
export interface RenewingPublisher {
  send(envelope: Envelope, body: unknown): Promise<void>;
  /** Sends after this go out on a new channel; the old one is closed once its sends settled. */
  renew(): void;
  close(): Promise<void>;
}

const isNack = (error: unknown) => (error as { code?: unknown } | undefined)?.code === 'NACK';

/**
 * rabbitmq-client's publisher keeps its channel for as long as the channel is open. When a quorum
 * queue's leader dies, RabbitMQ 3.10 nacks the publishes that were outstanding for it on that
 * channel, and a channel that nacked may keep doing so; the client would go on using it. This
 * wrapper opens a new channel after a nack (or when its owner calls `renew()`, e.g. after confirms
 * that never came), so one lost node costs a retry, not a channel that fails every publish.
 */
export function createRenewingPublisher(connection: Connection, props: PublisherProps): RenewingPublisher {
  let current: Publisher = connection.createPublisher(props);
  let closed = false;
  const inFlight = new Map<Publisher, number>();
  const retired = new Set<Publisher>();

  const settle = (publisher: Publisher) => {
    const left = (inFlight.get(publisher) ?? 1) - 1;
    if (left > 0) return inFlight.set(publisher, left);
    inFlight.delete(publisher);
    if (retired.delete(publisher)) void publisher.close().catch(() => {});
  };

  const retire = (publisher: Publisher) => {
    if (publisher !== current || closed) return;
    current = connection.createPublisher(props);
    if (inFlight.has(publisher)) retired.add(publisher);
    else void publisher.close().catch(() => {});
  };

  return {
    async send(envelope, body) {
      const publisher = current;
      inFlight.set(publisher, (inFlight.get(publisher) ?? 0) + 1);
      try {
        await publisher.send(envelope, body);
      } catch (error) {
        if (isNack(error)) retire(publisher);
        throw error;
      } finally {
        settle(publisher);
      }
    },
    renew: () => retire(current),
    async close() {
      closed = true;
      await Promise.allSettled([current, ...retired].map((publisher) => publisher.close()));
      retired.clear();
    },
  };
}
