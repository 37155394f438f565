// The login form: posts JSON (the API sets the session and CSRF cookies),
// then goes where the visitor was headed, on this site only.
'use strict';

document.addEventListener('DOMContentLoaded', () => {
  const form = document.querySelector('form.login');
  const err = form.querySelector('.error');
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    err.hidden = true;
    const btn = form.querySelector('button[type=submit]');
    btn.disabled = true;
    try {
      const resp = await fetch('/api/v1/auth/login', {
        method: 'POST', credentials: 'same-origin',
        headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
        body: JSON.stringify({ email: form.email.value, password: form.password.value }),
      });
      if (!resp.ok) {
        let msg = 'Could not log in.';
        try { msg = (await resp.json()).error.message || msg; } catch (_) { /* keep */ }
        throw new Error(msg);
      }
      let next = new URLSearchParams(location.search).get('next') || '/';
      if (!next.startsWith('/') || next.startsWith('//') || next.startsWith('/\\')) next = '/';
      location.href = next;
    } catch (e) {
      err.textContent = e.message;
      err.hidden = false;
      form.password.select();
    } finally {
      btn.disabled = false;
    }
  });
});
