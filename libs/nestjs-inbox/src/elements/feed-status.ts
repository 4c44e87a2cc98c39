import type { InboxClient } from '../client/inbox-client';
import type { InboxMessages } from './messages';

/** The feed's status line: its text (empty when there is nothing to say) and its kind. */
export function feedStatus(
  t: InboxMessages,
  failure: string | null,
  state: InboxClient['state'],
  loaded: boolean,
  empty: boolean,
): { text: string; kind: string } {
  const text =
    failure ?? (state === 'unauthorized' ? t.signedOut : state === 'disconnected' ? t.offline : !loaded ? t.loading : empty ? t.empty : '');
  const kind = failure ? 'error' : state === 'unauthorized' || state === 'disconnected' ? 'offline' : !loaded ? 'loading' : 'empty';
  return { text, kind };
}
