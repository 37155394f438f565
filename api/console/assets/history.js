// The conversation page's contact panel: the customer's previous
// conversations on every channel (its linked contacts' included), with
// links, from GET /api/v1/contacts/{id}.
'use strict';

document.addEventListener('DOMContentLoaded', async () => {
  const { api, el, when, fullTime, channelTag, badge } = ibx;
  const conv = document.querySelector('.conv');
  const side = document.querySelector('.conv-side');
  if (!conv || !side) return;
  const id = Number(conv.dataset.id);
  let contactID = 0;
  try {
    const d = await api('GET', '/api/v1/conversations/' + id);
    contactID = d.contact && d.contact.id;
  } catch (_) { return; /* not visible: the page says so */ }
  if (!contactID) return;
  let d;
  try {
    d = await api('GET', '/api/v1/contacts/' + contactID);
  } catch (_) { return; }
  const others = d.conversations.filter((c) => c.id !== id);
  const section = el('section', { class: 'history-panel', 'aria-labelledby': 'history-title' },
    el('h2', { id: 'history-title', text: 'Previous conversations' }));
  const list = el('ol', { class: 'history', id: 'previous-conversations' });
  for (const c of others) {
    list.append(el('li', { class: 'history-item', 'data-conversation-id': c.id, 'data-status': c.status },
      el('a', { href: '/conversations/' + c.id, text: '#' + c.number + ' ' + (c.title || '') }), ' ',
      channelTag(c.channel), ' ', badge(c.status), ' ',
      el('time', { datetime: c.last_activity_at, title: fullTime(c.last_activity_at), text: when(c.last_activity_at) }),
      c.preview ? el('div', { class: 'hint', text: c.preview }) : null));
  }
  if (!others.length) list.append(el('li', { class: 'hint', text: 'None you may see.' }));
  section.append(list);
  if (d.linked.length) {
    section.append(el('p', { class: 'hint', text: 'Also on: ' + d.linked.map((o) => (o.channel && o.channel.name) || o.channel.id).join(', ') }));
  }
  section.append(el('p', {}, el('a', { href: '/contacts/' + contactID, text: 'Open the contact' })));
  side.append(section);
});
