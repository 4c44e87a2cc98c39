import { NotificationsConfigError } from '../../notifications.errors';
import { loadWebPush } from '../web-push/web-push-sender';
import { loadNodemailer } from './email-sender';
import { absoluteLink, defaultEmail, escapeHtml, messageIdOf } from './email-template';

const item = (over: object = {}) => ({
  id: '7',
  type: 'comment',
  title: '<script>x</script>',
  body: 'a & b',
  url: '/p/1',
  actions: [
    { label: 'Open "it"', url: 'https://app.test/p/1' },
    { label: 'Ack', event: 'ack' },
  ],
  scope: null,
  createdAt: new Date(0),
  ...over,
});

describe('the default e-mail', () => {
  it('escapes every string in the HTML part and keeps the text part plain', () => {
    const mail = defaultEmail(
      { userId: 'u', scope: null, items: [item()], unsubscribeUrl: 'https://app.test/u?a=1&b=2' },
      'https://app.test',
    );
    expect(mail.subject).toBe('<script>x</script>');
    expect(mail.html).toContain('&lt;script&gt;x&lt;/script&gt;');
    expect(mail.html).not.toContain('<script>');
    expect(mail.html).toContain('Open &quot;it&quot;');
    expect(mail.html).toContain('href="https://app.test/u?a=1&amp;b=2"');
    expect(mail.text).toBe(
      '<script>x</script>\na & b\nhttps://app.test/p/1\nOpen "it": https://app.test/p/1\n\n---\n\nUnsubscribe: https://app.test/u?a=1&b=2\n',
    );
  });

  it('a digest says how many; a relative link without baseUrl is left out', () => {
    const mail = defaultEmail({ userId: 'u', scope: 'acme', items: [item(), item({ id: '8', title: null })], unsubscribeUrl: null });
    expect(mail.subject).toBe('2 new notifications');
    expect(mail.text.split('\n')).not.toContain('/p/1');
    expect(mail.text.split('\n')).not.toContain('https://app.test/p/1');
    expect(absoluteLink('/x', undefined)).toBeNull();
    expect(absoluteLink('https://a.test/x', undefined)).toBe('https://a.test/x');
    expect(escapeHtml(`<>&"'`)).toBe('&lt;&gt;&amp;&quot;&#39;');
  });

  it('Message-ID: the same for the same user, inbox and notifications in any order; the sender domain', () => {
    const a = messageIdOf('Acme <no-reply@acme.example>', 'u', '', ['10', '9']);
    expect(a).toBe(messageIdOf('Acme <no-reply@acme.example>', 'u', '', ['9', '10']));
    expect(a).toMatch(/^<[0-9a-f]{40}@acme\.example>$/);
    expect(messageIdOf('no-reply@acme.example', 'u', 'acme', ['9', '10'])).not.toBe(a);
  });
});

describe('optional peers', () => {
  const missing = (name: string) => () => Promise.reject(new Error(`Cannot find module '${name}'`));
  it('a missing nodemailer or web-push is a start-up error naming what to install', async () => {
    await expect(loadNodemailer(missing('nodemailer'))).rejects.toThrow(NotificationsConfigError);
    await expect(loadNodemailer(missing('nodemailer'))).rejects.toThrow(/channels\.email.*npm install nodemailer/);
    await expect(loadWebPush(missing('web-push'))).rejects.toThrow(/channels\.webPush.*npm install web-push/);
  });
});
