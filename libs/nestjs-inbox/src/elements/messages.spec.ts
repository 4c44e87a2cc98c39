import { safeUrl } from './dom';
import { fill, isRtl, messagesFor, registerInboxMessages, relativeTime } from './messages';
import { groupText } from './notification-group';

describe('the elements’ words', () => {
  it('has English, Chinese, German and Arabic built in, Arabic right to left', () => {
    expect(messagesFor('en').markAllRead).toBe('Mark all as read');
    expect(messagesFor('zh-CN').markAllRead).toBe('全部标为已读');
    expect(messagesFor('de-AT').markAllRead).toBe('Alle als gelesen markieren');
    expect(messagesFor('ar').markAllRead).toBe('تعليم الكل كمقروء');
    expect(isRtl('ar-EG')).toBe(true);
    expect(isRtl('de')).toBe(false);
    // Unknown languages fall back to English.
    expect(messagesFor('xx').empty).toBe('No notifications');
  });

  it('takes more languages, key by key over English, a regional variant over its base', () => {
    registerInboxMessages('fr', { empty: 'Aucune notification' });
    registerInboxMessages('fr-CA', { markRead: 'Marquer comme lu' });
    expect(messagesFor('fr').empty).toBe('Aucune notification');
    expect(messagesFor('fr').markRead).toBe('Mark as read');
    expect(messagesFor('fr-CA')).toMatchObject({ empty: 'Aucune notification', markRead: 'Marquer comme lu' });
  });

  it('fills placeholders with text only, leaving unknown ones as they are', () => {
    expect(fill('New notification: {title}', { title: '<img src=x onerror=alert(1)>' })).toBe(
      'New notification: <img src=x onerror=alert(1)>',
    );
    expect(fill('{name} and {count} others {x}', { name: 'Ada', count: 3 })).toBe('Ada and 3 others {x}');
  });

  it('gives relative times through Intl.RelativeTimeFormat', () => {
    const now = Date.parse('2026-01-10T12:00:00Z');
    expect(relativeTime('2026-01-10T11:57:00Z', 'en', now)).toBe('3 minutes ago');
    expect(relativeTime('2026-01-10T11:57:00Z', 'de', now)).toBe('vor 3 Minuten');
    expect(relativeTime('2026-01-09T12:00:00Z', 'en', now)).toBe('yesterday');
    expect(relativeTime('2026-01-10T11:59:58Z', 'en', now)).toBe('now');
    expect(relativeTime('2026-01-10T09:00:00Z', 'ar', now)).toMatch(/٣|3/);
  });

  it('says who is in a group: "Alice and 2 others"', () => {
    const t = messagesFor('en');
    const actors = (...names: string[]) => names.map((name) => ({ name }));
    expect(groupText(undefined, t)).toBeNull();
    expect(groupText({ key: 'k', count: 3, actors: actors('Alice') }, t)).toBe('Alice');
    expect(groupText({ key: 'k', count: 2, actors: actors('Alice', 'Bob') }, t)).toBe('Alice and one other');
    expect(groupText({ key: 'k', count: 3, actors: actors('Alice', 'Bob', 'Carol') }, t)).toBe('Alice and 2 others');
    // Five actors is the most the server sends: the count says how many there were.
    expect(groupText({ key: 'k', count: 12, actors: actors('A', 'B', 'C', 'D', 'E') }, t)).toBe('A and 11 others');
    expect(groupText({ key: 'k', count: 3, actors: actors('Alice', 'Bob', 'Carol') }, messagesFor('de'))).toBe('Alice und 2 weitere');
  });

  it('follows only http(s) and site-relative links', () => {
    expect(safeUrl('/posts/1')).toBe('/posts/1');
    expect(safeUrl('https://example.com/a')).toBe('https://example.com/a');
    for (const bad of ['javascript:alert(1)', '//evil.example', '/\\evil.example', 'data:text/html,x', ' /x', 42, null])
      expect(safeUrl(bad)).toBeNull();
  });
});
