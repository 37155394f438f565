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

  load();
});
