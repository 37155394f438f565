// Contacts: search (GET /api/v1/contacts), one contact with its person's
// conversations on every channel (GET /api/v1/contacts/{id}), and, for
// owners and admins, linking the same person's contacts
// (POST|DELETE /api/v1/contacts/{id}/merge).
'use strict';

document.addEventListener('DOMContentLoaded', () => {
  const { api, el, me, when, fullTime, channelTag, badge, flash } = ibx;
  const root = document.querySelector('.contacts');
  const form = document.getElementById('contact-search');
  const results = document.getElementById('contact-results');
  const more = document.querySelector('button[name=more]');
  const detail = document.getElementById('contact-detail');
  let cursor = '';
  let current = Number(root.dataset.id || 0);

  function contactRow(c, action) {
    const li = el('li', { class: 'row contact-row', tabindex: '-1', 'data-contact-id': c.id });
    li.append(
      el('span', { class: 'c-title' }, el('a', { href: '/contacts/' + c.id, text: c.name || c.username || c.external_id || ('#' + c.id) })),
      el('span', { class: 'c-channel' }, channelTag(c.channel)),
      el('span', { class: 'c-parts', text: [c.email, c.phone].filter(Boolean).join(' · ') || c.external_id }),
      el('time', { class: 'c-time', datetime: c.created_at, title: fullTime(c.created_at), text: when(c.created_at) }));
    if (action) li.append(action);
    li.querySelector('a').addEventListener('click', (ev) => {
      if (action) return;
      ev.preventDefault();
      open(c.id, true);
    });
    return li;
  }

  async function search(append) {
    const q = form.elements.q.value.trim();
    try {
      const p = await api('GET', '/api/v1/contacts?limit=50&q=' + encodeURIComponent(q) + (append && cursor ? '&cursor=' + encodeURIComponent(cursor) : ''));
      const rows = p.items.map((c) => contactRow(c));
      if (append) results.append(...rows); else results.replaceChildren(...rows);
      cursor = p.next_cursor;
      more.hidden = !cursor;
      document.querySelector('[data-empty=contacts]').hidden = results.children.length > 0;
      ibx.ensureTabStop(results);
    } catch (e) {
      flash(e.message, true);
    }
  }

  function convItem(cv) {
    return el('li', { class: 'history-item', 'data-conversation-id': cv.id, 'data-status': cv.status },
      el('a', { href: '/conversations/' + cv.id, text: '#' + cv.number + ' ' + (cv.title || '') }), ' ',
      channelTag(cv.channel), ' ', badge(cv.status), ' ',
      el('time', { datetime: cv.last_activity_at, title: fullTime(cv.last_activity_at), text: when(cv.last_activity_at) }),
      cv.preview ? el('div', { class: 'hint', text: cv.preview }) : null);
  }

  async function open(id, push) {
    let d;
    try {
      d = await api('GET', '/api/v1/contacts/' + id);
    } catch (e) {
      flash(e.status === 404 ? 'This contact does not exist, or is not yours to see.' : e.message, true);
      return;
    }
    current = id;
    if (push) history.pushState({ id }, '', '/contacts/' + id);
    detail.hidden = false;
    detail.dataset.contactId = id;
    document.getElementById('cd-title').textContent = d.name || d.username || ('#' + d.id);
    document.title = (d.name || 'Contact') + ' · inboxd';
    const dl = document.getElementById('contact-fields');
    dl.replaceChildren();
    const add = (k, v) => { if (v) dl.append(el('dt', { text: k }), el('dd', { text: v })); };
    add('Channel', (d.channel && (d.channel.name || d.channel.id)) || '');
    add('Username', d.username);
    add('Email', d.email);
    add('Phone', d.phone);
    add('ID on the channel', d.external_id);
    for (const [k, v] of Object.entries(d.meta || {})) add(k, v);
    add('First seen', fullTime(d.created_at));

    const linked = document.getElementById('contact-linked');
    linked.replaceChildren(...d.linked.map((o) => el('li', { 'data-contact-id': o.id },
      el('a', { href: '/contacts/' + o.id, text: o.name || o.external_id }), ' ', channelTag(o.channel),
      me.admin ? el('button', { type: 'button', name: 'unmerge', class: 'link', text: 'Unlink',
        onclick: () => unmerge(o.id) }) : null)));
    if (!d.linked.length) linked.append(el('li', { class: 'hint', text: 'None.' }));
    if (me.admin && d.linked.length) {
      linked.append(el('li', {}, el('button', { type: 'button', name: 'unmerge-self', class: 'link',
        text: 'Unlink this contact from them', onclick: () => unmerge(id) })));
    }
    document.getElementById('merge-form').hidden = !me.admin;
    document.getElementById('merge-candidates').replaceChildren();
    const convs = document.getElementById('contact-conversations');
    convs.replaceChildren(...d.conversations.map(convItem));
    if (!d.conversations.length) convs.append(el('li', { class: 'hint', text: 'No conversation you may see.' }));
  }

  async function merge(into) {
    try {
      await api('POST', '/api/v1/contacts/' + current + '/merge', { into });
      flash('Linked.');
      open(current);
    } catch (e) {
      flash(e.message, true);
    }
  }

  async function unmerge(id) {
    try {
      await api('DELETE', '/api/v1/contacts/' + id + '/merge');
      flash('Unlinked.');
      open(current);
    } catch (e) {
      flash(e.message, true);
    }
  }

  document.getElementById('merge-form').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const q = ev.target.elements['merge-q'].value.trim();
    try {
      const p = await api('GET', '/api/v1/contacts?limit=20&q=' + encodeURIComponent(q));
      const list = document.getElementById('merge-candidates');
      list.replaceChildren(...p.items.filter((c) => c.id !== current).map((c) => contactRow(c,
        el('button', { type: 'button', name: 'merge', text: 'Link', onclick: () => merge(c.id) }))));
      if (!list.children.length) list.append(el('li', { class: 'hint', text: 'No other contact matches.' }));
    } catch (e) {
      flash(e.message, true);
    }
  });

  form.addEventListener('submit', (ev) => { ev.preventDefault(); search(false); });
  more.addEventListener('click', () => search(true));
  window.addEventListener('popstate', (ev) => { if (ev.state && ev.state.id) open(ev.state.id); });
  ibx.keyboardList(results);
  search(false);
  if (current) open(current);
});
