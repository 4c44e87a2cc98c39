import type { InboxClient } from '../client/inbox-client';
import { isRtl, messagesFor, MESSAGES_CHANGED, type InboxMessages } from './messages';
import { acquireClient, type ClientLease } from './shared-clients';
import { STYLES } from './styles';

/** On a server (SSR) there is no `HTMLElement`: importing the module must not throw there. */
const Base = (globalThis.HTMLElement ?? class {}) as typeof HTMLElement;

let shared: CSSStyleSheet | null = null;

/**
 * One constructed stylesheet for every element: a page's Content-Security-Policy without
 * `'unsafe-inline'` blocks a `<style>` element but not a constructed sheet (the fallback, for
 * browsers without them, needs the inline style allowed).
 */
function adoptStyles(root: ShadowRoot): void {
  if ('adoptedStyleSheets' in root && typeof CSSStyleSheet.prototype.replaceSync === 'function') {
    if (!shared) (shared = new CSSStyleSheet()).replaceSync(STYLES);
    root.adoptedStyleSheets = [shared];
    return;
  }
  const style = document.createElement('style');
  style.textContent = STYLES;
  (root as ShadowRoot).append(style);
}

/**
 * What the three elements share: the client they talk to (given as the `client` property, or
 * one shared per `url`, `namespace` and `scope` attribute), the language (`lang` attribute, else
 * the nearest `lang` up the page, else the browser's) and the open shadow root.
 */
export abstract class InboxElement extends Base {
  static get observedAttributes(): string[] {
    return ['url', 'namespace', 'scope', 'lang'];
  }

  protected readonly root: ShadowRoot;
  protected inbox: InboxClient | null = null;
  private given: InboxClient | null = null;
  private lease: ClientLease | null = null;
  private stops: (() => void)[] = [];
  private readonly relocalize = () => this.render();

  constructor() {
    super();
    this.root = this.attachShadow({ mode: 'open' });
    adoptStyles(this.root);
  }

  /** The client in use; set one to share your own (`createInbox(...)`) instead of the attributes. */
  get client(): InboxClient | null {
    return this.inbox;
  }

  set client(client: InboxClient | null) {
    this.given = client;
    if (this.isConnected) this.reattach();
  }

  get url(): string | null {
    return this.getAttribute('url');
  }
  set url(value: string | null) {
    this.reflect('url', value);
  }
  get namespace(): string | null {
    return this.getAttribute('namespace');
  }
  set namespace(value: string | null) {
    this.reflect('namespace', value);
  }
  get scope(): string | null {
    return this.getAttribute('scope');
  }
  set scope(value: string | null) {
    this.reflect('scope', value);
  }

  protected reflect(name: string, value: string | null | undefined): void {
    if (value == null) this.removeAttribute(name);
    else this.setAttribute(name, value);
  }

  /** The language in use: the element's `lang`, else the page's, else the browser's. */
  get language(): string {
    const lang = this.closest('[lang]')?.getAttribute('lang') || document.documentElement.lang || navigator.language || 'en';
    try {
      return Intl.getCanonicalLocales(lang)[0];
    } catch {
      return 'en';
    }
  }

  protected get t(): InboxMessages {
    return messagesFor(this.language);
  }

  protected get direction(): 'rtl' | 'ltr' {
    return isRtl(this.language) ? 'rtl' : 'ltr';
  }

  connectedCallback(): void {
    addEventListener(MESSAGES_CHANGED, this.relocalize);
    this.reattach();
  }

  disconnectedCallback(): void {
    removeEventListener(MESSAGES_CHANGED, this.relocalize);
    this.detach();
  }

  attributeChangedCallback(name: string, old: string | null, value: string | null): void {
    if (old === value || !this.isConnected) return;
    if (name === 'lang') this.render();
    else this.reattach();
  }

  private reattach(): void {
    this.detach();
    if (this.given) this.inbox = this.given;
    else {
      this.lease = acquireClient({ url: this.url, namespace: this.namespace, scope: this.scope }, this.owner);
      this.inbox = this.lease.client;
    }
    this.stops = this.listen(this.inbox);
    this.render();
  }

  private detach(): void {
    this.stops.forEach((stop) => stop());
    this.stops = [];
    this.lease?.release();
    this.lease = null;
    this.inbox = null;
  }

  /** Set (to an id unique on the page) by an element that needs a client of its own. */
  protected readonly owner: string | undefined = undefined;

  /** Subscribes to the client; returns what unsubscribes. */
  protected abstract listen(client: InboxClient): (() => void)[];
  /** Draws the element from the client's state and the language. */
  protected abstract render(): void;

  /** Dispatches an event a framework hears: it bubbles out of the shadow root and can be cancelled. */
  protected emit<T>(type: string, detail: T): boolean {
    return this.dispatchEvent(new CustomEvent(type, { detail, bubbles: true, composed: true, cancelable: true }));
  }
}
