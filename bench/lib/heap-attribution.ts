import { readFileSync } from 'node:fs';

/**
 * Splits a heap snapshot's per-connection memory among the objects that own it. Each category
 * has anchors (its objects, one per connection, told apart by their own properties); from them
 * a walk claims every object reached that belongs to one connection only: it does not follow
 * weak edges, code and hidden classes, does not enter another category's anchor, nor an object
 * with more than `SHARED_ABOVE` retainers (the server, prototypes, interned strings: shared by
 * all connections). Categories claim in the order given, an object once. The self sizes
 * claimed, divided by the connections open, are what each category holds per connection (the
 * adapter is one object: its claim is its rooms' memory, all but a few bytes of it per connection);
 * what the heap grew by per connection less their sum is not attributed (shared structures'
 * growth: the maps of sockets, the timer lists).
 */
const SHARED_ABOVE = 8;

export interface Category {
  name: string;
  /** Whether a node (its class name and own property names) is an anchor of this category. */
  anchor: (className: string, props: Set<string>) => boolean;
}

/** Socket.IO over ws, told apart by property names (three classes are called `Socket`, two `WebSocket`). */
export const SOCKET_IO_CATEGORIES: Category[] = [
  {
    name: 'upgrade request (IncomingMessage) and engine.io’s upgrade response',
    anchor: (c, p) => c === 'IncomingMessage' || (c === 'WebSocketResponse' && p.has('req')),
  },
  {
    name: 'socket.io Socket and Client (handshake, data, rooms Set, decoder)',
    anchor: (c, p) => (c === 'Socket' && p.has('nsp') && p.has('client')) || (c === 'Client' && p.has('conn') && p.has('nsps')),
  },
  {
    name: 'engine.io Socket and its WebSocket transport (timers, buffers)',
    anchor: (c, p) => (c === 'Socket' && p.has('upgrading') && p.has('transport')) || (c === 'WebSocket' && p.has('_doSend')),
  },
  { name: 'ws WebSocket (receiver, sender, parsers)', anchor: (c, p) => c === 'WebSocket' && p.has('_receiver') },
  {
    name: 'TCP socket (net.Socket, its stream states, the TCP handle)',
    // `_handle` is a getter on Node 20+: the field is the symbol kHandle.
    anchor: (c, p) => c === 'Socket' && p.has('<symbol kHandle>') && p.has('_readableState'),
  },
  {
    name: 'the adapter’s rooms (its maps’ entries, a Set per room and per socket)',
    anchor: (c, p) => c === 'Adapter' && p.has('rooms') && p.has('sids'),
  },
];

export interface Attribution {
  connections: number;
  /** KiB per connection, by category, in the categories' order. */
  perConnection: { name: string; anchors: number; kib: number }[];
}

export function attribute(path: string, connections: number, categories: Category[] = SOCKET_IO_CATEGORIES): Attribution {
  const snapshot = JSON.parse(readFileSync(path, 'utf8'));
  const meta = snapshot.snapshot.meta;
  const nodeFields: string[] = meta.node_fields;
  const edgeFields: string[] = meta.edge_fields;
  const nodeTypes: string[] = meta.node_types[0];
  const edgeTypes: string[] = meta.edge_types[0];
  const { nodes, edges, strings } = snapshot as { nodes: number[]; edges: number[]; strings: string[] };
  const NF = nodeFields.length;
  const EF = edgeFields.length;
  const [nType, nName, nSize, nEdges] = ['type', 'name', 'self_size', 'edge_count'].map((f) => nodeFields.indexOf(f));
  const [eType, eName, eTo] = ['type', 'name_or_index', 'to_node'].map((f) => edgeFields.indexOf(f));
  const count = nodes.length / NF;
  const firstEdge = new Uint32Array(count + 1);
  for (let i = 0; i < count; i++) firstEdge[i + 1] = firstEdge[i] + nodes[i * NF + nEdges] * EF;
  const weak = edgeTypes.indexOf('weak');
  const property = edgeTypes.indexOf('property');
  const skipTypes = new Set(['code', 'hidden', 'synthetic', 'object shape'].map((t) => nodeTypes.indexOf(t)));
  const retainers = new Uint32Array(count);
  for (let e = 0; e < edges.length; e += EF) if (edges[e + eType] !== weak) retainers[edges[e + eTo] / NF]++;
  const props = (i: number) => {
    const out = new Set<string>();
    for (let e = firstEdge[i]; e < firstEdge[i + 1]; e += EF) if (edges[e + eType] === property) out.add(strings[edges[e + eName]]);
    return out;
  };
  const objectType = nodeTypes.indexOf('object');
  const anchorsOf = categories.map(() => [] as number[]);
  for (let i = 0; i < count; i++) {
    if (nodes[i * NF + nType] !== objectType) continue;
    const className = strings[nodes[i * NF + nName]];
    if (!['Socket', 'Client', 'WebSocket', 'IncomingMessage', 'WebSocketResponse', 'Adapter'].includes(className)) continue;
    const p = props(i);
    const k = categories.findIndex((c) => c.anchor(className, p));
    if (k >= 0) anchorsOf[k].push(i);
  }
  const isAnchor = new Uint8Array(count);
  for (const list of anchorsOf) for (const i of list) isAnchor[i] = 1;
  const claimed = new Uint8Array(count);
  const perConnection = categories.map((c, k) => {
    let bytes = 0;
    const stack = [...anchorsOf[k]];
    for (const i of stack) claimed[i] = 1;
    while (stack.length) {
      const i = stack.pop()!;
      bytes += nodes[i * NF + nSize];
      for (let e = firstEdge[i]; e < firstEdge[i + 1]; e += EF) {
        if (edges[e + eType] === weak) continue;
        const j = edges[e + eTo] / NF;
        if (claimed[j] || isAnchor[j] || retainers[j] > SHARED_ABOVE || skipTypes.has(nodes[j * NF + nType])) continue;
        claimed[j] = 1;
        stack.push(j);
      }
    }
    return { name: c.name, anchors: anchorsOf[k].length, kib: bytes / connections / 1024 };
  });
  return { connections, perConnection };
}
