import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const PUBLIC = join(__dirname, '..', 'public');

/** A file of `src/public/`, read on each request (the demo is edited while it runs). */
export const readPublic = (file: string) => readFileSync(join(PUBLIC, file), 'utf8');

/** The pages' policy: nothing inline, so a slip into HTML rendering could not run or style anything. */
export const PAGE_CSP = "default-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'";
