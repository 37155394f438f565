// The login form: posts JSON (the API sets the session and CSRF cookies),
// then goes where the visitor was headed, on this site only.
'use strict';

// safeNext resolves next as the browser will (tabs and newlines dropped,
// backslashes read as slashes, //host as another host) and keeps it only
// when it stays on this origin; then only its path, query and fragment are
// used, behind this origin (a path like //host, from /.//host, must not be
// read as another host again). Anything else goes home.
function safeNext(next) {
  const home = location.origin + '/';
  if (!next) return home;
  let u;
  try { u = new URL(next, location.href); } catch (_) { return home; }
  if (u.origin !== location.origin) return home;
  return location.origin + u.pathname + u.search + u.hash;
}

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
      location.href = safeNext(new URLSearchParams(location.search).get('next'));
    } catch (e) {
      err.textContent = e.message;
      err.hidden = false;
      form.password.select();
    } finally {
      btn.disabled = false;
    }
  });
});
