import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { BrowserContext } from 'playwright-core';
import { WAIT } from '../support/demo-browser';
import { bundleInto, type ElementsRig, showsReadsAndActs, startElementsRig, typeErrors } from '../support/elements-rig';

/** The elements in a React 19 app (test/elements/apps/react-app.tsx), bundled with esbuild here. */
const APP = join(__dirname, 'apps', 'react-app.tsx');

describe('drop-in elements in a React 19 app', () => {
  let rig: ElementsRig;
  let context: BrowserContext;

  beforeAll(async () => {
    rig = await startElementsRig();
    await bundleInto(rig.site, 'react-app.js', readFileSync(APP, 'utf8'), { define: { INBOX_URL: JSON.stringify(rig.app.url) } });
    writeFileSync(
      join(rig.site, 'index.html'),
      '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>React</title></head><body><div id="root"></div><script type="module" src="/react-app.js"></script></body></html>',
    );
  });
  afterAll(() => rig?.close());
  afterEach(() => context?.close());

  it('shows a notification live, marks it read, and the app hears inbox-action (oninbox-action)', async () => {
    context = await rig.signIn('react-user');
    const page = await context.newPage();
    page.on('pageerror', (err) => console.error('page error:', err));
    await page.goto(`${rig.origin}/`);
    await page.locator('#root header inbox-bell').waitFor(WAIT);
    await showsReadsAndActs(page, rig.app, 'react-user', 'Hello from React');
  });

  it("checks the elements' attributes in TSX (JSX IntrinsicElements)", () => {
    expect(typeErrors([APP])).toEqual([]);
    // Beside the repository's node_modules, where a host's own file would resolve React from.
    const artifacts = join(__dirname, '..', 'artifacts');
    mkdirSync(artifacts, { recursive: true });
    const typo = join(artifacts, 'elements-typo.tsx');
    writeFileSync(
      typo,
      `import type {} from '${join(__dirname, '..', '..', 'libs', 'nestjs-inbox', 'src', 'elements', 'react')}';\nexport const typo = <inbox-bell urll="/" />;\nexport const theme = <inbox-feed theme="pink" />;\n`,
    );
    const errors = typeErrors([typo]).join('\n');
    expect(errors).toMatch(/urll/);
    expect(errors).toMatch(/pink/);
    // A whole TypeScript program: slow on a shared machine.
  }, 60000);
});
