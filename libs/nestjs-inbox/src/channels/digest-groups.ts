import type { EntityManager } from 'typeorm';
import type { ChannelSendRepository, ClaimedSend } from '../persistence/repositories/channel-send.repository';
import type { Channel } from '../protocol';

/** Most notifications in one digest e-mail. */
export const MAX_DIGEST = 100;

/**
 * One claim's groups, in `tx`: each due send of a channel without a digest alone; for a channel
 * with a digest window, per inbox whose first send is due past it, every send of that inbox
 * due by now as one group. An inbox's digest is claimed whole by one instance: its advisory lock
 * is taken before any of its rows (DIGEST_INBOXES_SQL), so two instances never split it.
 */
export async function claimGroups(
  sends: ChannelSendRepository,
  tx: EntityManager,
  channels: { channel: Channel; digestMs?: number }[],
  limit: number,
): Promise<ClaimedSend[][]> {
  const single = channels.filter((c) => !c.digestMs).map((c) => c.channel);
  const groups = (await sends.claim(tx, single, limit)).map((d) => [d]);
  for (const { channel, digestMs } of channels) {
    if (!digestMs || groups.length >= limit) continue;
    for (const inbox of await sends.digestInboxes(tx, channel, digestMs, limit - groups.length)) {
      const group = await sends.digest(tx, inbox, channel, digestMs, MAX_DIGEST);
      if (group.length > 0) groups.push(group);
    }
  }
  return groups;
}
