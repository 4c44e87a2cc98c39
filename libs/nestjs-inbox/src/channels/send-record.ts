import type { EntityManager } from 'typeorm';
import type { ChannelSendRepository } from '../persistence/repositories/channel-send.repository';
import type { Channel } from '../protocol';

/** Moves sends to a final status and logs it, in `tx` when given. */
export async function recordFinal(
  sends: ChannelSendRepository,
  tx: EntityManager | undefined,
  s: { userId: string; scope: string; channel: Channel; ids: string[] },
  outcome: 'skipped' | 'failed',
  reason: string,
  attempt: number,
): Promise<void> {
  await sends.log({ userId: s.userId, scope: s.scope, channel: s.channel, notificationIds: s.ids, outcome, reason, attempt }, tx);
  await sends.move(s, outcome, { tx });
}
