// The one-time link's page: sets the password (and the name) with the
// link's token, which the API then logs in; on to the console.
'use strict';

document.addEventListener('DOMContentLoaded', () => {
  const form = document.querySelector('form.invite');
  const err = form.querySelector('.error');
  const token = decodeURIComponent(location.pathname.split('/').pop() || '');
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    err.hidden = true;
    if (form.password.value !== form.password2.value) {
      err.textContent = 'The passwords differ.';
      err.hidden = false;
      return;
    }
    const btn = form.querySelector('button[type=submit]');
    btn.disabled = true;
    try {
      const body = { password: form.password.value };
      if (form.elements.name.value.trim()) body.name = form.elements.name.value.trim();
      const resp = await fetch('/api/v1/invitations/' + encodeURIComponent(token) + '/accept', {
        method: 'POST', credentials: 'same-origin',
        headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
        body: JSON.stringify(body),
      });
      if (!resp.ok) {
        let msg = 'Could not set the password.';
        try { msg = (await resp.json()).error.message || msg; } catch (_) { /* keep */ }
        throw new Error(msg);
      }
      location.href = location.origin + '/';
    } catch (e) {
      err.textContent = e.message;
      err.hidden = false;
    } finally {
      btn.disabled = false;
    }
  });
});
