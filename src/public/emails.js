// The e-mail log (`/emails`): what the demo's SMTP catcher received. Every field is set as text;
// a mail's HTML part is shown in a sandboxed frame (no scripts, an origin of its own), never as
// this page's markup.
'use strict';

const $ = (selector) => document.querySelector(selector);
/** How often the page asks for new mails. */
const REFRESH_MS = 2000;
let shown = '';

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined && text !== null) node.textContent = String(text);
  return node;
}

function mail(m) {
  const li = el('li', 'mail');
  li.dataset.id = String(m.id);
  li.append(el('h2', 'subject', m.subject || '(no subject)'));
  const meta = el('p', 'meta');
  const time = el('time', '', new Date(m.at).toLocaleString());
  time.dateTime = m.at;
  meta.append(el('span', 'to', m.to.join(', ')), document.createTextNode(' · '), time);
  li.append(meta, el('pre', 'text', m.text));
  if (m.html !== null) {
    const details = el('details', 'html');
    details.append(el('summary', '', 'HTML part'));
    const frame = document.createElement('iframe');
    // An empty sandbox: no scripts, no forms, no navigation of this page, an opaque origin.
    frame.setAttribute('sandbox', '');
    frame.setAttribute('referrerpolicy', 'no-referrer');
    frame.title = `HTML of “${m.subject}”`;
    frame.srcdoc = m.html;
    details.append(frame);
    li.append(details);
  }
  return li;
}

async function refresh() {
  try {
    const res = await fetch('/api/emails');
    const { caught, mails } = await res.json();
    if (!caught) $('#about').textContent = 'SMTP_URL is set: the e-mails go to that server, not to the demo’s catcher.';
    const ids = mails.map((m) => m.id).join();
    if (ids === shown) return;
    shown = ids;
    $('#mails').replaceChildren(...mails.map(mail));
    $('#empty').hidden = mails.length > 0;
  } catch {
    // The demo restarting: the next round asks again.
  }
}

void refresh();
setInterval(refresh, REFRESH_MS);
