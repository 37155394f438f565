// A queue's activity log, newest first, with what registered contacts
// wrote (the entry's data) shown as text.
'use strict';

document.addEventListener('DOMContentLoaded', () => {
  const { api, el, fullTime, when } = ibx;
  const list = document.getElementById('activity');
  const sel = document.querySelector('select[name=queue]');
  const older = document.querySelector('button[name=older]');
  const empty = document.querySelector('.empty');
  let before = 0;

  const verbs = {
    created: 'New conversation', assigned: 'took', joined: 'joined', left: 'left', closed: 'closed',
    reopened: 'Reopened', edited: 'Message edited', transferred: 'transferred',
  };

  function entry(a) {
    const li = el('li', { class: 'act', 'data-kind': a.kind });
    li.append(el('time', { datetime: a.created_at, title: fullTime(a.created_at), text: when(a.created_at) }));
    const line = el('span', { class: 'what' });
    if (a.actor_name) line.append(el('strong', { text: a.actor_name }), ' ');
    // A hand-over names its assignee; a take does not.
    const handOver = a.kind === 'assigned' && a.data && a.data.to && a.data.to !== a.actor_name;
    line.append(handOver ? 'assigned to ' + a.data.to : (verbs[a.kind] || a.kind.replace(/[._]/g, ' ')));
    if (a.conversation_id) line.append(' ', el('a', { href: '/conversations/' + a.conversation_id, text: 'conversation ' + a.conversation_id }));
    li.append(line, el('span', { class: 'q', text: a.queue }));
    const data = Object.entries(a.data || {});
    if (data.length) {
      const dl = el('dl', { class: 'kv small' });
      for (const [k, v] of data) dl.append(el('dt', { text: k }), el('dd', { text: v }));
      li.append(dl);
    }
    return li;
  }

  async function load(reset) {
    if (reset) { before = 0; list.replaceChildren(); }
    const p = new URLSearchParams({ limit: 100 });
    if (sel.value) p.set('queue', sel.value);
    if (before) p.set('before', before);
    try {
      const r = await api('GET', '/api/v1/activity?' + p);
      for (const a of r.items) list.append(entry(a));
      if (r.items.length) before = r.items[r.items.length - 1].id;
      older.hidden = r.items.length < 100;
      empty.hidden = list.children.length > 0;
    } catch (e) {
      ibx.flash('Could not load the activity: ' + e.message, true);
    }
  }

  sel.addEventListener('change', () => load(true));
  older.addEventListener('click', () => load(false));
  ibx.onEvent((ev) => { if (ev.kind.startsWith('conversation.') || ev.kind.startsWith('queue.')) load(true); });
  ibx.startFeed('/api/v1/me/events');
  load(true);
});
