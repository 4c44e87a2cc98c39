/* global NestjsInbox -- the client bundle, loaded by its own script tag */
// The demo page: plain JavaScript on the client bundle (`/inbox.js`, the global `NestjsInbox`).
// Everything users wrote is rendered with `textContent`, never as HTML; links and images only
// from URLs that are http(s) or site-relative (the server refuses others, the page checks again).
'use strict';

const $ = (selector) => document.querySelector(selector);
const STATE_TEXT = { connecting: 'connecting…', connected: 'live', disconnected: 'offline', unauthorized: 'signed out' };
const SVG = 'http://www.w3.org/2000/svg';
const ICONS = {
  archive: 'M4 4h16v4H4zm1 5h14v10a1 1 0 0 1-1 1H6a1 1 0 0 1-1-1zm5 3v2h4v-2z',
  unarchive: 'M4 4h16v4H4zm1 5h14v10a1 1 0 0 1-1 1H6a1 1 0 0 1-1-1zm7 2-4 4h3v3h2v-3h3z',
  delete: 'M9 3h6l1 2h4v2H4V5h4zm-3 6h12l-1 11a1 1 0 0 1-1 1H8a1 1 0 0 1-1-1z',
};

/** @type {import('nestjs-inbox/client').InboxClient | null} */
let inbox = null;
let userId = null;
/** The kinds of notification the host sends (`GET /api/types`): `{ type, label, mutable }`. */
let types = [];
/** The tabs: a name, a label, and the view (`Filter`) each shows and counts. */
let views = [];
let currentView = 'all';
let preferences = { muted: { types: [], topics: [] } };
/** The workspaces (`GET /api/workspaces`): `{ id, name }`; each is a scope of the inbox. */
let workspaces = [];
/** The workspace on show: the inbox's scope. */
let workspace = null;

async function api(path, body) {
  const res = await fetch(path, {
    method: body === undefined ? 'GET' : 'POST',
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const data = await res.json().catch(() => ({}));
  if (!res.ok) throw new Error([].concat(data.message || res.statusText).join(', '));
  return data;
}

/** An element with a class and, optionally, text — the only way user content reaches the page. */
function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined && text !== null) node.textContent = String(text);
  return node;
}

function icon(name) {
  const svg = document.createElementNS(SVG, 'svg');
  svg.setAttribute('viewBox', '0 0 24 24');
  svg.setAttribute('width', '16');
  svg.setAttribute('height', '16');
  svg.setAttribute('aria-hidden', 'true');
  const path = document.createElementNS(SVG, 'path');
  path.setAttribute('fill', 'currentColor');
  path.setAttribute('d', ICONS[name]);
  svg.append(path);
  return svg;
}

/** An http(s) URL or a site-relative path (not `//host`), else `null`. */
function safeUrl(url) {
  // eslint-disable-next-line no-control-regex -- control characters are what it refuses
  if (typeof url !== 'string' || /[\\\u0000-\u001f]/.test(url)) return null;
  if (/^\/(?!\/)/.test(url)) return url;
  return /^https?:\/\/[^/?#\s]+/i.test(url) ? url : null;
}

function timeAgo(iso) {
  const seconds = Math.round((Date.now() - new Date(iso).getTime()) / 1000);
  if (seconds < 45) return 'just now';
  if (seconds < 3600) return `${Math.round(seconds / 60)} min ago`;
  if (seconds < 86400) return `${Math.round(seconds / 3600)} h ago`;
  return new Date(iso).toLocaleDateString();
}

function describe(n) {
  if (n.topic) return `#${n.topic}`;
  return types.find((t) => t.type === n.type)?.label ?? n.type;
}

/** Where a notification belongs: its workspace's name, or site-wide. */
function whereFrom(n) {
  return n.scope ? (workspaces.find((w) => w.id === n.scope)?.name ?? n.scope) : 'site-wide';
}

// ---- rendering -------------------------------------------------------------------------

function face(n) {
  const src = safeUrl(n.actor?.avatarUrl);
  if (src) {
    const img = el('img', 'face');
    img.src = src;
    img.alt = '';
    img.title = n.actor.name || '';
    return img;
  }
  return el('span', 'face initial', (n.actor?.name || n.type).slice(0, 1));
}

function actionsOf(n) {
  const box = el('div', 'actions');
  (n.actions || []).forEach((action, i) => {
    const href = safeUrl(action.url);
    let node;
    if (action.event) {
      node = el('button', i === 0 ? 'action primary' : 'action', action.label);
      node.type = 'button';
      node.dataset.action = String(i);
    } else if (href) {
      node = el('a', i === 0 ? 'action primary' : 'action', action.label);
      node.href = href;
      if (!href.startsWith('/')) Object.assign(node, { target: '_blank', rel: 'noopener noreferrer' });
    } else return;
    box.append(node);
  });
  return box.childElementCount ? box : null;
}

function tool(name, label) {
  const button = el('button', `tool ${name}`);
  button.type = 'button';
  button.title = label;
  button.setAttribute('aria-label', label);
  button.append(icon(name));
  return button;
}

/**
 * A group's item (docs/groups.md) as a sentence: "Alice", "Alice and Bob", "Alice and 2 others",
 * from its latest distinct actors (newest first), then what they did (`data.groupAction`).
 */
function groupTitle(n) {
  const names = (n.group?.actors ?? []).map((a) => a.name || a.id).filter(Boolean);
  if (!n.group || n.group.count < 2 || names.length === 0 || typeof n.data?.groupAction !== 'string') return null;
  const others = names.length - 1;
  const who = others === 0 ? names[0] : others === 1 ? `${names[0]} and ${names[1]}` : `${names[0]} and ${others} others`;
  return `${who} ${n.data.groupAction}`;
}

function renderItems() {
  const items = inbox.notifications.map((n) => {
    const li = el('li', ['item', n.readAt ? '' : 'unread', n.seenAt || n.readAt ? '' : 'unseen'].join(' ').trim());
    li.dataset.id = n.id;
    const content = el('div', 'content');
    const href = safeUrl(n.url);
    const title = el(href ? 'a' : 'div', 'title', groupTitle(n) ?? (n.title || n.type));
    if (href) title.href = href;
    content.append(title);
    if (n.body) content.append(el('div', 'body', n.body));
    const actions = actionsOf(n);
    if (actions) content.append(actions);
    const meta = el('div', 'meta', [n.actor?.name, describe(n), whereFrom(n), timeAgo(n.createdAt)].filter(Boolean).join(' · '));
    for (const tag of n.tags || []) meta.append(el('span', 'chip', tag));
    if (n.group && n.group.count > 1) meta.append(el('span', 'chip group-count', `×${n.group.count}`));
    content.append(meta);
    const tools = el('div', 'tools');
    tools.append(n.archived ? tool('unarchive', 'Move to inbox') : tool('archive', 'Archive'), tool('delete', 'Delete'));
    li.append(face(n), content, tools);
    if (!n.readAt) li.title = 'Mark as read';
    return li;
  });
  $('#items').replaceChildren(...items);
  $('#empty').hidden = items.length > 0;
  $('#empty').textContent = currentView === 'archived' ? 'Nothing archived.' : "You're all caught up.";
  $('#load-more').hidden = !inbox.hasMore || items.length === 0;
}

function renderBadges() {
  // The bell counts what the user has not seen yet; opening the inbox marks it seen.
  const unseen = inbox.unseen;
  $('#badge').hidden = unseen === 0;
  $('#badge').textContent = unseen > 99 ? '99+' : String(unseen);
  $('#mark-all').disabled = inbox.unread === 0;
  document.title = inbox.unread ? `(${inbox.unread}) nestjs-inbox demo` : 'nestjs-inbox demo';
}

function renderTabs() {
  const counts = inbox?.counts ?? {};
  $('#tabs').replaceChildren(
    ...views.map((view) => {
      const tab = el('button', 'tab', view.label);
      tab.type = 'button';
      tab.setAttribute('role', 'tab');
      tab.dataset.view = view.name;
      tab.setAttribute('aria-selected', String(view.name === currentView));
      const count = counts[view.name] ?? 0;
      const pill = el('span', 'count', count > 99 ? '99+' : count);
      pill.hidden = count === 0;
      tab.append(pill);
      return tab;
    }),
  );
  const archived = currentView === 'archived';
  $('#archive-read').hidden = archived;
  $('#delete-archived').hidden = !archived;
}

function renderState(state) {
  $('#conn').dataset.state = state;
  $('#conn-text').textContent = STATE_TEXT[state];
}

function toast(n, extra) {
  const box = el('div', 'toast');
  box.append(el('div', 'title', n.title || n.type));
  if (n.body) box.append(el('div', 'body', n.body));
  if (extra) box.append(extra);
  $('#toasts').append(box);
  setTimeout(() => box.remove(), 5000);
}
const failed = (what) => (err) => toast({ title: what, body: err.message });

function renderTopics() {
  const topics = savedTopics();
  $('#topics').replaceChildren(
    ...topics.map((topic) => {
      const li = el('li', '', `#${topic}`);
      const remove = el('button', '', '×');
      remove.type = 'button';
      remove.title = `Unsubscribe from ${topic}`;
      remove.addEventListener('click', () =>
        inbox.unsubscribe(topic).then(() => saveTopics(savedTopics().filter((t) => t !== topic)), showTopicError),
      );
      li.append(remove);
      return li;
    }),
  );
  renderPreferences();
}

/** One switch per type and per subscribed topic: on = pushed live; `system` cannot be switched off. */
function renderPreferences() {
  const row = (kind, value, label, muted, locked) => {
    const wrap = el('label', 'switch');
    const box = el('input');
    box.type = 'checkbox';
    box.dataset[kind] = value;
    box.checked = !muted;
    box.disabled = locked;
    wrap.append(box, el('span', '', label));
    if (locked) {
      wrap.title = 'The site always delivers these';
      wrap.append(el('span', 'chip', 'always on'));
    }
    return wrap;
  };
  const { muted } = preferences;
  $('#mute-types').replaceChildren(...types.map((t) => row('type', t.type, t.label, muted.types.includes(t.type), !t.mutable)));
  const topics = [...new Set([...savedTopics(), ...muted.topics])];
  $('#mute-topics').replaceChildren(
    ...(topics.length
      ? topics.map((topic) => row('topic', topic, `#${topic}`, muted.topics.includes(topic), false))
      : [el('span', 'muted', 'Subscribe to a topic first.')]),
  );
}

// The server keeps subscriptions (per workspace); the page only remembers which ones to show.
const topicsKey = () => `demo:topics:${userId}:${workspace}`;
const savedTopics = () => JSON.parse(localStorage.getItem(topicsKey()) || '[]');
function saveTopics(topics) {
  localStorage.setItem(topicsKey(), JSON.stringify(topics));
  renderTopics();
}
function showTopicError(err) {
  $('#topic-status').className = 'status failed';
  $('#topic-status').textContent = err.message;
}

// ---- session ----------------------------------------------------------------------------

async function signedIn(id) {
  userId = id;
  $('#login-view').hidden = true;
  $('#app-view').hidden = false;
  $('#session').hidden = false;
  $('#who').textContent = id;
  $('#avatar').src = `/avatars/${encodeURIComponent(id)}.svg`;
  // A link from a notification (`/?to=bob`): the message form is ready to answer.
  const to = new URLSearchParams(location.search).get('to');
  if (to) $('#message-form [name=to]').value = to;

  types = await api('/api/types').catch(() => []);
  views = [
    { name: 'all', label: 'All', filter: {} },
    { name: 'unread', label: 'Unread', filter: { state: 'unread' } },
    { name: 'archived', label: 'Archived', filter: { state: 'archived' } },
    ...types.map((t) => ({ name: t.type, label: t.label, filter: { type: t.type } })),
  ];
  currentView = 'all';

  workspaces = await api('/api/workspaces').catch(() => []);
  const kept = localStorage.getItem(`demo:workspace:${id}`);
  workspace = workspaces.some((w) => w.id === kept) ? kept : (workspaces[0]?.id ?? null);
  renderWorkspaces();

  // One client for the page: switching workspaces reconnects it in the other scope (switchScope).
  inbox = NestjsInbox.createInbox({ persistCursor: { userId: id }, scope: workspace });
  inbox.on('change', renderItems);
  inbox.on('unread', renderBadges);
  inbox.on('unseen', renderBadges);
  inbox.on('counts', renderTabs);
  inbox.on('state', renderState);
  // Toast only what arrives live, not the catch-up after a (re)connect.
  inbox.on('notification', (n) => inbox.state === 'connected' && toast(n));
  inbox.on('action', runAction);
  inbox.watchCounts(Object.fromEntries(views.map((v) => [v.name, v.filter]))).catch(failed('Could not count'));
  loadPreferences();
  renderItems();
  renderBadges();
  renderTabs();
  renderState(inbox.state);
  renderTopics();
}

/** Preferences are per workspace: read them again after a switch. */
function loadPreferences() {
  inbox.getPreferences().then((p) => {
    preferences = p;
    renderPreferences();
  }, failed('Could not load preferences'));
}

function renderWorkspaces() {
  $('#workspace-wrap').hidden = workspaces.length === 0;
  $('#workspace').replaceChildren(
    ...workspaces.map((w) => {
      const option = el('option', '', w.name);
      option.value = w.id;
      option.selected = w.id === workspace;
      return option;
    }),
  );
}

/** Another workspace: the same client, the same listeners, that workspace's feed, badge and counts; no page reload. */
async function switchWorkspace(id) {
  workspace = id;
  localStorage.setItem(`demo:workspace:${userId}`, id);
  renderWorkspaces();
  renderTopics();
  try {
    await inbox.switchScope(id);
    loadPreferences();
  } catch (err) {
    failed('Could not switch workspace')(err);
  }
}

function signedOut() {
  inbox?.close();
  inbox = null;
  userId = null;
  $('#inbox').hidden = true;
  $('#app-view').hidden = true;
  $('#session').hidden = true;
  $('#login-view').hidden = false;
  $('#user-id').focus();
}

/** An action with an `event`, which the client hands to the page: the demo knows `reply`. */
function runAction(action, n) {
  if (action.event === 'reply') {
    const to = n.actor?.id || n.data?.from;
    if (to) $('#message-form [name=to]').value = to;
    setOpen(false);
    $('#message-form [name=text]').focus();
  }
  toast({ title: `${action.label}: ${n.title || n.type}`, body: `event "${action.event}" handled by the page` });
}

// ---- wiring -----------------------------------------------------------------------------

function setOpen(open) {
  $('#inbox').hidden = !open;
  $('#bell').setAttribute('aria-expanded', String(open));
  // What the inbox shows is seen: the bell's badge goes; unread stays until read.
  if (open && inbox.unseen > 0) inbox.markSeen({ state: 'unseen' }).catch(failed('Could not mark seen'));
}

$('#bell').addEventListener('click', (e) => {
  e.stopPropagation();
  setOpen($('#inbox').hidden);
});
document.addEventListener('click', (e) => {
  if (!$('#inbox').hidden && e.target.isConnected && !e.target.closest('.bell-wrap')) setOpen(false);
});
document.addEventListener('keydown', (e) => e.key === 'Escape' && !$('#inbox').hidden && setOpen(false));

$('#workspace').addEventListener('change', (e) => void switchWorkspace(e.target.value));

$('#tabs').addEventListener('click', (e) => {
  const tab = e.target.closest('.tab');
  if (!tab || tab.dataset.view === currentView) return;
  currentView = tab.dataset.view;
  renderTabs();
  inbox.list(views.find((v) => v.name === currentView).filter).catch(failed('Could not load'));
});

$('#items').addEventListener('click', (e) => {
  const item = e.target.closest('.item');
  if (!item) return;
  const n = inbox.notifications.find((x) => x.id === item.dataset.id);
  if (!n) return;
  const tool = e.target.closest('.tool');
  const action = e.target.closest('button.action');
  if (tool?.classList.contains('archive')) inbox.archive(n.id).catch(failed('Could not archive'));
  else if (tool?.classList.contains('unarchive')) inbox.unarchive(n.id).catch(failed('Could not unarchive'));
  else if (tool?.classList.contains('delete')) inbox.remove(n.id).catch(failed('Could not delete'));
  else if (action) inbox.act(n, n.actions[Number(action.dataset.action)]).catch(failed('Could not run the action'));
  else if (!e.target.closest('a') && !n.readAt) inbox.markRead(n.id).catch(failed('Could not mark read'));
});
$('#mark-all').addEventListener('click', () => inbox.markAllRead().catch(failed('Failed')));
// Bulk actions by filter: one request, whatever the number of notifications.
$('#archive-read').addEventListener('click', () => inbox.archive({ state: 'read' }).catch(failed('Failed')));
$('#delete-archived').addEventListener('click', () => inbox.remove({ state: 'archived' }).catch(failed('Failed')));
$('#load-more').addEventListener('click', () => inbox.loadMore().catch(failed('Failed')));

$('#preferences-form').addEventListener('change', async () => {
  const status = $('#preferences-status');
  const off = (kind) =>
    [...document.querySelectorAll(`#preferences-form input[data-${kind}]`)].filter((box) => !box.checked).map((box) => box.dataset[kind]);
  try {
    preferences = await inbox.setPreferences({ muted: { types: off('type'), topics: off('topic') } });
    status.className = 'status';
    status.textContent = 'Saved.';
  } catch (err) {
    status.className = 'status failed';
    status.textContent = err.message;
  }
  renderPreferences();
});

$('#login-form').addEventListener('submit', async (e) => {
  e.preventDefault();
  $('#login-error').textContent = '';
  try {
    const { userId: id } = await api('/api/login', { userId: $('#user-id').value });
    await signedIn(id);
  } catch (err) {
    $('#login-error').textContent = err.message;
  }
});
$('#logout').addEventListener('click', async () => {
  await api('/api/logout', {}).catch(() => undefined);
  signedOut();
});

/** A form posting its fields to the API; shows the outcome as text beside the button. */
function sendForm(selector, send, done) {
  const form = $(selector);
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const status = form.querySelector('output');
    const fields = Object.fromEntries(new FormData(form));
    try {
      await send(fields);
      status.className = 'status';
      status.textContent = done(fields);
      form.reset();
    } catch (err) {
      status.className = 'status failed';
      status.textContent = err.message;
    }
  });
}

/** A form's "Where": this workspace (`here`), or site-wide (`''`). */
const scopeOf = (f) => (f.scope === 'here' ? workspace : null);
const inWhere = (f) => (scopeOf(f) ? ` in ${workspaces.find((w) => w.id === workspace)?.name ?? workspace}` : ' (site-wide)');

sendForm(
  '#message-form',
  (f) => api('/api/messages', { to: f.to, text: f.text, scope: scopeOf(f) }),
  (f) => `Sent to ${f.to}${inWhere(f)}.`,
);
sendForm(
  '#reply-form',
  (f) => api(`/api/threads/${encodeURIComponent(f.thread)}/replies`, { to: f.to, text: f.text, scope: scopeOf(f) }),
  (f) => `Replied in ${f.thread}${inWhere(f)}.`,
);
sendForm(
  '#broadcast-form',
  (f) => api('/api/announcements', { title: f.title, body: f.body, kind: f.kind, scope: f.kind === 'system' ? null : scopeOf(f) }),
  (f) => `Sent to everyone${f.kind === 'system' ? ' (site-wide)' : inWhere(f)}.`,
);
sendForm(
  '#publish-form',
  (f) => api(`/api/topics/${encodeURIComponent(f.topic)}/publish`, { title: f.title, body: f.body, scope: scopeOf(f) }),
  (f) => `Published to #${f.topic}${inWhere(f)}.`,
);
sendForm(
  '#subscribe-form',
  (f) => inbox.subscribe(f.topic).then(() => saveTopics([...new Set([...savedTopics(), f.topic])])),
  (f) => `Subscribed to #${f.topic}.`,
);

api('/api/me').then(({ userId: id }) => (id ? signedIn(id) : signedOut()), signedOut);
