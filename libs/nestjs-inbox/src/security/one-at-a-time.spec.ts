import { NotificationsError } from '../notifications.errors';
import { OneAtATime } from './one-at-a-time';

/** A task that runs until `release()`, recording when it starts. */
function gate(started: string[], name: string) {
  let release!: () => void;
  const done = new Promise<void>((resolve) => (release = resolve));
  return { task: () => (started.push(name), done.then(() => name)), release };
}

describe('OneAtATime', () => {
  it("runs one key's tasks one at a time, in order, and other keys' side by side", async () => {
    const queue = new OneAtATime(10);
    const started: string[] = [];
    const [a1, a2, b1] = [gate(started, 'a1'), gate(started, 'a2'), gate(started, 'b1')];
    const results = [queue.run('a', 'x', a1.task), queue.run('a', 'x', a2.task), queue.run('b', 'x', b1.task)];
    await Promise.resolve();
    await Promise.resolve();
    expect(started).toEqual(['a1', 'b1']);
    a1.release();
    expect(await results[0]).toBe('a1');
    await Promise.resolve();
    expect(started).toEqual(['a1', 'b1', 'a2']);
    a2.release();
    b1.release();
    expect(await Promise.all(results)).toEqual(['a1', 'a2', 'b1']);
  });

  it('refuses past the limit with RATE_LIMITED naming the task, and takes tasks again once one ended', async () => {
    const queue = new OneAtATime(2);
    const started: string[] = [];
    const [one, two, three] = [gate(started, '1'), gate(started, '2'), gate(started, '3')];
    const first = queue.run('u', 'archive', one.task);
    const second = queue.run('u', 'archive', two.task);
    const refused = queue.run('u', 'archive', three.task);
    await expect(refused).rejects.toBeInstanceOf(NotificationsError);
    await expect(refused).rejects.toMatchObject({ code: 'RATE_LIMITED', message: expect.stringMatching(/^archive: 2 changes/) });
    expect(started).toEqual(['1']);
    one.release();
    await first;
    const third = queue.run('u', 'archive', three.task);
    two.release();
    three.release();
    expect(await Promise.all([second, third])).toEqual(['2', '3']);
  });

  it('goes on after a failed task, and forgets a key once idle', async () => {
    const queue = new OneAtATime(5);
    const failed = queue.run('u', 'x', () => Promise.reject(new Error('boom')));
    const next = queue.run('u', 'x', async () => 'next');
    await expect(failed).rejects.toThrow('boom');
    expect(await next).toBe('next');
    await Promise.resolve();
    expect(queue.size('u')).toBe(0);
    expect((queue as unknown as { queues: Map<string, unknown> }).queues.size).toBe(0);
  });
});
