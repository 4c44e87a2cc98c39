import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { BrowserContext } from 'playwright-core';
import { WAIT } from '../support/demo-browser';
import { bundleInto, type ElementsRig, showsReadsAndActs, startElementsRig } from '../support/elements-rig';

/**
 * The elements in a Vue 3 app (test/elements/apps/vue-app.ts, a template compiled at run time),
 * bundled with esbuild here. Its typings (`GlobalComponents`) are checked by the project's typecheck.
 */
describe('drop-in elements in a Vue 3 app', () => {
  let rig: ElementsRig;
  let context: BrowserContext;

  beforeAll(async () => {
    rig = await startElementsRig();
    await bundleInto(rig.site, 'vue-app.js', readFileSync(join(__dirname, 'apps', 'vue-app.ts'), 'utf8'), {
      define: { INBOX_URL: JSON.stringify(rig.app.url) },
      // The build with the template compiler: the app's template is a string.
      alias: { vue: 'vue/dist/vue.esm-bundler.js' },
    });
    writeFileSync(
      join(rig.site, 'index.html'),
      '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Vue</title></head><body><div id="root"></div><script type="module" src="/vue-app.js"></script></body></html>',
    );
  });
  afterAll(() => rig?.close());
  afterEach(() => context?.close());

  it('shows a notification live, marks it read, and the app hears inbox-action (@inbox-action)', async () => {
    context = await rig.signIn('vue-user');
    const page = await context.newPage();
    page.on('pageerror', (err) => console.error('page error:', err));
    await page.goto(`${rig.origin}/`);
    await page.locator('#root header inbox-bell').waitFor(WAIT);
    await showsReadsAndActs(page, rig.app, 'vue-user', 'Hello from Vue');
  });
});
