// The conversation's links (side panel): links to tickets and tasks
// elsewhere, added by URL or made with "Create ticket" when a ticket
// system is configured, removed with ×. A link change by anyone arrives
// as conversation.updated carrying "links". Errors stay on the panel
// until the next attempt, so a failed ticket can be retried.
'use strict';

document.addEventListener('DOMContentLoaded', () => {
  const { api, el, fullTime } = ibx;
  const root = document.querySelector('.conv');
  const section = document.getElementById('links');
  if (!root || !section) return;
  const id = Number(root.dataset.id);
  const base = `/api/v1/conversations/${id}`;
  const list = document.getElementById('link-list');
  const errorBox = document.getElementById('links-error');
  const form = document.getElementById('link-form');
  const createBtn = section.querySelector('button[name=create-ticket]');
  let links = [];
  let busy = false;

  function showError(msg) {
    errorBox.textContent = msg;
    errorBox.hidden = !msg;
  }

  // Only http(s) links are ever made clickable (the server accepts no
  // other; this holds even if one slipped in).
  function safeURL(u) { return /^https?:\/\//i.test(u || ''); }

  function render() {
    list.replaceChildren();
    if (!links.length) {
      list.append(el('li', { class: 'empty', text: 'No links yet.' }));
      return;
    }
    for (const l of links) {
      const label = l.title || l.url;
      const who = l.created_by && l.created_by.name ? ' · added by ' + l.created_by.name : '';
      const title = l.url + (l.created_at ? ' · ' + fullTime(l.created_at) : '') + who;
      list.append(el('li', { 'data-link-id': l.id },
        safeURL(l.url)
          ? el('a', { href: l.url, target: '_blank', rel: 'noopener noreferrer', title, text: label })
          : el('span', { title, text: label }),
        l.system ? el('span', { class: 'system', text: l.system }) : null,
        el('button', { type: 'button', name: 'delete-link', class: 'link', 'aria-label': 'Remove the link ' + label,
          title: 'Remove', text: '×', onclick: () => remove(l) })));
    }
  }

  function upsert(l) {
    const i = links.findIndex((x) => x.id === l.id);
    if (i >= 0) links[i] = l; else links.push(l);
    render();
  }

  async function load() {
    let out;
    try {
      out = await api('GET', base + '/links');
    } catch (e) {
      if (e.status !== 404) { section.hidden = false; showError('Could not load the links: ' + e.message); }
      return; // 404: a conversation this agent does not see
    }
    links = out.items || [];
    if (out.ticket_action && out.ticket_action.label) {
      createBtn.textContent = out.ticket_action.label;
      createBtn.hidden = false;
    }
    section.hidden = false;
    render();
  }

  async function createTicket() {
    if (busy) return;
    busy = true;
    const label = createBtn.textContent;
    createBtn.disabled = true;
    createBtn.setAttribute('aria-busy', 'true');
    createBtn.textContent = 'Creating…';
    showError('');
    try {
      upsert(await api('POST', base + '/tickets'));
      ibx.flash('Ticket created and linked');
    } catch (e) {
      // 502 names what the ticket system answered; the button stays to retry.
      showError('The ticket was not created: ' + e.message + '. You can try again.');
    } finally {
      createBtn.textContent = label;
      createBtn.disabled = false;
      createBtn.removeAttribute('aria-busy');
      busy = false;
    }
  }

  async function remove(l) {
    showError('');
    try {
      await api('DELETE', `${base}/links/${l.id}`);
      links = links.filter((x) => x.id !== l.id);
      render();
    } catch (e) {
      if (e.status === 404) { links = links.filter((x) => x.id !== l.id); render(); return; }
      showError('Could not remove the link: ' + e.message);
    }
  }

  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const url = form.elements.url.value.trim();
    const title = form.elements.title.value.trim();
    const btn = form.querySelector('button[name=add-link]');
    btn.disabled = true;
    showError('');
    try {
      upsert(await api('POST', base + '/links', { url, title }));
      form.reset();
    } catch (e) {
      showError('Could not add the link: ' + e.message);
      const field = form.elements[e.field];
      if (field && field.focus) field.focus();
    } finally {
      btn.disabled = false;
    }
  });
  createBtn.addEventListener('click', createTicket);

  ibx.onEvent((ev) => {
    if (ev.conversation_id !== id || ev.kind !== 'conversation.updated') return;
    const p = ev.payload || {};
    if (!Array.isArray(p.links)) return; // other updates leave the links as they are
    links = p.links;
    render();
  });

  load();
});
