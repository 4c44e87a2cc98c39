import { Socket } from 'socket.io';
import { addAnyListener } from './socket-io.compat';

/** Socket.IO's private entry points of a packet, received and sent. */
interface Packets {
  onevent(packet: { type: number; data: unknown[] }): void;
  notifyOutgoingListeners(packet: object): void;
}

/** A Socket.IO socket as far as its catch-all listeners go: the real class's methods, no connection. */
function socket(): Socket {
  return Object.assign(Object.create(Socket.prototype), { fns: [] });
}
const packets = (s: Socket) => s as unknown as Packets;

describe('addAnyListener', () => {
  it('adds to the socket’s own arrays, which Socket.IO reads, calls and splices', () => {
    const s = socket();
    const calls: string[] = [];
    const a = function (this: Socket, event: string) {
      calls.push(`a ${event} ${this === s}`);
    };
    const b = (event: string) => calls.push(`b ${event}`);
    const incoming = (event: string) => calls.push(`in ${event}`);
    addAnyListener(s, 'outgoing', a);
    addAnyListener(s, 'outgoing', b);
    addAnyListener(s, 'incoming', incoming);
    expect(s.listenersAnyOutgoing()).toEqual([a, b]);
    expect(s.listenersAny()).toEqual([incoming]);

    packets(s).notifyOutgoingListeners({ type: 2, data: ['out-1'] });
    packets(s).onevent({ type: 2, data: ['in-1'] });
    s.offAnyOutgoing(a);
    packets(s).notifyOutgoingListeners({ type: 2, data: ['out-2'] });
    expect(calls).toEqual(['a out-1 true', 'b out-1', 'in in-1', 'b out-2']);
  });

  it('uses the public method where the private array is not there to read (another Socket.IO, a test double)', () => {
    const added: unknown[] = [];
    const double = { onAny: (l: unknown) => added.push(['in', l]), onAnyOutgoing: (l: unknown) => added.push(['out', l]) };
    const listener = () => undefined;
    addAnyListener(double as unknown as Socket, 'incoming', listener);
    addAnyListener(double as unknown as Socket, 'outgoing', listener);
    expect(added).toEqual([
      ['in', listener],
      ['out', listener],
    ]);
    expect(double).not.toHaveProperty('_anyListeners');
  });
});
