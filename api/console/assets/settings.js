// Settings: the display name, password, notification settings, this browser's sound and
// desktop notifications, API tokens.
'use strict';

document.addEventListener('DOMContentLoaded', () => {
  const { api, el, fullTime } = ibx;

  function result(form, msg, bad) {
    const r = form.querySelector('.result');
    r.textContent = msg;
    r.classList.toggle('bad', !!bad);
  }

  // Display name (PUT /api/v1/me): the header follows the saved name.
  const pf = document.getElementById('profile');
  pf.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    try {
      const u = await api('PUT', '/api/v1/me', { name: pf.elements.name.value });
      pf.elements.name.value = u.name;
      ibx.me.name = u.name;
      document.body.dataset.userName = u.name;
      const who = document.querySelector('header .who');
      if (who) who.textContent = u.name;
      result(pf, 'Saved.');
    } catch (e) {
      result(pf, (e.field ? e.field + ' ' : '') + e.message, true);
    }
  });

  // Password.
  const pw = document.getElementById('password');
  pw.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    try {
      const revoke = pw.revoke_tokens.checked;
      await api('PUT', '/api/v1/me/password', { current_password: pw.current_password.value, new_password: pw.new_password.value, revoke_tokens: revoke });
      pw.reset();
      result(pw, revoke ? 'Password changed. Your API tokens are revoked.' : 'Password changed.');
      if (revoke) tokens();
    } catch (e) {
      result(pw, (e.field ? e.field.replace('_', ' ') + ' ' : '') + e.message, true);
    }
  });

  // Notification settings (GET|PUT /api/v1/me/notifications).
  const nf = document.getElementById('notifications');
  const kinds = ['new_chat', 'my_conversation', 'registered_contact', 'missed_while_offline', 'assigned', 'mention'];
  api('GET', '/api/v1/me/notifications').then((s) => {
    for (const k of kinds) for (const via of ['in_app', 'email']) nf.elements[k + '.' + via].checked = !!(s[k] && s[k][via]);
    nf.invisible_slow_chats.checked = !!s.invisible_slow_chats;
    nf.desktop.checked = !!s.desktop;
    nf.sound.checked = !!s.sound;
  }).catch((e) => {
    result(nf, 'Notification settings are not available: ' + e.message, true);
    for (const i of nf.querySelectorAll('input, button')) i.disabled = true;
  });
  nf.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const s = { invisible_slow_chats: nf.invisible_slow_chats.checked, desktop: nf.desktop.checked, sound: nf.sound.checked };
    for (const k of kinds) s[k] = { in_app: nf.elements[k + '.in_app'].checked, email: nf.elements[k + '.email'].checked };
    try {
      const saved = await api('PUT', '/api/v1/me/notifications', s);
      Object.assign(ibx.prefs, { desktop: saved.desktop, sound: saved.sound });
      result(nf, 'Saved.');
    } catch (e) {
      result(nf, e.message, true);
    }
  });

  // This browser.
  const desk = document.querySelector('button[name=desktop]');
  const state = document.getElementById('desktop-state');
  function showDesk() {
    if (!window.Notification) { state.textContent = 'This browser has no desktop notifications.'; desk.hidden = true; return; }
    state.textContent = { granted: 'Allowed.', denied: 'Blocked in the browser settings.', default: '' }[Notification.permission] || '';
    desk.hidden = Notification.permission !== 'default';
  }
  desk.addEventListener('click', () => Notification.requestPermission().then(showDesk));
  showDesk();

  // API tokens.
  const tb = document.getElementById('tokens');
  async function tokens() {
    try {
      const r = await api('GET', '/api/v1/me/tokens');
      tb.replaceChildren(...r.items.map((t) => el('tr', { 'data-token-id': t.id },
        el('td', { text: t.name }), el('td', { text: fullTime(t.created_at) }),
        el('td', { text: t.expires_at ? fullTime(t.expires_at) : 'never' }),
        el('td', { text: t.last_used_at ? fullTime(t.last_used_at) : 'never' }),
        el('td', {}, el('button', { type: 'button', name: 'revoke', class: 'link', text: 'Revoke', onclick: async () => {
          if (!confirm('Revoke the token "' + t.name + '"? Scripts using it stop working.')) return;
          try { await api('DELETE', '/api/v1/me/tokens/' + t.id); tokens(); } catch (e) { ibx.flash(e.message, true); }
        } })))));
    } catch (e) {
      ibx.flash('Could not load the tokens: ' + e.message, true);
    }
  }
  const nt = document.getElementById('new-token');
  nt.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    try {
      const body = { name: nt.elements.name.value };
      // A date means the end of that day, in this browser's time zone.
      if (nt.expires_at.value) body.expires_at = new Date(nt.expires_at.value + 'T23:59:59').toISOString().replace(/\.\d+Z$/, 'Z');
      const r = await api('POST', '/api/v1/me/tokens', body);
      const once = document.getElementById('token-once');
      once.querySelector('code').textContent = r.token;
      once.hidden = false;
      nt.reset();
      tokens();
    } catch (e) {
      ibx.flash(e.message, true);
    }
  });
  ibx.startFeed('/api/v1/me/events');
  tokens();
});
