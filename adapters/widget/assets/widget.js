/* inboxd website chat widget. Embed with
 *   <script src="https://HOST/widget.js" data-channel="site" async></script>
 * Optional: data-user-id and data-user-hash (identity verification).
 * Plain JavaScript, no framework, no build step. The widget lives in an
 * open Shadow DOM so the page's styles and ours do not mix, and every text
 * it shows is set with textContent: nothing a visitor, an agent or the
 * server sends is ever parsed as HTML. */
(function () {
  'use strict';
  var script = document.currentScript ||
    document.querySelector('script[data-channel][src*="widget.js"]');
  if (!script) return;
  var channel = script.getAttribute('data-channel') || 'site';
  var base = script.src.replace(/\/widget\.js(\?.*)?$/, '');
  var api = base + '/widget/v1/' + encodeURIComponent(channel);
  var userId = script.getAttribute('data-user-id') || '';
  var userHash = script.getAttribute('data-user-hash') || '';
  var hostId = 'inboxd-widget-' + channel.replace(/[^A-Za-z0-9_-]/g, '_');
  if (document.getElementById(hostId)) return; // embedded twice
  var storeKey = 'inboxd:' + base + ':' + channel + (userId ? ':user:' + userId : '');

  var S = {}; // translated strings
  var settings = null, config = { mode: 'live' };
  var token = load('token'), lastSeen = +(load('seen') || 0);
  var conversation = 0, lastEventId = '', es = null, esConv = null, esTimer = 0;
  var byId = {}, pending = [], drawn = '', open = false, typingAt = 0, typingTimer = 0, modeTimer = 0;
  var ui = {};

  function load(k) { try { return localStorage.getItem(storeKey + ':' + k); } catch (e) { return null; } }
  function save(k, v) {
    try { if (v === null) localStorage.removeItem(storeKey + ':' + k); else localStorage.setItem(storeKey + ':' + k, v); } catch (e) { /* private mode */ }
  }
  function t(key, vars) {
    var s = S[key] || key;
    for (var k in vars || {}) s = s.split('{' + k + '}').join(vars[k]);
    return s;
  }
  function el(tag, attrs, kids) {
    var e = document.createElement(tag);
    for (var k in attrs || {}) {
      if (k === 'text') e.textContent = attrs[k];
      else if (k === 'on') for (var ev in attrs.on) e.addEventListener(ev, attrs.on[ev]);
      else if (attrs[k] !== null && attrs[k] !== undefined && attrs[k] !== false) e.setAttribute(k, attrs[k] === true ? '' : attrs[k]);
    }
    (kids || []).forEach(function (c) { if (c) e.appendChild(c); });
    return e;
  }
  function randomId() {
    var b = new Uint8Array(16);
    crypto.getRandomValues(b);
    return btoa(String.fromCharCode.apply(null, b)).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
  }

  // call sends a JSON request; it resolves to {status, body, retryAfter}.
  function call(method, path, body, auth) {
    var h = {};
    if (body) h['Content-Type'] = 'application/json';
    if (auth && token) h.Authorization = 'Bearer ' + token;
    return fetch(api + path, { method: method, headers: h, body: body ? JSON.stringify(body) : undefined, credentials: 'omit', cache: 'no-store' })
      .then(function (r) {
        return r.text().then(function (txt) {
          var b = null;
          try { b = txt ? JSON.parse(txt) : null; } catch (e) { /* not JSON */ }
          return { status: r.status, body: b, retryAfter: +(r.headers.get('Retry-After') || 0) };
        });
      }, function () { return { status: 0, body: null, retryAfter: 0 }; });
  }
  function errorText(r) { return (r.body && r.body.error && r.body.error.message) || t('send_failed'); }

  function ensureToken() {
    if (token) return Promise.resolve(token);
    return call('POST', '/visitors', userId ? { user_id: userId, user_hash: userHash } : {}).then(function (r) {
      if (r.status !== 201 || !r.body) throw r;
      token = r.body.token;
      save('token', token);
      return token;
    });
  }

  // ---- drawing ----
  function build() {
    var host = el('div', { id: hostId });
    host.style.setProperty('--inboxd-primary', settings.colors.primary);
    host.style.setProperty('--inboxd-on-primary', settings.colors.on_primary);
    var root = ui.shadow = host.attachShadow({ mode: 'open' });
    root.appendChild(el('link', { rel: 'stylesheet', href: base + '/widget.css' }));
    ui.badge = el('span', { 'class': 'badge', 'aria-hidden': 'true', hidden: true });
    ui.launcher = el('button', { type: 'button', 'class': 'launcher', 'aria-label': t('launcher'), 'aria-expanded': 'false',
      'aria-controls': 'inboxd-panel', on: { click: function () { toggle(!open); } } }, [icon(), ui.badge]);
    ui.title = el('h2', { id: 'inboxd-title', text: t('title') });
    ui.close = el('button', { type: 'button', 'class': 'close', 'aria-label': t('close'), text: '\u00d7',
      on: { click: function () { toggle(false); } } });
    ui.notice = el('p', { 'class': 'notice', hidden: true });
    ui.body = el('div', { 'class': 'body' });
    ui.panel = el('div', { id: 'inboxd-panel', 'class': 'panel', role: 'dialog', 'aria-labelledby': 'inboxd-title', hidden: true,
      on: { keydown: function (e) { if (e.key === 'Escape') toggle(false); } } },
      [el('div', { 'class': 'header' }, [ui.title, ui.close]), ui.notice, ui.body]);
    // data-mode is set once /config has answered (applyMode): until then
    // the widget is not shown, so nothing is clicked before it is drawn.
    ui.root = el('div', { 'class': 'root', lang: settings.lang, 'data-position': settings.position, hidden: true },
      [ui.panel, ui.launcher]);
    root.appendChild(ui.root);
    ui.log = el('div', { 'class': 'log', role: 'log', 'aria-live': 'polite', 'aria-label': t('log'), tabindex: '0' });
    ui.typing = el('div', { 'class': 'typing', 'aria-live': 'polite' });
    ui.text = el('textarea', { name: 'message', rows: '2', 'aria-label': t('placeholder'), placeholder: t('placeholder'),
      maxlength: String(settings.max_message_length),
      on: { keydown: function (e) { if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) { e.preventDefault(); send(); } },
        input: typing } });
    ui.send = el('button', { type: 'submit', name: 'send', 'class': 'send', text: t('send') });
    ui.composer = el('form', { 'class': 'composer', on: { submit: function (e) { e.preventDefault(); send(); } } }, [ui.text, ui.send]);
    ui.followEmail = el('input', { type: 'email', name: 'follow_email', autocomplete: 'email', 'aria-label': t('email_label'), placeholder: t('email_label') });
    ui.followForm = el('form', { 'class': 'follow', on: { submit: function (e) { e.preventDefault(); saveEmail(); } } },
      [ui.followEmail, el('button', { type: 'submit', text: t('email_save') })]);
    document.body.appendChild(host);
  }
  function icon() {
    var ns = 'http://www.w3.org/2000/svg';
    var svg = document.createElementNS(ns, 'svg');
    svg.setAttribute('viewBox', '0 0 24 24');
    svg.setAttribute('aria-hidden', 'true');
    var p = document.createElementNS(ns, 'path');
    p.setAttribute('d', 'M4 4h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H9l-5 4v-4a2 2 0 0 1-2-2V6a2 2 0 0 1 2-2z');
    svg.appendChild(p);
    return svg;
  }

  function toggle(show) {
    open = show && config.mode !== 'hidden';
    ui.panel.hidden = !open;
    ui.launcher.setAttribute('aria-expanded', String(open));
    if (open) {
      markSeen();
      var f = ui.body.querySelector('textarea, input');
      if (f) f.focus();
      ui.log.scrollTop = ui.log.scrollHeight;
    } else {
      ui.launcher.focus();
    }
  }

  // applyMode draws what the mode shows. Notices that change nothing (an
  // agent's presence while the chat stays live) leave the page alone, so a
  // visitor typing keeps the focus and the draft.
  function applyMode() {
    var mode = config.mode || 'live';
    var key = JSON.stringify(config);
    if (key === drawn) return;
    drawn = key;
    var focused = ui.shadow.activeElement;
    ui.root.setAttribute('data-mode', mode);
    ui.root.hidden = mode === 'hidden';
    if (mode === 'hidden' && open) toggle(false);
    var notice = '';
    ui.body.textContent = '';
    if (mode === 'live' || mode === 'messenger') {
      notice = mode === 'messenger' ? (config.message || t('messenger')) : (config.message || '');
      ui.body.appendChild(ui.log);
      ui.body.appendChild(ui.typing);
      ui.body.appendChild(ui.composer);
      if (mode === 'messenger') ui.body.appendChild(ui.followForm);
    } else if (mode === 'offline') {
      if (ui.log.childNodes.length) ui.body.appendChild(ui.log);
      ui.body.appendChild(offlineView());
    } else if (mode === 'contact_form') {
      ui.body.appendChild(formView());
    }
    ui.notice.textContent = notice;
    ui.notice.hidden = !notice;
    ui.title.textContent = mode === 'offline' ? t('offline_title') : mode === 'contact_form' ? t('form_title') : t('title');
    if (focused && focused.isConnected && focused !== ui.shadow.activeElement) focused.focus();
  }

  function offlineView() {
    var kids = [el('p', { 'class': 'offline-message', text: config.message || t('offline_title') })];
    var hours = config.hours;
    if (hours && (typeof hours === 'string' || hours.length)) {
      var list = el('ul', { 'class': 'hours', 'aria-label': t('hours') });
      (typeof hours === 'string' ? [hours] : hours).forEach(function (h) {
        list.appendChild(el('li', { text: typeof h === 'string' ? h : Object.keys(h).map(function (k) { return h[k]; }).join(' ') }));
      });
      kids.push(el('h3', { text: t('hours') }), list);
    }
    if (config.next_change_at) {
      var d = new Date(config.next_change_at);
      if (!isNaN(d)) {
        var when = new Intl.DateTimeFormat(settings.lang, { weekday: 'long', hour: '2-digit', minute: '2-digit' }).format(d);
        kids.push(el('p', { 'class': 'next', text: t('next_open', { time: when }) }));
      }
    }
    return el('div', { 'class': 'offline' }, kids);
  }

  function field(name, label, input, required) {
    var id = 'inboxd-f-' + name.replace(/[^A-Za-z0-9_-]/g, '_');
    input.id = id;
    input.name = name;
    if (required) { input.required = true; input.setAttribute('aria-required', 'true'); }
    return el('div', { 'class': 'field' }, [el('label', { 'for': id, text: label + (required ? ' (' + t('required') + ')' : '') }), input]);
  }
  function formView() {
    var status = el('p', { 'class': 'status', role: 'status' });
    var kids = [
      field('name', t('name'), el('input', { type: 'text', autocomplete: 'name', maxlength: '200' }), true),
      field('email', t('email'), el('input', { type: 'email', autocomplete: 'email', maxlength: '254' }), true),
      field('message', t('message'), el('textarea', { rows: '4', maxlength: String(settings.max_message_length) }), true)
    ];
    (config.questions || []).forEach(function (q) {
      kids.push(field('answers.' + q.id, q.label || q.id, el('input', { type: 'text', maxlength: '500' }), !!q.required));
    });
    if (config.message) kids.unshift(el('p', { 'class': 'offline-message', text: config.message }));
    var submit = el('button', { type: 'submit', name: 'submit', 'class': 'send', text: t('submit') });
    kids.push(submit, status);
    var form = el('form', { 'class': 'contact', novalidate: true }, kids);
    form.addEventListener('submit', function (e) {
      e.preventDefault();
      if (!form.checkValidity()) { form.reportValidity(); return; }
      var body = { name: form.elements.name.value.trim(), email: form.elements.email.value.trim(),
        message: form.elements.message.value.trim(), answers: {} };
      (config.questions || []).forEach(function (q) {
        var v = form.elements['answers.' + q.id].value.trim();
        if (v) body.answers[q.id] = v;
      });
      submit.disabled = true;
      call('POST', '/contact', body, true).then(function (r) {
        submit.disabled = false;
        if (r.status >= 200 && r.status < 300) {
          form.reset();
          status.textContent = t('form_sent');
          form.setAttribute('data-sent', 'true');
        } else {
          status.textContent = errorText(r);
          var f = r.body && r.body.error && r.body.error.field;
          if (f && form.elements[f]) form.elements[f].setAttribute('aria-invalid', 'true');
        }
      });
    });
    return form;
  }

  // ---- messages ----
  function render(m) {
    var known = m.id && byId[m.id];
    if (known) { known.querySelector('.text').textContent = m.text; return; }
    var node = null;
    if (m.direction === 'in') {
      // Our own message coming back (from the POST or the live feed).
      for (var i = 0; i < pending.length; i++) {
        var p = pending[i];
        if ((m.client_id && p.clientId === m.client_id) || (!m.client_id && p.text === m.text)) {
          node = p.node;
          pending.splice(i, 1);
          break;
        }
      }
    }
    if (!node) {
      node = bubble(m.direction, m.text, m.author);
      ui.log.appendChild(node);
    }
    node.classList.remove('pending', 'failed');
    node.setAttribute('data-id', m.id);
    var err = node.querySelector('.error');
    if (err) err.remove();
    byId[m.id] = node;
    if (m.direction === 'out') {
      ui.typing.textContent = '';
      if (!open || document.hidden) updateBadge(); else markSeen();
    }
    ui.log.scrollTop = ui.log.scrollHeight;
  }
  function bubble(direction, text, author) {
    var kids = [];
    if (direction === 'out') kids.push(el('div', { 'class': 'author', text: author || t('team') }));
    kids.push(el('div', { 'class': 'text', text: text }));
    return el('div', { 'class': 'msg', 'data-direction': direction }, kids);
  }
  function maxId() {
    var n = 0;
    for (var id in byId) n = Math.max(n, +id);
    return n;
  }
  function markSeen() {
    var n = maxId();
    if (n > lastSeen) { lastSeen = n; save('seen', String(n)); }
    updateBadge();
  }
  function updateBadge() {
    var n = 0;
    for (var id in byId) if (+id > lastSeen && byId[id].getAttribute('data-direction') === 'out') n++;
    ui.badge.textContent = n > 9 ? '9+' : String(n);
    ui.badge.hidden = n === 0;
    ui.launcher.setAttribute('aria-label', n ? t('launcher') + ' (' + t('unread', { n: n }) + ')' : t('launcher'));
  }

  // history loads the conversation after the newest message shown.
  function history() {
    if (!token) return Promise.resolve();
    return call('GET', '/messages?after=' + maxId(), null, true).then(function (r) {
      if (r.status === 401) { dropToken(); return; }
      if (r.status !== 200 || !r.body) return;
      setConversation(r.body.conversation || 0);
      r.body.items.forEach(render);
      if (!open) updateBadge();
      if (r.body.next_cursor) return history();
    });
  }
  function dropToken() { token = null; conversation = 0; save('token', null); connect(); }
  // setConversation notes the visitor's conversation; the live feed
  // follows the one it found when it connected, so it reconnects when the
  // conversation changed (the first message, or a new one much later).
  function setConversation(n) {
    if (!n) return;
    conversation = n;
    if (esConv !== null && esConv !== n) connect();
  }

  function send() {
    var text = ui.text.value.trim();
    if (!text) return;
    ui.text.value = '';
    var p = { clientId: randomId(), text: text, node: bubble('in', text) };
    p.node.classList.add('pending');
    p.node.setAttribute('data-client-id', p.clientId);
    pending.push(p);
    ui.log.appendChild(p.node);
    ui.log.scrollTop = ui.log.scrollHeight;
    post(p, 0);
  }
  // post sends (and resends, with the same client id, so a retry is never
  // stored twice) until the server has the message or refuses it.
  function post(p, attempt) {
    ensureToken().then(function () {
      return call('POST', '/messages', { client_id: p.clientId, text: p.text, page_url: location.href,
        referrer: document.referrer, language: navigator.language || '' }, true);
    }).then(function (r) {
      if (r.status === 200 || r.status === 201) {
        var m = r.body.message, known = byId[m.id], i = pending.indexOf(p);
        // The live feed may have shown it first: keep one bubble.
        if (known && known !== p.node && i >= 0) { p.node.remove(); pending.splice(i, 1); } else render(m);
        setConversation(r.body.conversation);
        return;
      }
      if (r.status === 401) { token = null; save('token', null); }
      if (r.status === 0 || r.status === 401 || r.status === 429 || r.status >= 500) {
        failed(p, t('send_failed'));
        setTimeout(function () { post(p, attempt + 1); }, Math.max(r.retryAfter * 1000, Math.min(30000, 1000 * Math.pow(2, attempt))));
        return;
      }
      failed(p, errorText(r));
    }, function (r) {
      failed(p, t('send_failed'));
      setTimeout(function () { post(p, attempt + 1); }, Math.max((r && r.retryAfter || 0) * 1000, Math.min(30000, 1000 * Math.pow(2, attempt))));
    });
  }
  function failed(p, msg) {
    p.node.classList.add('failed');
    var e = p.node.querySelector('.error') || p.node.appendChild(el('div', { 'class': 'error' }));
    e.textContent = msg;
  }

  function saveEmail() {
    var v = ui.followEmail.value.trim();
    if (!v || !ui.followEmail.checkValidity()) { ui.followEmail.setAttribute('aria-invalid', 'true'); return; }
    ensureToken().then(function () {
      return call('POST', '/messages', { client_id: randomId(), text: v, email: v, page_url: location.href,
        referrer: document.referrer, language: navigator.language || '' }, true);
    }).then(function (r) {
      if (r.status === 200 || r.status === 201) {
        ui.followForm.replaceWith(el('p', { 'class': 'notice', role: 'status', text: t('email_saved') }));
        render(r.body.message);
        setConversation(r.body.conversation);
      }
    }, function () {});
  }

  function typing() {
    var now = Date.now();
    if (!token || !conversation || now - typingAt < 3000) return;
    typingAt = now;
    call('POST', '/typing', {}, true);
  }

  // ---- live feed ----
  function connect() {
    if (es) es.close();
    clearTimeout(esTimer);
    var q = [];
    if (token) q.push('token=' + encodeURIComponent(token));
    if (lastEventId) q.push('last_event_id=' + encodeURIComponent(lastEventId));
    esConv = null;
    es = new EventSource(api + '/events' + (q.length ? '?' + q.join('&') : ''));
    es.addEventListener('ready', function (e) {
      esConv = JSON.parse(e.data).conversation;
      // Which conversation the live feed follows (0: none yet), for tests.
      ui.root.setAttribute('data-feed', String(esConv));
      if (conversation && esConv !== conversation) connect(); else history();
    });
    es.addEventListener('message', function (e) {
      if (e.lastEventId) lastEventId = e.lastEventId;
      render(JSON.parse(e.data));
    });
    es.addEventListener('typing', function (e) {
      var d = JSON.parse(e.data);
      ui.typing.textContent = t('typing', { name: d.name || t('team') });
      clearTimeout(typingTimer);
      typingTimer = setTimeout(function () { ui.typing.textContent = ''; }, 5000);
    });
    // "reload": the server replays no further back; fetch what was missed.
    es.addEventListener('reload', function (e) {
      if (e.lastEventId) lastEventId = e.lastEventId;
      history();
      refreshConfig();
    });
    es.addEventListener('mode', function () {
      clearTimeout(modeTimer);
      modeTimer = setTimeout(refreshConfig, 200);
    });
    es.addEventListener('error', function () {
      // EventSource retries by itself; when it gave up (an error status,
      // such as a token the server no longer knows), start over.
      if (es.readyState === 2) {
        esTimer = setTimeout(function () {
          call('GET', '/messages', null, true).then(function (r) { if (r.status === 401) dropToken(); else connect(); });
        }, 3000);
      }
    });
  }

  function refreshConfig() {
    return call('GET', '/config', null, true).then(function (r) {
      if (r.status === 200 && r.body && r.body.mode) config = r.body;
      applyMode();
    });
  }

  function start() {
    var langs = (navigator.languages || [navigator.language || 'en']).join(',');
    call('GET', '/settings?lang=' + encodeURIComponent(langs)).then(function (r) {
      if (r.status !== 200 || !r.body) return; // not a widget channel, or this site is not allowed
      settings = r.body;
      S = settings.strings;
      build();
      return refreshConfig().then(function () {
        connect();
        updateBadge();
      });
    });
  }
  if (document.body) start(); else document.addEventListener('DOMContentLoaded', start);
})();
