// Every option of a detr node, one section per package. The schema is the single source of
// truth: validation, defaults, the README's table and `detr init`'s commented file come from it.

/** The kinds of value an option holds. */
export type OptionKind = 'int' | 'number' | 'bool' | 'string' | 'string[]' | 'enum';

/** One option: its TOML key (snake_case), kind, default, bounds and documentation. */
export interface OptionSpec {
  readonly key: string;
  readonly kind: OptionKind;
  readonly default: number | boolean | string | readonly string[] | undefined;
  readonly doc: string;
  readonly min?: number;
  readonly max?: number;
  readonly values?: readonly string[];
  /** For strings / string arrays: a check returning a reason when the value is bad. */
  readonly check?: (value: string) => string | undefined;
}

/** The sections of the file, in order. */
export const SECTIONS = [
  'transport',
  'aecomms',
  'fluent',
  'dpeers',
  'stored',
  'dht',
  'nat',
  'node',
] as const;
export type SectionName = (typeof SECTIONS)[number];

const address = (v: string): string | undefined =>
  /^\/(ip4|ip6|memory)\//.test(v) ? undefined : 'not an address like /ip4/127.0.0.1/tcp/4001';
const url = (v: string): string | undefined =>
  /^(stun|turn|turns):[^\s]+$/.test(v) ? undefined : 'not a stun:/turn: URL';

const S = 1000;

/** The schema: section → options. */
export const SCHEMA: Record<SectionName, readonly OptionSpec[]> = {
  transport: [
    {
      key: 'stack',
      kind: 'enum',
      default: 'detr',
      values: ['detr', 'interim'],
      doc: 'detr = @detr/transport (Noise XX + mux over TCP); interim = the unencrypted fallback of @detr/node.',
    },
    {
      key: 'listen',
      kind: 'string[]',
      default: ['/ip4/127.0.0.1/tcp/0'],
      doc: 'Addresses to listen on (port 0 = any free port).',
      check: address,
    },
    {
      key: 'connection_timeout_ms',
      kind: 'int',
      default: 30 * S,
      min: 100,
      max: 600 * S,
      doc: 'Dial + handshake time limit (seed 002: 30 s).',
    },
    {
      key: 'idle_timeout_ms',
      kind: 'int',
      default: 30 * S,
      min: 1 * S,
      max: 3600 * S,
      doc: 'A connection with no stream and no traffic for this long is closed.',
    },
    {
      key: 'max_streams_per_connection',
      kind: 'int',
      default: 100,
      min: 1,
      max: 10_000,
      doc: 'Bidirectional streams per connection (seed 000: 100).',
    },
  ],
  aecomms: [
    {
      key: 'crypto_provider',
      kind: 'enum',
      default: 'node',
      values: ['node', 'noble'],
      doc: 'Crypto provider: node:crypto (fast) or @noble (portable reference).',
    },
    {
      key: 'token_clock_skew_ms',
      kind: 'int',
      default: 60 * S,
      min: 0,
      max: 3600 * S,
      doc: 'Clock skew allowed when checking token validity windows.',
    },
    {
      key: 'rekey_after_messages',
      kind: 'int',
      default: 1_000_000,
      min: 1000,
      max: 2 ** 40,
      doc: 'Secure-channel rekey interval, in messages.',
    },
  ],
  fluent: [
    {
      key: 'max_queue_messages',
      kind: 'int',
      default: 10_000,
      min: 1,
      max: 10_000_000,
      doc: 'Outbound queue per peer, in messages (seed 002: 10,000).',
    },
    {
      key: 'max_queue_bytes',
      kind: 'int',
      default: 16 * 1024 * 1024,
      min: 1024,
      max: 2 ** 32,
      doc: 'Outbound queue per peer, in bytes.',
    },
    {
      key: 'priority_levels',
      kind: 'int',
      default: 5,
      min: 5,
      max: 5,
      doc: 'Priority levels (fixed: critical, high, normal, low, bulk; seed 002: 5).',
    },
    {
      key: 'peer_messages_per_sec',
      kind: 'int',
      default: 1000,
      min: 1,
      max: 10_000_000,
      doc: 'Outbound messages per second per peer (seed 002: 1,000 msg/s).',
    },
    {
      key: 'inbound_messages_per_sec',
      kind: 'int',
      default: 1000,
      min: 1,
      max: 10_000_000,
      doc: 'Inbound messages per second per peer; excess is dropped and penalised.',
    },
  ],
  dpeers: [
    {
      key: 'max_peers',
      kind: 'int',
      default: 100,
      min: 1,
      max: 100_000,
      doc: 'Most open connections; over it the lowest-value ones are pruned (seed 002: 100).',
    },
    {
      key: 'reputation_threshold',
      kind: 'int',
      default: 50,
      min: 1,
      max: 100,
      doc: 'A peer whose score falls to -threshold is banned (seed 002: 50).',
    },
    {
      key: 'max_connections_per_ip',
      kind: 'int',
      default: 4,
      min: 1,
      max: 10_000,
      doc: 'Most connections from one IP address (loopback exempt).',
    },
    {
      key: 'ban_base_ms',
      kind: 'int',
      default: 600 * S,
      min: 1 * S,
      max: 86_400 * S,
      doc: 'First ban length; each later ban lasts twice as long.',
    },
  ],
  stored: [
    {
      key: 'backend',
      kind: 'enum',
      default: 'lmdb',
      values: ['lmdb', 'memory'],
      doc: 'Where state lives: lmdb in <data dir>/store, or memory (lost on exit).',
    },
    {
      key: 'cache_max_entries',
      kind: 'int',
      default: 10_000,
      min: 0,
      max: 10_000_000,
      doc: 'LRU cache size, in records.',
    },
    {
      key: 'durability',
      kind: 'enum',
      default: 'flushed',
      values: ['flushed', 'committed'],
      doc: 'flushed = synced to disk before a write resolves; committed = survives a crash only.',
    },
  ],
  dht: [
    {
      key: 'bootstrap',
      kind: 'string[]',
      default: [],
      doc: 'Addresses (with /p2p/<id>) to join the network through.',
      check: address,
    },
    { key: 'k', kind: 'int', default: 20, min: 2, max: 64, doc: 'Bucket size and replication.' },
    {
      key: 'alpha',
      kind: 'int',
      default: 3,
      min: 1,
      max: 16,
      doc: 'Concurrent requests of a lookup.',
    },
    {
      key: 'announce_interval_ms',
      kind: 'int',
      default: 300 * S,
      min: 1 * S,
      max: 86_400 * S,
      doc: 'Presence refresh period (seed 001: 5 min).',
    },
    {
      key: 'record_ttl_sec',
      kind: 'int',
      default: 3600,
      min: 10,
      max: 7 * 86_400,
      doc: 'Default TTL of records put with `dht put`.',
    },
  ],
  nat: [
    {
      key: 'stun_servers',
      kind: 'string[]',
      default: [],
      doc: 'STUN servers (stun:host:port); none by default (no third-party traffic).',
      check: url,
    },
    {
      key: 'turn_servers',
      kind: 'string[]',
      default: [],
      doc: 'TURN servers (turn:user:pass@host:port).',
      check: url,
    },
    {
      key: 'relay_service',
      kind: 'bool',
      default: false,
      doc: 'Offer a relay to NAT-bound peers of the network.',
    },
    {
      key: 'hole_punching',
      kind: 'bool',
      default: true,
      doc: 'Upgrade relayed connections to direct ones when possible.',
    },
  ],
  node: [
    {
      key: 'network',
      kind: 'string',
      default: '',
      doc: 'Network id (hex) this node belongs to; set by `detr network create` or `--token`.',
      check: (v) => (v === '' || /^[0-9a-f]{64}$/.test(v) ? undefined : 'not 64 hex digits'),
    },
    {
      key: 'control_host',
      kind: 'enum',
      default: '127.0.0.1',
      values: ['127.0.0.1'],
      doc: 'Control API host; loopback only.',
    },
    {
      key: 'control_port',
      kind: 'int',
      default: 0,
      min: 0,
      max: 65_535,
      doc: 'Control API port (0 = any free port, written to <data dir>/control.json).',
    },
    {
      key: 'log_level',
      kind: 'enum',
      default: 'info',
      values: ['trace', 'debug', 'info', 'warn', 'error', 'silent'],
      doc: 'pino log level.',
    },
    {
      key: 'mdns',
      kind: 'bool',
      default: false,
      doc: 'Discover peers on the LAN with mDNS.',
    },
    {
      key: 'mdns_interface',
      kind: 'string',
      default: '127.0.0.1',
      doc: 'Interface address mDNS binds and sends on.',
    },
    {
      key: 'mdns_port',
      kind: 'int',
      default: 5353,
      min: 1,
      max: 65_535,
      doc: 'UDP port of mDNS (5353 on a real LAN; another one isolates test networks).',
    },
    {
      key: 'max_message_bytes',
      kind: 'int',
      default: 1024 * 1024 - 1024,
      min: 1024,
      max: 16 * 1024 * 1024,
      doc: 'Largest application message (send, request, publish).',
    },
    {
      key: 'ack_timeout_ms',
      kind: 'int',
      default: 30 * S,
      min: 100,
      max: 86_400 * S,
      doc: 'How long send(…, {qos: ack}) waits for the acknowledgement.',
    },
    {
      key: 'retransmit_interval_ms',
      kind: 'int',
      default: 5 * S,
      min: 50,
      max: 3600 * S,
      doc: 'Unacknowledged messages are sent again this often, and on every reconnect.',
    },
    {
      key: 'max_outbox_messages',
      kind: 'int',
      default: 10_000,
      min: 1,
      max: 10_000_000,
      doc: 'Acknowledged messages kept for retransmission (persisted).',
    },
    {
      key: 'request_timeout_ms',
      kind: 'int',
      default: 10 * S,
      min: 10,
      max: 3600 * S,
      doc: 'Default time limit of request().',
    },
    {
      key: 'offline_delivery',
      kind: 'bool',
      default: true,
      doc: 'Store messages for unreachable peers in the DHT, sealed to their key.',
    },
    {
      key: 'offline_ttl_sec',
      kind: 'int',
      default: 7 * 86_400,
      min: 10,
      max: 30 * 86_400,
      doc: 'How long an offline message waits in the DHT.',
    },
    {
      key: 'offline_max_bytes',
      kind: 'int',
      default: 60 * 1024,
      min: 64,
      max: 61_440,
      doc: 'Largest offline message (sealed ciphertext).',
    },
    {
      key: 'gossip_d',
      kind: 'int',
      default: 6,
      min: 1,
      max: 64,
      doc: 'Gossip mesh degree D.',
    },
    {
      key: 'gossip_d_lo',
      kind: 'int',
      default: 4,
      min: 0,
      max: 64,
      doc: 'Mesh lower bound Dlo.',
    },
    {
      key: 'gossip_d_hi',
      kind: 'int',
      default: 12,
      min: 1,
      max: 128,
      doc: 'Mesh upper bound Dhi.',
    },
    {
      key: 'gossip_heartbeat_ms',
      kind: 'int',
      default: 1000,
      min: 10,
      max: 60 * S,
      doc: 'Mesh maintenance and lazy-gossip period.',
    },
  ],
};
