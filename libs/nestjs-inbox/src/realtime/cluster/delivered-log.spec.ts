import type { Socket } from 'socket.io';
import { DeliveredLog } from './delivered-log';

const inbox = (userId: string, scope: string | null = null) => ({ userId, scope });

/** A socket as far as the log sees it: its user, and Socket.IO calling the outgoing listener. */
function socketOf(userId: string, scope: string | null = null) {
  let listener: ((...args: unknown[]) => void) | undefined;
  const socket = {
    data: { userId, scope },
    onAnyOutgoing: (fn: (...args: unknown[]) => void) => (listener = fn),
    send: (event: string, payload: object) => listener!.apply(socket, [event, payload]),
  };
  return socket;
}

describe('DeliveredLog', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('remembers per user which notifications their sockets were sent, and nothing else', () => {
    const log = new DeliveredLog();
    const [alice, bob] = [socketOf('alice'), socketOf('bob')];
    log.track(alice as unknown as Socket);
    log.track(bob as unknown as Socket);
    alice.send('notification', { id: '7', broadcast: true, topic: null });
    alice.send('notifications:unread', { count: 1 });
    expect(log.delivered(inbox('alice'), '7')).toBe(true);
    expect(log.delivered(inbox('bob'), '7')).toBe(false);
  });

  it('remembers per inbox: a scope’s sockets were not sent what another scope’s were', () => {
    const log = new DeliveredLog();
    const [inAcme, unscoped] = [socketOf('alice', 'acme'), socketOf('alice')];
    log.track(inAcme as unknown as Socket);
    log.track(unscoped as unknown as Socket);
    inAcme.send('notification', { id: '8', scope: 'acme' });
    expect(log.delivered(inbox('alice', 'acme'), '8')).toBe(true);
    expect(log.delivered(inbox('alice'), '8')).toBe(false);
    expect(log.delivered(inbox('alice', 'globex'), '8')).toBe(false);
  });

  it('forgets after its retention while Redis is up, but keeps everything during an outage', () => {
    const log = new DeliveredLog();
    const alice = socketOf('alice');
    log.track(alice as unknown as Socket);
    alice.send('notification', { id: '1' });
    vi.advanceTimersByTime(11_000);
    alice.send('notification', { id: '2' });
    expect(log.delivered(inbox('alice'), '1')).toBe(false);

    log.hold();
    vi.advanceTimersByTime(60_000);
    alice.send('notification', { id: '3' });
    expect([log.delivered(inbox('alice'), '2'), log.delivered(inbox('alice'), '3')]).toEqual([true, true]);
    log.release();
    // Still remembered for instances that come back later and ask for a resend.
    vi.advanceTimersByTime(29_000);
    alice.send('notification', { id: '4' });
    expect([log.delivered(inbox('alice'), '2'), log.delivered(inbox('alice'), '3')]).toEqual([true, true]);
    vi.advanceTimersByTime(2_000);
    alice.send('notification', { id: '5' });
    expect([log.delivered(inbox('alice'), '2'), log.delivered(inbox('alice'), '4'), log.delivered(inbox('alice'), '5')]).toEqual([
      false,
      true,
      true,
    ]);
  });
});
