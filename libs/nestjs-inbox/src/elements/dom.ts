import { urlProblem } from '../protocol';

type Props = Record<string, string | number | boolean | null | undefined>;

/**
 * An element with attributes and children. Strings become text nodes: this is the only way
 * notification data reaches the shadow DOM (no `innerHTML` anywhere in the elements).
 */
export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  props: Props = {},
  ...children: (Node | string | null | undefined | false)[]
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(props)) {
    if (value === false || value == null) continue;
    node.setAttribute(name, value === true ? '' : String(value));
  }
  for (const child of children) if (child) node.append(child);
  return node;
}

/**
 * The link itself when a browser may follow it from a notification (`http(s)` or a path on this
 * site), else `null`. The client already drops bad links; checked again here because a host may
 * hand an element notifications from elsewhere (`renderItem`, a group's actors).
 */
export function safeUrl(url: unknown): string | null {
  return typeof url === 'string' && urlProblem(url) === null ? url : null;
}

const SVG = 'http://www.w3.org/2000/svg';
export const ICONS = {
  bell: 'M12 22a2.5 2.5 0 0 0 2.5-2.5h-5A2.5 2.5 0 0 0 12 22zm7-6V11a7 7 0 0 0-5.5-6.8V3.5a1.5 1.5 0 0 0-3 0v.7A7 7 0 0 0 5 11v5l-2 2v1h18v-1z',
  check: 'M9 16.2 4.8 12l-1.4 1.4L9 19 21 7l-1.4-1.4z',
  archive: 'M4 4h16v4H4zm1 5h14v10a1 1 0 0 1-1 1H6a1 1 0 0 1-1-1zm5 3v2h4v-2z',
  unarchive: 'M4 4h16v4H4zm1 5h14v10a1 1 0 0 1-1 1H6a1 1 0 0 1-1-1zm7 2-4 4h3v3h2v-3h3z',
  delete: 'M9 3h6l1 2h4v2H4V5h4zm-3 6h12l-1 11a1 1 0 0 1-1 1H8a1 1 0 0 1-1-1z',
  snooze: 'M12 4a8 8 0 1 0 0 16 8 8 0 0 0 0-16zm1 8.4 3 1.8-.8 1.3-3.7-2.2V7h1.5z',
  close: 'M19 6.4 17.6 5 12 10.6 6.4 5 5 6.4 10.6 12 5 17.6 6.4 19 12 13.4 17.6 19 19 17.6 13.4 12z',
};

export function icon(name: keyof typeof ICONS): SVGSVGElement {
  const svg = document.createElementNS(SVG, 'svg');
  svg.setAttribute('viewBox', '0 0 24 24');
  svg.setAttribute('aria-hidden', 'true');
  const path = document.createElementNS(SVG, 'path');
  path.setAttribute('fill', 'currentColor');
  path.setAttribute('d', ICONS[name]);
  svg.append(path);
  return svg;
}

/** A button with an icon and a text label (shown or only for assistive technology). */
export function iconButton(name: keyof typeof ICONS, label: string, part: string, showLabel = false): HTMLButtonElement {
  return h(
    'button',
    { type: 'button', part, title: showLabel ? null : label, 'aria-label': showLabel ? null : label },
    icon(name),
    showLabel && h('span', {}, label),
  );
}

const FOCUSABLE = 'button,select,input,textarea,a[href],[tabindex]';

/** What Tab reaches inside `root`, through the open shadow roots, in the order Tab goes. */
export function tabbables(root: Element | ShadowRoot): HTMLElement[] {
  const found: HTMLElement[] = [];
  for (const el of Array.from(root.children)) {
    if (el.shadowRoot) {
      found.push(...tabbables(el.shadowRoot));
      continue;
    }
    const reachable = el instanceof HTMLElement && el.matches(FOCUSABLE) && el.tabIndex >= 0 && !el.hasAttribute('disabled');
    if (reachable && el.checkVisibility()) found.push(el);
    found.push(...tabbables(el));
  }
  return found;
}

/** The focused element, inside shadow roots too. */
export function deepActive(): Element | null {
  let el = document.activeElement;
  while (el?.shadowRoot?.activeElement) el = el.shadowRoot.activeElement;
  return el;
}
