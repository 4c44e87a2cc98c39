/** Registers a query parameter and returns its placeholder (`$n`). */
export type Param = (value: unknown) => string;

/** Parameters after the first `skip` (`$1`… are the query's own): returns the placeholder. */
export function params(skip: number): { values: unknown[]; param: Param } {
  const values: unknown[] = [];
  return { values, param: (v) => `$${values.push(v) + skip}` };
}

/** For a statement that takes no filter values: building it with one is a bug. */
export const noValues: Param = () => {
  throw new Error('nestjs-inbox: a constant statement was built with a filter value');
};

const texts = new Map<string, string>();
/**
 * A statement whose text never changes (no filter in it), built once: the hot reads of many
 * users (badges, catch-ups) would otherwise build ~10 KB of SQL per call, and hash it again to
 * find its prepared statement's name (StatementRunner.query).
 */
export function builtOnce(key: string, build: () => string): string {
  let text = texts.get(key);
  if (text === undefined) texts.set(key, (text = build()));
  return text;
}
