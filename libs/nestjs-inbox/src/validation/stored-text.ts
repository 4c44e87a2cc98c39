/** Text Postgres can store: the rule every string field of every door is held to. */

/** Node 20 has `String.prototype.isWellFormed`; the ES2022 lib the library compiles against does not declare it. */
const isWellFormed = (s: string): boolean => (s as string & { isWellFormed(): boolean }).isWellFormed();

/**
 * Why Postgres cannot store `s` as text or in jsonb, or `null`. It holds no NUL, and no lone
 * UTF-16 surrogate (half of a pair, which UTF-8 cannot encode): jsonb refuses the escape
 * (SQLSTATE 22P02), and pg sends one in a text parameter as U+FFFD, so 'a\ud800' and 'a\udbff'
 * would become the same user id. Refused here, at every door, with the field named.
 */
export function textProblem(s: string): string | null {
  if (s.includes('\0')) return 'must not contain NUL characters';
  if (!isWellFormed(s)) return 'must not contain a lone UTF-16 surrogate (not valid Unicode)';
  return null;
}

/**
 * NUL or a lone surrogate as `JSON.stringify` writes them: `\u0000` or `\udXXX` after an odd run
 * of backslashes. It writes a well-formed pair as is, never escaped, so any such escape is lone.
 */
const UNSTORABLE_ESCAPE = /(?<!\\)(?:\\\\)*\\u(?:0000|d[89a-f][0-9a-f]{2})/i;

/** Whether JSON made by `JSON.stringify` holds text Postgres cannot store: one scan, no walk. */
export const hasUnstorableText = (json: string): boolean => UNSTORABLE_ESCAPE.test(json);

/**
 * Where in a JSON value (keys included) text Postgres cannot store is, as `data.items.0.name:
 * <problem>`, or `null`. Iterative: a deeply nested value must not overflow the stack.
 */
export function unstorableIn(value: unknown, path: string): string | null {
  const pending: [unknown, string][] = [[value, path]];
  for (let next = pending.pop(); next; next = pending.pop()) {
    const [v, at] = next;
    if (typeof v === 'string') {
      const problem = textProblem(v);
      if (problem) return `${at}: ${problem}`;
    } else if (typeof v === 'object' && v !== null) {
      for (const [key, child] of Object.entries(v).reverse()) {
        const problem = textProblem(key);
        if (problem) return `${at}: key ${JSON.stringify(key)}: ${problem}`;
        pending.push([child, `${at}.${key}`]);
      }
    }
  }
  return null;
}
