// The demo page: the inbox is the drop-in elements (<inbox-bell>, <inbox-preferences> from
// `/inbox-elements.js`); this script is the demo's own part: signing in, the workspace switcher,
// the forms that send notifications, topics and the bulk changes. What users wrote reaches the
// page only through the elements (text, never markup) and `textContent`.
'use strict';

const $ = (selector) => document.querySelector(selector);

let userId = null;
/** The workspaces (`GET /api/workspaces`): `{ id, name }`; each is a scope of the inbox. */
let workspaces = [];
/** The workspace on show: the elements' `scope`. */
let workspace = null;

/** The bell's client: the page's connection (the bell and the preferences share it). */
const inbox = () => $('inbox-bell')?.client ?? null;

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

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined && text !== null) node.textContent = String(text);
  return node;
}

function status(output, text, failed = false) {
  output.className = failed ? 'status failed' : 'status';
  output.textContent = text;
}

// ---- the elements ------------------------------------------------------------------------

/** Each `<template class="signed-in">` puts its elements after itself, in the workspace on show. */
function mountElements() {
  for (const template of document.querySelectorAll('template.signed-in')) {
    const content = template.content.cloneNode(true);
    // Set before they are in the page: they connect once, in the right scope.
    for (const element of content.querySelectorAll('inbox-bell, inbox-toasts, inbox-preferences')) element.setAttribute('scope', workspace);
    template.after(content);
  }
  renderTopics();
}

function unmountElements() {
  for (const element of document.querySelectorAll('inbox-bell, inbox-toasts, inbox-preferences')) element.remove();
}

/** An action with an `event` is the page's to run: the demo knows `reply` (the element marks it read). */
document.addEventListener('inbox-action', (e) => {
  const { action, notification } = e.detail;
  if (action.event !== 'reply') return;
  const to = notification.actor?.id || notification.data?.from;
  if (to) $('#message-form [name=to]').value = to;
  $('inbox-bell').close();
  status($('#message-form output'), `Replying to ${to}.`);
  $('#message-form [name=text]').focus();
});

// ---- topics ---------------------------------------------------------------------------------

// The server keeps subscriptions (per workspace); the page only remembers which ones to show.
const topicsKey = () => `demo:topics:${userId}:${workspace}`;
const savedTopics = () => JSON.parse(localStorage.getItem(topicsKey()) || '[]');
function saveTopics(topics) {
  localStorage.setItem(topicsKey(), JSON.stringify(topics));
  renderTopics();
}

/** The subscribed topics, with an unsubscribe button each; the preferences show a switch for each. */
function renderTopics() {
  const topics = savedTopics();
  $('#topics').replaceChildren(
    ...topics.map((topic) => {
      const li = el('li', '', `#${topic}`);
      const remove = el('button', '', '×');
      remove.type = 'button';
      remove.title = `Unsubscribe from ${topic}`;
      remove.addEventListener('click', () =>
        inbox()
          .unsubscribe(topic)
          .then(
            () => saveTopics(savedTopics().filter((t) => t !== topic)),
            (err) => status($('#topic-status'), err.message, true),
          ),
      );
      li.append(remove);
      return li;
    }),
  );
  $('inbox-preferences')?.setAttribute('topics', JSON.stringify(topics));
}

// ---- session and workspaces ---------------------------------------------------------------

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

  workspaces = await api('/api/workspaces').catch(() => []);
  const kept = localStorage.getItem(`demo:workspace:${id}`);
  workspace = workspaces.some((w) => w.id === kept) ? kept : (workspaces[0]?.id ?? null);
  renderWorkspaces();
  mountElements();
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

/** Another workspace: the elements' `scope`, so their feed, badge, counts and preferences; no page reload. */
function switchWorkspace(id) {
  workspace = id;
  localStorage.setItem(`demo:workspace:${userId}`, id);
  for (const element of document.querySelectorAll('inbox-bell, inbox-toasts, inbox-preferences')) element.setAttribute('scope', id);
  renderTopics();
}

function signedOut() {
  unmountElements();
  userId = null;
  $('#app-view').hidden = true;
  $('#session').hidden = true;
  $('#login-view').hidden = false;
  $('#user-id').focus();
}

// ---- wiring -----------------------------------------------------------------------------

$('#workspace').addEventListener('change', (e) => switchWorkspace(e.target.value));

/** Bulk changes by filter: one request, whatever the number of notifications. */
function bulk(selector, run, done) {
  $(selector).addEventListener('click', () =>
    run(inbox()).then(
      () => status($('#bulk-status'), done),
      (err) => status($('#bulk-status'), err.message, true),
    ),
  );
}
bulk('#archive-read', (client) => client.archive({ state: 'read' }), 'Archived everything read.');
bulk('#delete-archived', (client) => client.remove({ state: 'archived' }), 'Deleted everything archived.');

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
    const output = form.querySelector('output');
    const fields = Object.fromEntries(new FormData(form));
    try {
      await send(fields);
      status(output, done(fields));
      form.reset();
    } catch (err) {
      status(output, err.message, true);
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
  (f) =>
    inbox()
      .subscribe(f.topic)
      .then(() => saveTopics([...new Set([...savedTopics(), f.topic])])),
  (f) => `Subscribed to #${f.topic}.`,
);

api('/api/me').then(({ userId: id }) => (id ? signedIn(id) : signedOut()), signedOut);
