import { MAX_HELD_IDS } from '../protocol';
import { Cursor, MAX_RECEIVED } from './cursor';
import { PersistedCursor, type CursorStorage } from './cursor-storage';

/** A `localStorage` stand-in that records what is written. */
function memoryStorage(initial: Record<string, string> = {}): CursorStorage & { data: Record<string, string>; writes: number } {
  return {
    data: { ...initial },
    writes: 0,
    getItem(key) {
      return this.data[key] ?? null;
    },
    setItem(key, value) {
      this.writes++;
      this.data[key] = value;
    },
  };
}

const KEY = 'nestjs-inbox:cursor:/notifications:u1';
const persisted = (storage: CursorStorage) => new PersistedCursor(storage, '/notifications', 'u1');

describe('Cursor', () => {
  it('starts with no cursor and sends an empty handshake', () => {
    const cursor = new Cursor();
    expect(cursor.current).toBeUndefined();
    expect(cursor.handshake([{ id: '5' }])).toEqual({});
  });

  it('only moves forward, by id order beyond 2^53', () => {
    const cursor = new Cursor();
    cursor.move('9');
    cursor.move('10');
    cursor.move('8');
    cursor.move(undefined);
    expect(cursor.current).toBe('10');
    cursor.move('9007199254740993');
    cursor.move('9007199254740992');
    expect(cursor.current).toBe('9007199254740993');
  });

  it('starts from the stored cursor and stores it only when it moves', () => {
    const storage = memoryStorage({ [KEY]: '42' });
    const cursor = new Cursor(persisted(storage));
    expect(cursor.current).toBe('42');
    cursor.move('41');
    cursor.move('42');
    expect(storage.writes).toBe(0);
    cursor.receive('43');
    expect(storage.data[KEY]).toBe('43');
    expect(storage.writes).toBe(1);
  });

  it('keeps one cursor per scope, the unscoped one under the key of clients before scopes', () => {
    const storage = memoryStorage({ [KEY]: '42' });
    const inAcme = new PersistedCursor(storage, '/notifications', 'u1', 'acme');
    const cursor = new Cursor(inAcme);
    expect(cursor.current).toBeUndefined();
    cursor.receive('50');
    expect(storage.data[KEY]).toBe('42');
    expect(storage.data['nestjs-inbox:cursor:/notifications:["u1","acme"]']).toBe('50');
    // A user id and a scope that would run together in a plain key stay apart.
    new Cursor(new PersistedCursor(storage, '/notifications', 'u1:x', 'y')).receive('7');
    expect(new Cursor(new PersistedCursor(storage, '/notifications', 'u1', 'x:y')).current).toBeUndefined();
  });

  it("reset() starts over as another scope's cursor, forgetting what was received", () => {
    const storage = memoryStorage({ [KEY]: '42' });
    const cursor = new Cursor(new PersistedCursor(storage, '/notifications', 'u1', 'acme'));
    cursor.receive('60');
    cursor.reset(persisted(storage));
    expect(cursor.current).toBe('42');
    expect(cursor.hasReceived('60')).toBe(false);
    expect(cursor.handshake([])).toEqual({ cursor: '42', held: [] });
    cursor.reset();
    expect(cursor.current).toBeUndefined();
  });

  it('ignores a malformed stored cursor, which the server would refuse', () => {
    expect(new Cursor(persisted(memoryStorage({ [KEY]: '007' }))).current).toBeUndefined();
    expect(new Cursor(persisted(memoryStorage({ [KEY]: 'x' }))).current).toBeUndefined();
  });

  it('remembers received ids, forgetting the oldest past MAX_RECEIVED', () => {
    const cursor = new Cursor();
    for (let i = 1; i <= MAX_RECEIVED + 1; i++) cursor.receive(String(i));
    expect(cursor.hasReceived('1')).toBe(false);
    expect(cursor.hasReceived('2')).toBe(true);
    expect(cursor.hasReceived(String(MAX_RECEIVED + 1))).toBe(true);
    expect(cursor.current).toBe(String(MAX_RECEIVED + 1));
  });

  it('a received id received again counts as new, so it is forgotten last', () => {
    const cursor = new Cursor();
    for (let i = 1; i <= MAX_RECEIVED; i++) cursor.receive(String(i));
    cursor.receive('1');
    cursor.receive(String(MAX_RECEIVED + 1));
    expect(cursor.hasReceived('1')).toBe(true);
    expect(cursor.hasReceived('2')).toBe(false);
  });

  it('shakes hands with the ids received or held below the cursor, newest first, without duplicates', () => {
    const cursor = new Cursor();
    for (const id of ['3', '10', '7']) cursor.receive(id);
    const auth = cursor.handshake([{ id: '10' }, { id: '9' }, { id: '7' }, { id: '1' }]);
    expect(auth).toEqual({ cursor: '10', held: ['9', '7', '3', '1'] });
  });

  it('lists at most MAX_HELD_IDS held ids, the newest', () => {
    const cursor = new Cursor();
    const held = Array.from({ length: MAX_HELD_IDS + 50 }, (_, i) => ({ id: String(i + 1) }));
    cursor.move(String(MAX_HELD_IDS + 51));
    const auth = cursor.handshake(held);
    expect(auth.held).toHaveLength(MAX_HELD_IDS);
    expect(auth.held![0]).toBe(String(MAX_HELD_IDS + 50));
    expect(auth.held![MAX_HELD_IDS - 1]).toBe('51');
  });
});
