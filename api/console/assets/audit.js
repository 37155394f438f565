// The audit log (admins and owners): newest first, filtered by action and
// actor, older pages on demand, a CSV download of what is filtered.
'use strict';

const auditActions = ['login', 'login_failed', 'user.created', 'user.updated', 'user.deactivated', 'user.reactivated',
  'user.invited', '2fa.enabled', '2fa.disabled', '2fa.reset', 'token.created', 'token.deleted', 'queue.override',
  'contact.exported', 'contact.erased', 'retention.run'];

document.addEventListener('DOMContentLoaded', () => {
  const { api, el, fullTime, flash } = ibx;
  const form = document.getElementById('audit-filter');
  const tbody = document.getElementById('audit');
  const more = document.querySelector('button[name=more]');
  const csv = document.getElementById('audit-csv');
  let before = null;

  for (const a of auditActions) form.elements.action.append(el('option', { value: a }, a));

  function query() {
    const q = new URLSearchParams();
    if (form.elements.action.value) q.set('action', form.elements.action.value);
    if (form.elements.actor.value) q.set('actor', form.elements.actor.value.trim());
    return q;
  }

  function change(data) {
    return Object.keys(data || {}).sort().map((k) => k + ': ' + data[k]).join('; ');
  }

  function row(e) {
    const actor = e.actor_id ? (e.actor_name || '') + ' (#' + e.actor_id + ')' : (e.actor_name || '—');
    return el('tr', { 'data-audit-id': e.id, 'data-action': e.action },
      el('td', {}, fullTime(e.created_at)), el('td', {}, actor), el('td', {}, e.ip || ''),
      el('td', {}, el('code', {}, e.action)), el('td', {}, (e.target_type || '') + (e.target_id ? ' ' + e.target_id : '')),
      el('td', { class: 'change' }, change(e.data)));
  }

  async function load(append) {
    const q = query();
    csv.href = '/api/v1/audit?format=csv' + (q.toString() ? '&' + q : '');
    if (append && before) q.set('before', before);
    try {
      const out = await api('GET', '/api/v1/audit?' + q);
      const rows = out.items.map(row);
      if (append) tbody.append(...rows); else tbody.replaceChildren(...rows);
      before = out.next_before;
      more.hidden = !before;
    } catch (e) {
      flash(e.message, true);
    }
  }

  form.addEventListener('submit', (ev) => { ev.preventDefault(); before = null; load(false); });
  more.addEventListener('click', () => load(true));
  load(false);
});
