// The demo page: plain JavaScript on the client bundle (`/inbox.js`, the global `NestjsInbox`).
// Everything users wrote is rendered with `textContent`, never as HTML.
'use strict';

const $ = (selector) => document.querySelector(selector);
const STATE_TEXT = { connecting: 'connecting…', connected: 'live', disconnected: 'offline', unauthorized: 'signed out' };

/** @type {import('nestjs-inbox/client').InboxClient | null} */
let inbox = null;
let userId = null;

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

function timeAgo(iso) {
  const seconds = Math.round((Date.now() - new Date(iso).getTime()) / 1000);
  if (seconds < 45) return 'just now';
  if (seconds < 3600) return `${Math.round(seconds / 60)} min ago`;
  if (seconds < 86400) return `${Math.round(seconds / 3600)} h ago`;
  return new Date(iso).toLocaleDateString();
}

function describe(n) {
  if (n.broadcast) return 'announcement';
  if (n.topic) return `#${n.topic}`;
  return n.type;
}

// ---- rendering -------------------------------------------------------------------------

function renderItems() {
  const items = inbox.notifications.map((n) => {
    const li = el('li', n.readAt ? 'item' : 'item unread');
    li.dataset.id = n.id;
    li.append(el('div', 'title', n.title || n.type));
    if (n.body) li.append(el('div', 'body', n.body));
    li.append(el('div', 'meta', `${describe(n)} · ${timeAgo(n.createdAt)}`));
    if (!n.readAt) li.title = 'Mark as read';
    return li;
  });
  $('#items').replaceChildren(...items);
  $('#empty').hidden = items.length > 0;
  $('#load-more').hidden = !inbox.hasMore || items.length === 0;
}

function renderUnread() {
  const count = inbox.unread;
  $('#badge').hidden = count === 0;
  $('#badge').textContent = count > 99 ? '99+' : String(count);
  $('#mark-all').disabled = count === 0;
  document.title = count ? `(${count}) nestjs-inbox demo` : 'nestjs-inbox demo';
}

function renderState(state) {
  $('#conn').dataset.state = state;
  $('#conn-text').textContent = STATE_TEXT[state];
}

function toast(n) {
  const box = el('div', 'toast');
  box.append(el('div', 'title', n.title || n.type));
  if (n.body) box.append(el('div', 'body', n.body));
  $('#toasts').append(box);
  setTimeout(() => box.remove(), 5000);
}

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
}

// The server keeps subscriptions; the page only remembers which ones to show.
const topicsKey = () => `demo:topics:${userId}`;
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

function signedIn(id) {
  userId = id;
  $('#login-view').hidden = true;
  $('#app-view').hidden = false;
  $('#session').hidden = false;
  $('#who').textContent = id;
  $('#avatar').textContent = id.slice(0, 1);

  inbox = NestjsInbox.createInbox({ persistCursor: { userId: id } });
  inbox.on('change', renderItems);
  inbox.on('unread', renderUnread);
  inbox.on('state', renderState);
  // Toast only what arrives live, not the catch-up after a (re)connect.
  inbox.on('notification', (n) => inbox.state === 'connected' && toast(n));
  renderItems();
  renderUnread();
  renderState(inbox.state);
  renderTopics();
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

// ---- wiring -----------------------------------------------------------------------------

function setOpen(open) {
  $('#inbox').hidden = !open;
  $('#bell').setAttribute('aria-expanded', String(open));
}

$('#bell').addEventListener('click', (e) => {
  e.stopPropagation();
  setOpen($('#inbox').hidden);
});
document.addEventListener('click', (e) => {
  if (!$('#inbox').hidden && !e.target.closest('.bell-wrap')) setOpen(false);
});
document.addEventListener('keydown', (e) => e.key === 'Escape' && setOpen(false));

$('#items').addEventListener('click', (e) => {
  const item = e.target.closest('.item.unread');
  if (item) inbox.markRead(item.dataset.id).catch((err) => toast({ title: 'Could not mark read', body: err.message }));
});
$('#mark-all').addEventListener('click', () => inbox.markAllRead().catch((err) => toast({ title: 'Failed', body: err.message })));
$('#load-more').addEventListener('click', () => inbox.loadMore().catch((err) => toast({ title: 'Failed', body: err.message })));

$('#login-form').addEventListener('submit', async (e) => {
  e.preventDefault();
  $('#login-error').textContent = '';
  try {
    const { userId: id } = await api('/api/login', { userId: $('#user-id').value });
    signedIn(id);
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

sendForm('#message-form', (f) => api('/api/messages', { to: f.to, text: f.text }), (f) => `Sent to ${f.to}.`);
sendForm('#broadcast-form', (f) => api('/api/announcements', { title: f.title, body: f.body }), () => 'Sent to everyone.');
sendForm(
  '#publish-form',
  (f) => api(`/api/topics/${encodeURIComponent(f.topic)}/publish`, { title: f.title, body: f.body }),
  (f) => `Published to #${f.topic}.`,
);
sendForm(
  '#subscribe-form',
  (f) => inbox.subscribe(f.topic).then(() => saveTopics([...new Set([...savedTopics(), f.topic])])),
  (f) => `Subscribed to #${f.topic}.`,
);

api('/api/me').then(({ userId: id }) => (id ? signedIn(id) : signedOut()), signedOut);
