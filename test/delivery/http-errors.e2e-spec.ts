import { Body, Controller, INestApplication, Module, Param, Post } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { TypeOrmModule } from '@nestjs/typeorm';
import { NotificationInput, NotificationService, NotificationsModule } from 'nestjs-inbox';
import { migrate } from '../support/app';
import { createDatabase } from '../support/database';

/** A host's own HTTP API that passes its callers' input to the library unchecked. */
@Controller('users/:userId')
class HostController {
  constructor(private readonly notifications: NotificationService) {}

  @Post('notifications')
  notify(@Param('userId') userId: string, @Body() body: NotificationInput) {
    return this.notifications.notify(userId, body);
  }

  @Post('read')
  read(@Param('userId') userId: string, @Body() body: { ids: string[] }) {
    return this.notifications.markRead(userId, body.ids);
  }
}

describe('library errors escaping a host controller', () => {
  let db: Awaited<ReturnType<typeof createDatabase>>;
  let app: INestApplication;
  let url: string;

  beforeAll(async () => {
    db = await createDatabase();
    await migrate(db.url);
    @Module({
      imports: [TypeOrmModule.forRoot({ type: 'postgres', url: db.url }), NotificationsModule.forRoot({ gateway: false })],
      controllers: [HostController],
    })
    class Host {}
    app = await NestFactory.create(Host, { logger: false });
    await app.listen(0, '127.0.0.1');
    url = (await app.getUrl()).replace('[::1]', '127.0.0.1');
  });
  afterAll(async () => {
    await app?.close();
    await db?.drop();
  });

  const post = (path: string, body: unknown) =>
    fetch(`${url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

  it('answer 400 with INVALID_INPUT and a message naming the field, storing nothing', async () => {
    const response = await post('/users/alice/notifications', { type: '' });
    expect(response.status).toBe(400);
    expect(await response.json()).toEqual({ statusCode: 400, code: 'INVALID_INPUT', message: expect.stringMatching(/type/) });
    expect((await app.get(NotificationService).list('alice')).items).toEqual([]);
  });

  it('answer 400 naming the field for text Postgres cannot store (a lone UTF-16 surrogate), storing nothing', async () => {
    // Raw bytes: JSON escapes of a lone surrogate, which the host's JSON body parser turns into one.
    const raw = (body: string) =>
      fetch(`${url}/users/lone/notifications`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
    for (const [body, field] of [
      ['{"type": "m", "title": "a\\ud800"}', 'title'],
      ['{"type": "m", "data": {"nested": {"v": "\\udc00"}}}', 'data.nested.v'],
    ]) {
      const response = await raw(body);
      expect(response.status, body).toBe(400);
      expect(await response.json(), body).toEqual({
        statusCode: 400,
        code: 'INVALID_INPUT',
        message: `notification: ${field}: must not contain a lone UTF-16 surrogate (not valid Unicode)`,
      });
    }
    expect((await app.get(NotificationService).list('lone')).items).toEqual([]);
  });

  it('answer 400 for a malformed id as well', async () => {
    const response = await post('/users/alice/read', { ids: ['not-an-id'] });
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ code: 'INVALID_INPUT', message: expect.stringMatching(/id/) });
  });

  it('leave good input alone: 201 with the stored notification', async () => {
    const response = await post('/users/alice/notifications', { type: 'greeting', title: 'hello' });
    expect(response.status).toBe(201);
    expect(await response.json()).toEqual([expect.objectContaining({ userId: 'alice', type: 'greeting', title: 'hello' })]);
  });
});
