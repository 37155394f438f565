// Users (admins and owners): the team with role, queues, account status
// and last seen; invite (the one-time link is shown to pass on), edit,
// deactivate and reactivate, password-reset links.
'use strict';

document.addEventListener('DOMContentLoaded', () => {
  const { api, el, when, fullTime, flash, me } = ibx;
  const tbody = document.getElementById('users');
  const inviteForm = document.getElementById('invite');
  const editBox = document.getElementById('edit-user');
  const editForm = document.getElementById('edit');

  function result(form, msg, bad) {
    const r = form.querySelector('.result');
    r.textContent = msg;
    r.classList.toggle('bad', !!bad);
  }
  function checked(form) {
    return [...form.querySelectorAll('input[name=queues]:checked')].map((i) => i.value);
  }
  // absolute: without public_url the API answers a link's path.
  function absolute(url) {
    return url.startsWith('/') ? location.origin + url : url;
  }
  function manageable(u) {
    return me.role === 'owner' || u.role === 'agent';
  }

  async function act(u, path, done) {
    try {
      const out = await api('POST', '/api/v1/users/' + u.id + '/' + path);
      flash(done(out));
      load();
    } catch (e) {
      flash(e.message, true);
    }
  }

  function edit(u) {
    editForm.elements.id.value = u.id;
    editForm.elements.name.value = u.name;
    editForm.elements.role.value = u.role;
    for (const o of editForm.elements.role.options) o.disabled = me.role !== 'owner' && o.value !== 'agent';
    for (const i of editForm.querySelectorAll('input[name=queues]')) i.checked = (u.queues || []).includes(i.value);
    result(editForm, '');
    editBox.hidden = false;
    editForm.elements.name.focus();
  }

  function row(u) {
    const actions = el('td', { class: 'actions' });
    if (manageable(u)) {
      actions.append(el('button', { type: 'button', name: 'edit', onclick: () => edit(u) }, 'Edit'));
      if (u.account_status === 'deactivated') {
        actions.append(el('button', { type: 'button', name: 'reactivate', onclick: () => act(u, 'reactivate', () => u.name + ' can log in again.') }, 'Reactivate'));
      } else {
        actions.append(el('button', { type: 'button', name: 'password_reset', onclick: () => act(u, 'password-reset', (o) => 'Link for ' + u.name + (o.mailed ? ' (mailed)' : '') + ': ' + absolute(o.reset_url)) }, 'Reset password'));
        actions.append(el('button', { type: 'button', name: 'deactivate', class: 'danger', onclick: () => act(u, 'deactivate', () => u.name + ' is deactivated.') }, 'Deactivate'));
      }
    }
    const queues = u.all_queues ? 'all' : u.queues.join(', ');
    return el('tr', { 'data-user-id': u.id, 'data-account-status': u.account_status, 'data-role': u.role },
      el('td', { class: 'name' }, u.name), el('td', {}, u.email), el('td', {}, u.role), el('td', {}, queues),
      el('td', { class: 'status' }, u.account_status),
      el('td', { title: u.last_seen_at ? fullTime(u.last_seen_at) : '' }, u.last_seen_at ? when(u.last_seen_at) : 'never'),
      actions);
  }

  async function load() {
    try {
      const out = await api('GET', '/api/v1/users');
      tbody.replaceChildren(...out.items.map(row));
    } catch (e) {
      tbody.replaceChildren(el('tr', {}, el('td', { colspan: 7, class: 'error' }, e.message)));
    }
  }

  inviteForm.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const f = inviteForm.elements;
    const link = inviteForm.querySelector('.invite-link');
    link.hidden = true;
    try {
      const out = await api('POST', '/api/v1/users', { email: f.email.value, name: f.name.value, role: f.role.value, queues: checked(inviteForm) });
      inviteForm.reset();
      f.invite_url.value = absolute(out.invite_url);
      link.hidden = false;
      result(inviteForm, out.mailed ? 'Invited: the link was mailed. It is also shown below.' : 'Invited: pass the link below on.');
      f.invite_url.select();
      load();
    } catch (e) {
      result(inviteForm, (e.field ? e.field + ' ' : '') + e.message, true);
    }
  });

  editForm.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const f = editForm.elements;
    try {
      await api('PUT', '/api/v1/users/' + f.id.value, { name: f.name.value, role: f.role.value, queues: checked(editForm) });
      editBox.hidden = true;
      flash('Saved.');
      load();
    } catch (e) {
      result(editForm, (e.field ? e.field + ' ' : '') + e.message, true);
    }
  });
  editForm.elements.cancel_edit.addEventListener('click', () => { editBox.hidden = true; });

  load();
});
