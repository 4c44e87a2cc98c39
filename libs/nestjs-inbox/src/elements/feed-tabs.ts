import type { Filter } from '../protocol';
import { h } from './dom';
import { formatNumber, type InboxMessages } from './messages';

export interface Tab {
  name: string;
  label: string;
  filter: Filter;
}

const DEFAULT_TABS: Record<string, Filter> = { all: {}, unread: { state: 'unread' }, archived: { state: 'archived' } };

/** The feed's tabs: its `<inbox-tab>` children, else its `tabs` attribute (JSON), else the default tabs. */
export function readTabs(feed: HTMLElement, messages: InboxMessages): Tab[] {
  const children = Array.from(feed.querySelectorAll(':scope > inbox-tab'));
  const t = messages as unknown as Record<string, string>;
  if (children.length) {
    return children.map((c) => {
      const name = c.getAttribute('name') ?? '';
      return { name, label: c.getAttribute('label') ?? t[name] ?? name, filter: parseFilter(c.getAttribute('filter')) };
    });
  }
  let views = DEFAULT_TABS;
  const json = feed.getAttribute('tabs');
  if (json) {
    try {
      views = JSON.parse(json);
    } catch {
      console.error('<inbox-feed>: the tabs attribute is not JSON ({ name: Filter }); showing the default tabs');
    }
  }
  return Object.entries(views).map(([name, filter]) => ({ name, label: t[name] ?? name, filter: { ...filter } }));
}

/** The tab buttons, with their counts; a click shows that tab. */
export function tabButtons(
  tabs: Tab[],
  counts: Readonly<Record<string, number>>,
  selected: string,
  lang: string,
  show: (name: string) => void,
): HTMLElement[] {
  return tabs.map((tab) => {
    const count = counts[tab.name] ?? 0;
    const on = tab.name === selected;
    const button = h(
      'button',
      {
        type: 'button',
        role: 'tab',
        part: on ? 'tab tab-selected' : 'tab',
        'aria-selected': String(on),
        tabindex: on ? 0 : -1,
        'data-view': tab.name,
      },
      h('span', {}, tab.label),
      count > 0 && h('span', { class: 'count', part: 'count' }, formatNumber(count, lang)),
    );
    button.addEventListener('click', () => show(tab.name));
    return button;
  });
}

function parseFilter(json: string | null): Filter {
  try {
    return json ? JSON.parse(json) : {};
  } catch {
    console.error(`<inbox-tab>: the filter attribute is not JSON: ${json}`);
    return {};
  }
}
