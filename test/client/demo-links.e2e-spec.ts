import { NotificationService } from 'nestjs-inbox';
import { DataSource } from 'typeorm';
import { type DemoRig, item, logIn, openInbox, startDemo, WAIT } from '../support/demo-browser';

const BAD = 'javascript:alert(document.cookie)';

/**
 * The bundled client in Chromium checks links again before the page gets them (issue 20.5): a
 * row whose `url`, action url and `avatarUrl` were rewritten in the table, around the service's
 * and the SQL functions' checks, reaches the page without them, on both ways in (the catch-up's
 * pushed notifications and a listed page). The table's own CHECK constraints (the SQL door's
 * migration) refuse such a row today, so the test drops them first: the client's check is for
 * rows the constraints never saw (written before the upgrade, or with the constraints dropped).
 */
describe('demo in Chromium: links of a row written around the checks', () => {
  let rig: DemoRig;

  beforeAll(async () => {
    rig = await startDemo();
  }, 45000);
  afterAll(() => rig?.close());

  it('never hands a javascript: url, action url or avatarUrl to the page', async () => {
    const service = rig.app.get(NotificationService);
    const [n] = await service.notify('link-victim', {
      type: 'private-message',
      title: 'Poisoned link',
      url: '/ok',
      actions: [
        { label: 'Open', url: '/ok' },
        { label: 'Ack', url: '/ok', event: 'ack' },
      ],
      actor: { name: 'Mallory', avatarUrl: '/avatars/Mallory.svg' },
    });
    const db = rig.app.get(DataSource);
    for (const column of ['url', 'actions', 'actor']) {
      await db.query(`ALTER TABLE inbox_notification DROP CONSTRAINT inbox_notification_${column}_check`);
    }
    await db.query(`UPDATE inbox_notification SET url = $2, actions = $3::jsonb, actor = $4::jsonb WHERE id = $1`, [
      n.id,
      BAD,
      JSON.stringify([
        { label: 'Open', url: BAD },
        { label: 'Ack', url: BAD, event: 'ack' },
      ]),
      JSON.stringify({ name: 'Mallory', avatarUrl: BAD }),
    ]);

    const context = await rig.browser.newContext();
    const page = await context.newPage();
    await page.goto(rig.origin);
    await logIn(page, 'link-victim');
    await openInbox(page);
    await item(page, 'Poisoned link').waitFor(WAIT);

    const seen = await page.evaluate(async (title) => {
      const links = (x: any) => x && { url: x.url, actions: x.actions, actor: x.actor };
      // The page's own client, and a second one listening from before it connects, so the
      // catch-up's pushed copy is seen as well as the listed one.
      const held = document.querySelector('inbox-bell')!.client!.notifications.find((x: any) => x.title === title);
      const own = new (window as any).NestjsInboxElements.InboxClient({ autoConnect: false });
      const pushed: any[] = [];
      own.on('notification', (x: any) => pushed.push(x));
      const listed = new Promise<any>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('the second client never listed the notification')), 10000);
        own.on('change', (items: any[]) => {
          const hit = items.find((x) => x.title === title);
          if (!hit) return;
          clearTimeout(timer);
          resolve(hit);
        });
      });
      own.connect();
      const fromList = await listed;
      own.close();
      return {
        held: links(held),
        pushed: links(pushed.find((x) => x.title === title)),
        listed: links(fromList),
        // In the page and in the elements' shadow roots.
        scriptLinks: [
          document,
          ...Array.from(document.querySelectorAll('inbox-bell, inbox-preferences'), (e) => e.shadowRoot!),
          document.querySelector('inbox-bell')!.feedElement.shadowRoot!,
        ]
          .map((root) => root.querySelectorAll('[href^="javascript:" i], [src^="javascript:" i]').length)
          .reduce((a, b) => a + b, 0),
      };
    }, 'Poisoned link');

    const safe = { url: null, actions: [{ label: 'Ack', event: 'ack' }], actor: { name: 'Mallory' } };
    expect(seen).toEqual({ held: safe, pushed: safe, listed: safe, scriptLinks: 0 });
    await context.close();
  });
});
