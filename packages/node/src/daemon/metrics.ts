// Prometheus metrics of a node (prom-client, one registry per node), read from the node's
// counters when scraped.
import { Gauge, Registry } from 'prom-client';
import type { DetrNode } from '../node.js';

/**
 * A registry whose gauges read `node` at scrape time.
 *
 * @example
 * ```ts
 * const registry = createMetrics(node)
 * res.end(await registry.metrics())
 * ```
 */
export function createMetrics(node: DetrNode): Registry {
  const registry = new Registry();
  const gauge = (
    name: string,
    help: string,
    read: () => number | Record<string, number>,
    labelName?: string,
  ): void => {
    new Gauge({
      name,
      help,
      registers: [registry],
      labelNames: labelName === undefined ? [] : [labelName],
      collect() {
        const v = read();
        if (typeof v === 'number') this.set(v);
        else for (const [k, n] of Object.entries(v)) this.set({ [labelName as string]: k }, n);
      },
    });
  };
  const conns = (): ReturnType<DetrNode['connections']['connections']> =>
    node.connections.connections();
  gauge(
    'detr_connections',
    'Open connections, by direction.',
    () => {
      const out = { inbound: 0, outbound: 0 };
      for (const c of conns()) out[c.direction]++;
      return out;
    },
    'direction',
  );
  gauge(
    'detr_connections_by_transport',
    'Open connections, by transport (tcp, quic, webrtc, relay).',
    () => {
      const out: Record<string, number> = { tcp: 0, quic: 0, webrtc: 0, relay: 0 };
      for (const c of conns()) out[c.transport] = (out[c.transport] ?? 0) + 1;
      return out;
    },
    'transport',
  );
  gauge('detr_streams', 'Open streams over all connections.', () =>
    conns().reduce((n, c) => n + c.streams().length, 0),
  );
  gauge('detr_bytes_sent', 'Bytes sent on open connections.', () =>
    conns().reduce((n, c) => n + c.stats().bytesSent, 0),
  );
  gauge('detr_bytes_received', 'Bytes received on open connections.', () =>
    conns().reduce((n, c) => n + c.stats().bytesReceived, 0),
  );
  gauge(
    'detr_queue_depth',
    'Outbound messages queued (fluent), by priority.',
    () => {
      const s = node.scheduler.stats();
      return Object.fromEntries(Object.entries(s.priorities).map(([p, q]) => [p, q.depth]));
    },
    'priority',
  );
  gauge(
    'detr_outbox_messages',
    'Acknowledged messages waiting for their ack.',
    () => node.status().messaging.outbox,
  );
  gauge(
    'detr_messages_total',
    'Messages by event.',
    () => {
      const m = node.status().messaging;
      return {
        sent: m.sent,
        received: m.received,
        acked: m.acked,
        retransmitted: m.retransmitted,
        duplicates: m.duplicates,
        stored_offline: m.storedOffline,
      };
    },
    'event',
  );
  gauge(
    'detr_pubsub_total',
    'Pub/sub messages by event.',
    () => {
      const p = node.status().pubsub;
      return {
        published: p.published,
        delivered: p.delivered,
        forwarded: p.forwarded,
        duplicates: p.duplicates,
        rejected: p.rejected,
        dropped: p.dropped,
      };
    },
    'event',
  );
  gauge(
    'detr_dht_lookups_total',
    'DHT lookups (node lookups, gets, findPeer, puts, refreshes) by @detr/dht.',
    () => node.status().dht.lookups,
  );
  gauge(
    'detr_dht_total',
    'DHT traffic and records, by event.',
    () => {
      const d = node.status().dht;
      return {
        requests_sent: d.requestsSent,
        requests_failed: d.requestsFailed,
        timeouts: d.timeouts,
        requests_received: d.requestsReceived,
        invalid_messages: d.invalidMessages,
        records_stored: d.recordsStored,
        records_refused: d.recordsRefused,
      };
    },
    'event',
  );
  gauge(
    'detr_dht_routing_table_peers',
    'Peers in the DHT routing table.',
    () => node.status().dht.peers,
  );
  gauge(
    'detr_dht_records',
    'Records this node holds for the network.',
    () => node.status().dht.records,
  );
  gauge(
    'detr_handshake_failures_total',
    'Handshakes refused: remote tokens that failed verification (TCP, QUIC, WebRTC), failed QUIC hellos, our own refused dials.',
    () => node.status().handshakeFailures,
  );
  gauge(
    'detr_relay_total',
    'Relay use, by role: service requests forwarded (detr.forward), circuits through our relay service, bytes relayed.',
    () => {
      const s = node.status();
      return {
        requests_relayed_for_others: s.services.relayed,
        requests_sent_via_relay: s.services.forwarded,
        circuits_opened: s.relay.circuitsOpened,
        circuits_open: s.relay.circuitsOpen,
        reservations: s.relay.reservations,
        relayed_connections: conns().filter((c) => c.transport === 'relay').length,
      };
    },
    'role',
  );
  gauge(
    'detr_relay_bytes_total',
    'Bytes relayed by our relay service.',
    () => node.status().relay.bytesRelayed,
  );
  gauge(
    'detr_offline_total',
    'Offline delivery, by event.',
    () => {
      const o = node.status().offline;
      return {
        stored: o.stored,
        fetched: o.fetched,
        deleted: o.deleted,
        duplicates: o.duplicates,
        mailbox_full: o.mailboxFull,
      };
    },
    'event',
  );
  gauge(
    'detr_requests_total',
    'Service requests, by event.',
    () => {
      const s = node.status().services;
      return { sent: s.requests, served: s.served, refused: s.refused };
    },
    'event',
  );
  return registry;
}
