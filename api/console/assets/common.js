// inboxd console: what every page shares. The API helper (CSRF header,
// error envelope), DOM building that only ever sets text (never
// innerHTML with data), the presence switch, logout, the live feed and
// notifications.
'use strict';

const ibx = (() => {
  const body = document.body;
  const me = {
    id: Number(body.dataset.userId || 0),
    name: body.dataset.userName || '',
    role: body.dataset.role || '',
    admin: body.dataset.admin === 'true',
  };

  function cookie(name) {
    for (const part of document.cookie.split(';')) {
      const [k, ...v] = part.trim().split('=');
      if (k === name) return decodeURIComponent(v.join('='));
    }
    return '';
  }

  class APIError extends Error {
    constructor(status, body) {
      const e = (body && body.error) || {};
      super(e.message || ('HTTP ' + status));
      this.status = status;
      this.code = e.code || '';
      this.field = e.field || '';
    }
  }

  // api calls the JSON API with the session cookie; state changes carry
  // the CSRF token (double submit). A lost session goes to the login page.
  async function api(method, path, data) {
    const opts = { method, headers: { Accept: 'application/json' }, credentials: 'same-origin' };
    if (method !== 'GET' && method !== 'HEAD') opts.headers['X-CSRF-Token'] = cookie('inboxd_csrf');
    if (data !== undefined) {
      opts.headers['Content-Type'] = 'application/json';
      opts.body = JSON.stringify(data);
    }
    const resp = await fetch(path, opts);
    if (resp.status === 204) return null;
    let out = null;
    try { out = await resp.json(); } catch (_) { /* not JSON */ }
    if (resp.status === 401) {
      location.href = '/login?next=' + encodeURIComponent(location.pathname + location.search);
    }
    if (!resp.ok) throw new APIError(resp.status, out);
    return out;
  }

  // el builds an element; strings become text nodes, never markup.
  function el(tag, attrs, ...children) {
    const n = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === null || v === undefined || v === false) continue;
      if (k === 'text') n.textContent = v;
      else if (k === 'class') n.className = v;
      else if (k.startsWith('on')) n.addEventListener(k.slice(2), v);
      else n.setAttribute(k, v === true ? '' : String(v));
    }
    for (const c of children) {
      if (c === null || c === undefined || c === false) continue;
      n.append(c instanceof Node ? c : document.createTextNode(String(c)));
    }
    return n;
  }

  function when(iso) {
    if (!iso) return '';
    const d = new Date(iso);
    if (isNaN(d) || d.getFullYear() < 1971) return '';
    const now = new Date();
    const s = Math.round((now - d) / 1000);
    if (s < 45) return 'just now';
    if (s < 3600) return Math.round(s / 60) + ' min ago';
    if (d.toDateString() === now.toDateString()) return d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
    return d.toLocaleDateString([], { month: 'short', day: 'numeric' }) + ' ' +
      d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
  }

  function fullTime(iso) {
    const d = new Date(iso);
    return isNaN(d) ? '' : d.toLocaleString();
  }

  const kindLabel = {
    widget: 'Website', telegram: 'Telegram', email: 'Email', messenger: 'Messenger', instagram: 'Instagram',
    whatsapp: 'WhatsApp', viber: 'Viber', webhook: 'Webhook',
  };
  const kindGlyph = {
    widget: '◎', telegram: '✈', email: '@', messenger: 'm', instagram: '◉', whatsapp: '✆', viber: 'v', webhook: '⇄',
  };

  function channelTag(ch) {
    ch = ch || {};
    const kind = ch.kind || 'unknown';
    return el('span', { class: 'channel', title: (kindLabel[kind] || kind) + ': ' + (ch.name || ch.id || '') },
      el('span', { class: 'ch-icon ch-' + kind, 'aria-hidden': 'true', text: kindGlyph[kind] || '?' }),
      el('span', { class: 'ch-name', text: ch.name || ch.id || '' }));
  }

  function badge(status) {
    return el('span', { class: 'badge ' + status, text: status });
  }

  // Tag colours by name, filled by workspace.js once the list is read.
  const tagColors = new Map();

  // tagChip is a tag as lists show it; the UI contract's data-tag carries
  // its name.
  function tagChip(name) {
    const n = el('span', { class: 'tag', 'data-tag': name }, el('span', { text: name }));
    if (tagColors.has(name)) n.style.setProperty('--tag', tagColors.get(name));
    return n;
  }

  function participants(list) {
    return (list || []).map((p) => p.name).join(', ');
  }

  // row renders a conversation summary as a list row; the UI contract's
  // data-conversation-id and data-status are on it.
  function row(item) {
    const li = el('li', { class: 'row' + (item.unread ? ' unread' : ''), tabindex: '-1',
      'data-conversation-id': item.id, 'data-status': item.status, 'data-activity': item.last_activity_at,
      'data-tags': JSON.stringify(item.tags || []) });
    const title = item.title || ('#' + item.number);
    li.append(
      el('span', { class: 'c-title' },
        el('span', { class: 'unread-dot', 'aria-label': item.unread ? 'unread' : null, title: item.unread ? 'unread' : null }),
        el('a', { href: '/conversations/' + item.id, text: title }),
        el('span', { class: 'c-tags' }, ...(item.tags || []).map(tagChip))),
      el('span', { class: 'c-channel' }, channelTag(item.channel)),
      el('span', { class: 'c-parts', text: participants(item.participants) || '—' }),
      el('span', { class: 'c-status' }, badge(item.status)),
      el('time', { class: 'c-time', datetime: item.last_activity_at, title: fullTime(item.last_activity_at), text: when(item.last_activity_at) }),
      el('span', { class: 'c-preview', text: item.preview || '' }));
    return li;
  }

  // keyboardList gives a list of rows roving focus: arrows or j/k move,
  // Home/End jump, Enter opens.
  function keyboardList(list) {
    list.addEventListener('keydown', (ev) => {
      const rows = [...list.querySelectorAll(':scope > li')];
      const i = rows.indexOf(document.activeElement && document.activeElement.closest('li'));
      let next = -1;
      switch (ev.key) {
        case 'ArrowDown': case 'j': next = Math.min(i + 1, rows.length - 1); break;
        case 'ArrowUp': case 'k': next = Math.max(i - 1, 0); break;
        case 'Home': next = 0; break;
        case 'End': next = rows.length - 1; break;
        case 'Enter': {
          const a = rows[i] && rows[i].querySelector('a');
          if (a && document.activeElement !== a) { ev.preventDefault(); a.click(); }
          return;
        }
        default: return;
      }
      ev.preventDefault();
      focusRow(list, rows[next]);
    });
    list.addEventListener('focusin', (ev) => {
      const li = ev.target.closest('li');
      if (li) focusRow(list, li, true);
    });
  }

  function focusRow(list, li, noFocus) {
    if (!li) return;
    for (const r of list.querySelectorAll(':scope > li[tabindex="0"]')) r.tabIndex = -1;
    li.tabIndex = 0;
    if (!noFocus) li.focus();
  }

  // ensureTabStop keeps one row of a list reachable with Tab.
  function ensureTabStop(list) {
    if (!list.querySelector(':scope > li[tabindex="0"]')) {
      const first = list.querySelector(':scope > li');
      if (first) first.tabIndex = 0;
    }
  }

  let flashTimer = 0;
  function flash(msg, bad) {
    const f = document.querySelector('.flash');
    if (!f) return;
    f.textContent = msg;
    f.classList.toggle('bad', !!bad);
    f.hidden = false;
    clearTimeout(flashTimer);
    flashTimer = setTimeout(() => { f.hidden = true; }, 5000);
  }

  // --- presence and logout -------------------------------------------------

  function setupHeader() {
    const sel = document.querySelector('select[name=presence]');
    if (sel) {
      sel.addEventListener('change', async () => {
        const label = sel.closest('.presence');
        try {
          const u = await api('PUT', '/api/v1/me/status', { status: sel.value });
          label.dataset.presence = u.status;
          presence = u.status;
        } catch (e) {
          flash('Could not change your status: ' + e.message, true);
          sel.value = label.dataset.presence;
        }
      });
      presence = sel.value;
    }
    const out = document.querySelector('button[name=logout]');
    if (out) {
      out.addEventListener('click', async () => {
        try { await api('POST', '/api/v1/auth/logout'); } finally { location.href = '/login'; }
      });
    }
  }

  // --- live feed -----------------------------------------------------------

  const handlers = [];
  const feedKinds = ['conversation.created', 'conversation.updated', 'conversation.deleted', 'message.created', 'message.updated',
    'presence.changed', 'queue.opened', 'queue.closed', 'queue.override'];
  let source = null;

  // onEvent registers a handler for the page's live feed; EventSource
  // reconnects by itself and sends Last-Event-ID, so nothing is missed.
  function onEvent(fn) { handlers.push(fn); }

  function startFeed(url) {
    if (source) return;
    source = new EventSource(url);
    for (const k of feedKinds) {
      source.addEventListener(k, (m) => {
        let ev;
        try { ev = JSON.parse(m.data); } catch (_) { return; }
        presenceChanged(ev);
        for (const fn of handlers) {
          try { fn(ev); } catch (e) { console.error(e); }
        }
      });
    }
    // A feed that resumed too far back (the server keeps no replay that
    // long) says "reload": what the page shows is stale, so show it anew.
    source.addEventListener('reload', () => { source.close(); location.reload(); });
    source.addEventListener('open', () => body.classList.remove('offline-feed'));
    source.addEventListener('error', () => body.classList.add('offline-feed'));
  }

  // --- notifications -------------------------------------------------------

  // The server decides who is told about what, from the agent's settings
  // and presence (GET /api/v1/me/notifications/events); this page plays
  // the sound and shows the desktop notification.
  let presence = 'offline';

  const notifier = (() => {
    const known = new Map(); // conversation id -> last summary seen
    let audio = null;
    let stream = null;

    function remember(summary) { if (summary && summary.id) known.set(summary.id, summary); }

    function viewing(convID) {
      const c = document.querySelector('.conv');
      return !document.hidden && body.dataset.page === 'conversation' && c && Number(c.dataset.id) === convID;
    }

    function show(n) {
      const p = n.payload || {};
      const conv = p.conversation || {};
      const convID = n.conversation_id || conv.id || 0;
      if (convID && viewing(convID)) return;
      const name = conv.title || (conv.number ? '#' + conv.number : '');
      const titles = {
        new_chat: 'New chat: ' + name, slow_chat: 'Waiting for an answer: ' + name,
        my_conversation: 'New message: ' + name, registered_contact: 'Contact form: ' + ((p.form && p.form.name) || ''),
        missed_while_offline: 'Missed while offline: ' + name,
        assigned: 'Assigned to you by ' + ((p.by && p.by.name) || 'a colleague') + ': ' + name,
        mention: ((p.by && p.by.name) || 'A colleague') + ' mentioned you in ' + name,
      };
      const text = (p.message && p.message.text) || (p.form && p.form.message) || '';
      // A colleague's hand-over or mention is shown on the page too.
      if (n.kind === 'assigned' || n.kind === 'mention') {
        const f = document.querySelector('.flash');
        flash(titles[n.kind] + (text ? ': ' + text.slice(0, 140) : ''));
        if (f) f.dataset.notification = n.kind;
      }
      if (soundOn()) beep();
      if (desktopOn() && window.Notification && Notification.permission === 'granted' && (document.hidden || !document.hasFocus())) {
        const d = new Notification(titles[n.kind] || 'inboxd', { body: text.slice(0, 200), tag: 'inboxd-' + (convID || n.id) });
        d.onclick = () => { window.focus(); if (convID) location.href = '/conversations/' + convID; };
      }
      body.dispatchEvent(new CustomEvent('ibx-notified', { detail: { kind: n.kind, conversation: convID } }));
    }

    function start() {
      if (stream || !me.id) return;
      stream = new EventSource('/api/v1/me/notifications/events');
      stream.addEventListener('notification', (m) => {
        try { show(JSON.parse(m.data)); } catch (e) { console.error(e); }
      });
      // Too far behind to replay: start afresh, without a resume point.
      stream.addEventListener('reload', () => { stream.close(); stream = null; start(); });
    }

    // beep plays a short two-tone chime with Web Audio (no sound file).
    function beep() {
      try {
        audio = audio || new (window.AudioContext || window.webkitAudioContext)();
        const t = audio.currentTime;
        for (const [i, f] of [[0, 880], [1, 1320]]) {
          const o = audio.createOscillator();
          const g = audio.createGain();
          o.frequency.value = f;
          g.gain.setValueAtTime(0.0001, t + i * 0.12);
          g.gain.exponentialRampToValueAtTime(0.15, t + i * 0.12 + 0.02);
          g.gain.exponentialRampToValueAtTime(0.0001, t + i * 0.12 + 0.2);
          o.connect(g).connect(audio.destination);
          o.start(t + i * 0.12);
          o.stop(t + i * 0.12 + 0.22);
        }
      } catch (_) { /* no audio */ }
    }

    function stop() { if (stream) stream.close(); }

    return { remember, start, stop, show, known };
  })();

  // presenceChanged follows changes made elsewhere (another tab, the
  // agent's hours, idle detection) in the header's switch.
  function presenceChanged(ev) {
    const p = ev.payload || {};
    if (ev.kind !== 'presence.changed' || p.user_id !== me.id) return;
    const sel = document.querySelector('select[name=presence]');
    if (sel && p.status) {
      sel.value = p.status;
      sel.closest('.presence').dataset.presence = p.status;
      presence = p.status;
    }
  }

  // The user's attention settings (desktop, sound: GET /api/v1/me/notifications),
  // filled by keys.js; on until they are known.
  const prefs = {};
  function soundOn() { return prefs.sound !== false; }
  function desktopOn() { return prefs.desktop !== false; }

  document.addEventListener('DOMContentLoaded', () => { setupHeader(); notifier.start(); });
  // Leaving the page closes its live feeds at once: a page kept in the
  // back/forward cache would otherwise hold its connections open, and the
  // browser allows only six per site. Coming back reloads fresh data.
  window.addEventListener('pagehide', () => {
    if (source) source.close();
    notifier.stop();
  });
  window.addEventListener('pageshow', (ev) => { if (ev.persisted) location.reload(); });

  return { me, api, el, when, tagChip, tagColors, fullTime, channelTag, badge, participants, row, keyboardList, focusRow,
    ensureTabStop, flash, onEvent, startFeed, notifier, soundOn, desktopOn, prefs, APIError };
})();
