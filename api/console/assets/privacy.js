// A person's data, on the conversation page (owners and admins): export
// the contact's data as a JSON file, or erase it everywhere — the
// contact, its conversations and messages, attachments, forms and widget
// visitors (GET /api/v1/contacts/{id}/export, DELETE /api/v1/contacts/{id}).
'use strict';

document.addEventListener('DOMContentLoaded', async () => {
  const { api, el, me } = ibx;
  const root = document.querySelector('.conv');
  const box = document.getElementById('contact-privacy');
  if (!root || !box || !me.admin) return;
  let contact = null;
  try {
    contact = (await api('GET', `/api/v1/conversations/${Number(root.dataset.id)}`)).contact;
  } catch (_) { return; }
  if (!contact || !contact.id) return;
  const label = contact.name || contact.email || contact.external_id || ('contact ' + contact.id);

  async function exportData(ev) {
    const b = ev.currentTarget;
    b.disabled = true;
    try {
      const data = await api('GET', `/api/v1/contacts/${contact.id}/export`);
      const url = URL.createObjectURL(new Blob([JSON.stringify(data, null, 2)], { type: 'application/json' }));
      const a = el('a', { href: url, download: `contact-${contact.id}.json`, hidden: true });
      document.body.append(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(url), 10000);
      ibx.flash('Exported the data of ' + label + '.');
    } catch (e) {
      ibx.flash('Could not export: ' + e.message, true);
    } finally { b.disabled = false; }
  }

  async function erase(ev) {
    const b = ev.currentTarget;
    if (!confirm('Erase everything kept about ' + label + ' on this channel: the contact, all of its conversations ' +
      'and messages, attachments and contact forms? This cannot be undone.')) return;
    b.disabled = true;
    try {
      const r = await api('DELETE', `/api/v1/contacts/${contact.id}`);
      const n = (r && r.deleted) || {};
      ibx.flash(`Erased ${label}: ${n.conversations || 0} conversations, ${n.messages || 0} messages.`);
      root.dataset.erased = 'true';
      setTimeout(() => { location.href = '/journal'; }, 1500);
    } catch (e) {
      ibx.flash('Could not erase: ' + e.message, true);
      b.disabled = false;
    }
  }

  box.replaceChildren(
    el('h2', { text: 'Personal data' }),
    el('p', { class: 'hint', text: 'Export or erase what is kept about this contact (recorded in the audit log).' }),
    el('div', { class: 'actions' },
      el('button', { type: 'button', name: 'export-contact', onclick: exportData, text: 'Export data' }),
      el('button', { type: 'button', name: 'erase-contact', class: 'danger', onclick: erase, text: 'Erase data…' })),
  );
  box.hidden = false;
});
