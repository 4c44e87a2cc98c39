import { createHash } from 'node:crypto';
import type { ChannelItem, EmailRenderContext, RenderedEmail } from '../../notifications.feature-options';

/** Text made safe inside HTML elements and quoted attributes: every notification string is text, never markup. */
export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

/**
 * A link an e-mail can carry: an absolute http(s) URL as it is, a site-relative one against
 * `baseUrl` (none without it: a mail client has no site to resolve it against).
 */
export function absoluteLink(url: string | null | undefined, baseUrl: string | undefined): string | null {
  if (!url) return null;
  if (/^https?:\/\//i.test(url)) return url;
  return baseUrl ? new URL(url, baseUrl).toString() : null;
}

function subjectOf(items: ChannelItem[]): string {
  if (items.length === 1) return items[0].title ?? items[0].body?.slice(0, 100) ?? items[0].type;
  return `${items.length} new notifications`;
}

/**
 * The default e-mail: a plain text part and an HTML part with every string escaped; per
 * notification its title, body, link and actions' links; then the host's unsubscribe link.
 */
export function defaultEmail(ctx: EmailRenderContext, baseUrl?: string): RenderedEmail {
  const text: string[] = [];
  const html: string[] = [];
  for (const item of ctx.items) {
    const url = absoluteLink(item.url, baseUrl);
    const actions = item.actions.flatMap((a) => {
      const link = absoluteLink(a.url, baseUrl);
      return link ? [{ label: a.label, link }] : [];
    });
    text.push([item.title, item.body, url, ...actions.map((a) => `${a.label}: ${a.link}`)].filter((l): l is string => !!l).join('\n'));
    html.push(
      [
        item.title ? `<h2 style="font-size:16px;margin:0 0 4px">${escapeHtml(item.title)}</h2>` : '',
        item.body ? `<p style="margin:0 0 8px;white-space:pre-wrap">${escapeHtml(item.body)}</p>` : '',
        url ? `<p style="margin:0 0 8px"><a href="${escapeHtml(url)}">${escapeHtml(url)}</a></p>` : '',
        actions.length
          ? `<p style="margin:0 0 8px">${actions.map((a) => `<a href="${escapeHtml(a.link)}">${escapeHtml(a.label)}</a>`).join(' · ')}</p>`
          : '',
      ].join(''),
    );
  }
  if (ctx.unsubscribeUrl) {
    text.push(`Unsubscribe: ${ctx.unsubscribeUrl}`);
    html.push(`<p style="font-size:12px;color:#666"><a href="${escapeHtml(ctx.unsubscribeUrl)}">Unsubscribe</a></p>`);
  }
  return {
    subject: subjectOf(ctx.items),
    text: text.join('\n\n---\n\n') + '\n',
    html: `<!doctype html><html><body>${html.join('<hr>')}</body></html>`,
  };
}

/**
 * The Message-ID of one e-mail, derived from what it sends (the user, the inbox, the
 * notifications): a retry of the same send, or a second one after a crash, carries the same id,
 * so the receiving side can tell. Its domain is the sender's.
 */
export function messageIdOf(from: string, userId: string, scope: string, ids: string[]): string {
  const domain = /@([^>\s]+)>?\s*$/.exec(from)?.[1] ?? 'nestjs-inbox.invalid';
  const hash = createHash('sha256')
    .update(JSON.stringify(['email', userId, scope, [...ids].sort((a, b) => (BigInt(a) < BigInt(b) ? -1 : 1))]))
    .digest('hex')
    .slice(0, 40);
  return `<${hash}@${domain}>`;
}
