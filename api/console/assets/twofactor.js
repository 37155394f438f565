// Settings: two-factor authentication (GET|POST|DELETE /api/v1/me/2fa,
// POST /api/v1/me/2fa/confirm). The secret, QR code and recovery codes
// are shown once, when the enrolment starts.
'use strict';

document.addEventListener('DOMContentLoaded', () => {
  const box = document.getElementById('two-factor');
  if (!box) return;
  const { api } = ibx;
  const state = box.querySelector('.tf-state');
  const enrolBtn = box.querySelector('button[name=enrol_2fa]');
  const enrol = box.querySelector('.tf-enrol');
  const confirm = document.getElementById('confirm-2fa');
  const disable = document.getElementById('disable-2fa');

  function result(form, msg, bad) {
    const r = form.querySelector('.result');
    r.textContent = msg;
    r.classList.toggle('bad', !!bad);
  }

  function show(s) {
    box.dataset.enabled = s.enabled ? 'true' : 'false';
    box.querySelector('.tf-required').hidden = !s.required;
    state.textContent = s.enabled
      ? 'On. Recovery codes left: ' + s.recovery_codes_left + '.'
      : 'Off: logging in needs your password only.';
    enrolBtn.hidden = s.enabled;
    disable.hidden = !s.enabled;
    if (s.enabled) enrol.hidden = true;
  }

  function load() {
    return api('GET', '/api/v1/me/2fa').then(show).catch((e) => { state.textContent = 'Not available: ' + e.message; });
  }

  enrolBtn.addEventListener('click', async () => {
    try {
      const r = await api('POST', '/api/v1/me/2fa', {});
      box.querySelector('.tf-qr').src = r.qr_png;
      box.querySelector('.tf-secret').textContent = r.secret;
      const list = box.querySelector('.tf-codes');
      list.replaceChildren(...r.recovery_codes.map((c) => {
        const li = document.createElement('li');
        li.textContent = c;
        return li;
      }));
      enrol.hidden = false;
      enrolBtn.hidden = true;
      confirm.code.focus();
    } catch (e) {
      state.textContent = e.message;
    }
  });

  confirm.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    try {
      await api('POST', '/api/v1/me/2fa/confirm', { code: confirm.code.value.trim() });
      confirm.reset();
      result(confirm, '');
      enrol.hidden = true;
      await load();
      state.textContent = 'On. Keep your recovery codes safe.';
    } catch (e) {
      result(confirm, e.message, true);
    }
  });

  disable.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    try {
      await api('DELETE', '/api/v1/me/2fa', { code: disable.code.value.trim() });
      disable.reset();
      result(disable, '');
      await load();
    } catch (e) {
      result(disable, e.message, true);
    }
  });

  // Owners: reset another user's second factor (DELETE /api/v1/users/{id}/2fa).
  const reset = document.getElementById('reset-2fa');
  function users() {
    return api('GET', '/api/v1/users').then((r) => {
      const me = String(ibx.me && ibx.me.id);
      const on = (r.items || []).filter((u) => u.two_factor && String(u.id) !== me);
      reset.user.replaceChildren(...on.map((u) => {
        const o = document.createElement('option');
        o.value = u.id;
        o.textContent = u.name + ' <' + u.email + '>';
        return o;
      }));
      reset.reset_2fa.disabled = on.length === 0;
      if (on.length === 0) result(reset, 'Nobody else has two-factor authentication on.');
    }).catch((e) => result(reset, e.message, true));
  }
  if (reset) {
    reset.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      const opt = reset.user.selectedOptions[0];
      if (!opt) return;
      try {
        await api('DELETE', '/api/v1/users/' + encodeURIComponent(reset.user.value) + '/2fa');
        const who = opt.textContent;
        await users();
        result(reset, 'Reset for ' + who + '.');
      } catch (e) {
        result(reset, e.message, true);
      }
    });
    users();
  }

  load();
});
