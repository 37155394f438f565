// Canned replies and tags: everyone keeps personal canned replies and
// reads the shared ones of their queues; owners and admins manage the
// shared ones and the tags.
'use strict';

document.addEventListener('DOMContentLoaded', () => {
  const { api, el, me } = ibx;
  const form = document.getElementById('canned-form');
  const rows = document.getElementById('canned-rows');
  const cancel = form.querySelector('button[name=cancel_canned]');

  function result(f, msg, bad) {
    const r = f.querySelector('.result');
    r.textContent = msg;
    r.classList.toggle('bad', !!bad);
  }

  function scopeOf(r) { return r.personal ? 'personal' : (r.queue ? 'queue:' + r.queue : 'all'); }
  function scopeLabel(r) { return r.personal ? 'Only me' : (r.queue ? r.queue : 'Every queue'); }

  function edit(r) {
    form.elements.id.value = r ? r.id : '';
    form.shortcut.value = r ? r.shortcut : '';
    form.title.value = r ? r.title : '';
    form.elements.text.value = r ? r.text : '';
    if (r) form.scope.value = scopeOf(r);
    cancel.hidden = !r;
    result(form, '');
    if (r) form.shortcut.focus();
  }

  async function list() {
    try {
      const r = await api('GET', '/api/v1/canned');
      rows.replaceChildren(...r.items.map((c) => {
        const mine = c.personal || me.admin;
        return el('tr', { 'data-canned-id': c.id },
          el('td', {}, el('code', { text: '/' + c.shortcut })),
          el('td', { class: 'wrap', title: c.text, text: c.title }),
          el('td', { text: scopeLabel(c) }),
          el('td', {}, mine ? el('button', { type: 'button', class: 'link', name: 'edit', text: 'Edit', onclick: () => edit(c) }) : null,
            mine ? ' ' : null,
            mine ? el('button', { type: 'button', class: 'link', name: 'delete', text: 'Delete', onclick: () => remove(c) }) : null));
      }));
      if (!r.items.length) rows.append(el('tr', {}, el('td', { colspan: 4, class: 'hint', text: 'None yet.' })));
    } catch (e) {
      result(form, 'Could not load canned replies: ' + e.message, true);
    }
  }

  async function remove(c) {
    if (!confirm('Delete /' + c.shortcut + '?')) return;
    try {
      await api('DELETE', '/api/v1/canned/' + c.id);
      list();
    } catch (e) {
      ibx.flash(e.message, true);
    }
  }

  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const scope = form.scope.value;
    const body = { shortcut: form.shortcut.value, title: form.title.value, text: form.elements.text.value,
      personal: scope === 'personal', queue: scope.startsWith('queue:') ? scope.slice(6) : null };
    const id = form.elements.id.value;
    try {
      await api(id ? 'PUT' : 'POST', '/api/v1/canned' + (id ? '/' + id : ''), body);
      edit(null);
      result(form, 'Saved.');
      list();
    } catch (e) {
      result(form, (e.field ? e.field + ': ' : '') + e.message, true);
    }
  });
  cancel.addEventListener('click', () => edit(null));
  list();

  // Tags (owners and admins).
  const tf = document.getElementById('tag-form');
  const tagRows = document.getElementById('tag-rows');
  if (!tf) return;
  async function tags() {
    try {
      const r = await api('GET', '/api/v1/tags');
      tagRows.replaceChildren(...r.items.map((t) => {
        const c = ibxTags.chip(t.name);
        c.style.setProperty('--tag', t.color);
        return el('li', { 'data-tag-id': t.id }, c, ' ',
          el('button', { type: 'button', class: 'link', name: 'delete_tag', 'aria-label': 'Delete tag ' + t.name, text: 'Delete',
            onclick: async () => {
              if (!confirm('Delete the tag ' + t.name + '? It is taken off every conversation.')) return;
              try { await api('DELETE', '/api/v1/tags/' + t.id); tags(); } catch (e) { ibx.flash(e.message, true); }
            } }));
      }));
      if (!r.items.length) tagRows.append(el('li', { class: 'hint', text: 'No tags yet.' }));
    } catch (e) {
      result(tf, 'Could not load tags: ' + e.message, true);
    }
  }
  tf.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    try {
      await api('POST', '/api/v1/tags', { name: tf.elements.name.value, color: tf.color.value });
      tf.elements.name.value = '';
      result(tf, 'Created.');
      tags();
    } catch (e) {
      result(tf, e.message, true);
    }
  });
  tags();
});
