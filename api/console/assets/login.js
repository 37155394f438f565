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

// credentials is the login's body: the second factor only once asked for.
function credentials() {
  const form = document.querySelector('form.login');
  const body = { email: form.email.value, password: form.password.value };
  if (!form.querySelector('.second-factor').hidden) {
    if (!form.recovery_code.closest('label').hidden) {
      if (form.recovery_code.value) body.recovery_code = form.recovery_code.value.trim();
    } else if (form.code.value) {
      body.code = form.code.value.trim();
    }
  }
  return body;
}

document.addEventListener('DOMContentLoaded', () => {
  const form = document.querySelector('form.login');
  const err = form.querySelector('.error');
  const next = new URLSearchParams(location.search).get('next');
  // Single sign-on carries the destination along (the server keeps only a path of this site).
  const sso = document.querySelector('a[data-sso]');
  if (sso && next) sso.href = '/auth/oidc/login?next=' + encodeURIComponent(next);
  // The second factor: shown when the API answers 2fa_required.
  const second = form.querySelector('.second-factor');
  const recoveryLabel = form.recovery_code.closest('label');
  form.use_recovery.addEventListener('click', () => {
    const show = recoveryLabel.hidden;
    recoveryLabel.hidden = !show;
    form.code.closest('label').hidden = show;
    form.use_recovery.textContent = show ? 'Use a code from the app instead' : 'Use a recovery code instead';
    (show ? form.recovery_code : form.code).focus();
  });
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    err.hidden = true;
    const btn = form.querySelector('button[type=submit]');
    btn.disabled = true;
    try {
      const resp = await fetch('/api/v1/auth/login', {
        method: 'POST', credentials: 'same-origin',
        headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
        body: JSON.stringify(credentials()),
      });
      if (!resp.ok) {
        let body = null;
        try { body = (await resp.json()).error; } catch (_) { /* keep */ }
        if (body && body.code === '2fa_required') {
          second.hidden = false;
          form.code.focus();
          err.textContent = body.message;
          err.hidden = false;
          return;
        }
        const e = new Error((body && body.message) || 'Could not log in.');
        e.field = body && body.field;
        throw e;
      }
      location.href = safeNext(next);
    } catch (e) {
      err.textContent = e.message;
      err.hidden = false;
      if (e.field === 'code' || e.field === 'recovery_code') {
        form[e.field].select();
      } else {
        form.password.select();
      }
    } finally {
      btn.disabled = false;
    }
  });
});
