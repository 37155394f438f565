// The conversation view: messages with delivery states and retry, activity
// lines, the contact, and the action that matches the state: Reply on an
// unassigned chat (takes it), Join on a colleague's, the message box on
// your own; Leave; Close.
'use strict';

document.addEventListener('DOMContentLoaded', () => {
  const { api, el, me, when, fullTime } = ibx;
  const root = document.querySelector('.conv');
  const id = Number(root.dataset.id);
  const list = document.getElementById('messages');
  const notice = document.getElementById('conv-notice');
  const composer = document.getElementById('composer');
  const textarea = composer.querySelector('textarea[name=message]');
  const btn = (name) => document.querySelector(`button[name=${name}]`);
  let conv = null;
  let contact = null;
  const messages = new Map();
  let activities = [];

  const activityText = {
    created: (a) => 'Conversation started',
    assigned: (a) => (a.data && a.data.to && a.data.to !== a.actor_name
      ? (a.actor_name || 'An admin') + ' assigned the conversation to ' + a.data.to
      : (a.actor_name || 'An agent') + ' took the conversation'),
    transferred: (a) => (a.actor_name || 'An agent') + ' transferred the conversation to the queue ' + ((a.data && a.data.to_queue) || ''),
    joined: (a) => (a.actor_name || 'An agent') + ' joined',
    left: (a) => (a.actor_name || 'An agent') + ' left',
    closed: (a) => (a.actor_name ? a.actor_name + ' closed the conversation' : 'Conversation closed'),
    reopened: (a) => 'Reopened by a new message',
    tagged: (a) => (a.actor_name || 'An agent') + ' changed the tags' +
      ((a.data || {}).added ? ': +' + a.data.added.split(',').join(' +') : '') + ((a.data || {}).removed ? ' −' + a.data.removed.split(',').join(' −') : ''),
    linked: (a) => (a.actor_name || 'An agent') + ' linked ' + ((a.data && (a.data.title || a.data.url)) || 'a ticket'),
    unlinked: (a) => (a.actor_name || 'An agent') + ' removed the link ' + ((a.data && a.data.url) || ''),
  };

  function isMine() { return !!conv && (conv.participants || []).some((p) => p.id === me.id); }

  function renderHead() {
    document.getElementById('conv-title').textContent = conv.title || ('#' + conv.number);
    document.title = (conv.title || ('#' + conv.number)) + ' · inboxd';
    const st = document.getElementById('conv-status');
    st.className = 'badge ' + conv.status;
    st.textContent = conv.status;
    root.dataset.status = conv.status;
    document.getElementById('conv-channel').replaceChildren(ibx.channelTag(conv.channel));
    const parts = ibx.participants(conv.participants);
    document.getElementById('conv-participants').textContent = parts ? 'with ' + parts : 'nobody on it yet';
  }

  function renderContact() {
    const dl = document.getElementById('contact');
    dl.replaceChildren();
    const add = (k, v) => { if (v) dl.append(el('dt', { text: k }), el('dd', { text: v })); };
    if (contact) {
      add('Name', contact.name);
      add('Username', contact.username);
      add('Email', contact.email);
      add('Phone', contact.phone);
      add('ID on the channel', contact.external_id);
      for (const [k, v] of Object.entries(contact.meta || {})) add(k, v);
      add('First seen', fullTime(contact.created_at));
    }
    if (conv) {
      add('Channel', (conv.channel && (conv.channel.name || conv.channel.id)) || '');
      add('Queue', conv.queue);
      add('Request number', '#' + conv.number);
    }
  }

  // renderActions shows what the viewer can do now.
  function renderActions() {
    for (const n of ['join', 'leave', 'close']) btn(n).hidden = true;
    composer.hidden = true;
    notice.hidden = true;
    const reply = btn('reply');
    if (!conv) {
      notice.textContent = 'This conversation is handled by a colleague, or it is not yours to see. If it is in your queue, you can join it.';
      notice.hidden = false;
      btn('join').hidden = false;
      document.dispatchEvent(new CustomEvent('ibx-conversation', { detail: { conv: null, mine: false } }));
      return;
    }
    const mine = isMine();
    switch (conv.status) {
      case 'unassigned':
        composer.hidden = false;
        reply.textContent = 'Reply';
        reply.title = 'Replying takes the conversation';
        btn('close').hidden = !me.admin;
        break;
      case 'active':
        if (mine) {
          composer.hidden = false;
          reply.textContent = 'Send';
          reply.title = '';
          btn('leave').hidden = false;
          btn('close').hidden = false;
        } else {
          btn('join').hidden = false;
          btn('close').hidden = !me.admin;
          notice.textContent = 'A colleague is on this conversation. Join to write in it.';
          notice.hidden = false;
        }
        break;
      case 'inactive':
        if (mine || me.admin) {
          composer.hidden = false;
          reply.textContent = 'Reply';
          reply.title = 'Replying reopens the conversation';
        }
        notice.textContent = 'This conversation is closed.';
        notice.hidden = false;
        break;
    }
    // assign.js adds the assign button and the note composer.
    document.dispatchEvent(new CustomEvent('ibx-conversation', { detail: { conv, mine } }));
  }

  function messageItem(m) {
    const note = m.kind === 'note';
    const li = el('li', { class: 'msg ' + m.direction + (m.auto ? ' auto' : '') + (note ? ' note' : ''), 'data-direction': m.direction,
      'data-kind': m.kind || 'message', 'data-message-id': m.id });
    const who = m.author && m.author.name ? m.author.name : (m.direction === 'in' ? (conv && conv.title) || 'Customer' : 'Agent');
    li.append(el('div', { class: 'meta' },
      el('span', { class: 'author', text: who }),
      el('time', { datetime: m.created_at, title: fullTime(m.created_at), text: when(m.created_at) }),
      m.edited_at ? el('span', { class: 'edited', text: 'edited' }) : null,
      m.auto ? el('span', { class: 'edited', text: 'automatic' }) : null,
      note ? el('span', { class: 'note-tag', text: 'private note' }) : null));
    if (m.text) li.append(el('div', { class: 'text', text: m.text }));
    if (note && m.mentions && m.mentions.length) {
      li.append(el('div', { class: 'mentions', 'data-mentions': m.mentions.map((p) => p.id).join(','),
        text: 'Mentioned: ' + m.mentions.map((p) => p.name).join(', ') }));
    }
    if (m.attachments && m.attachments.length) {
      const box = el('div', { class: 'files' });
      for (const a of m.attachments) {
        const label = (a.name || 'file') + (a.size ? ' (' + Math.max(1, Math.round(a.size / 1024)) + ' KB)' : '');
        if (/^image\/(png|jpeg|gif|webp)$/.test(a.mime_type)) {
          box.append(el('a', { href: a.url, target: '_blank', rel: 'noopener', class: 'image', title: label },
            el('img', { src: a.url, alt: a.name || 'image', loading: 'lazy' })));
        } else {
          box.append(el('a', { href: a.url, download: a.name || true, class: 'file', text: label }));
        }
      }
      li.append(box);
    }
    if (m.direction === 'out' && m.delivery) {
      const d = el('div', { class: 'delivery ' + m.delivery, 'data-delivery': m.delivery, text: m.delivery });
      if (m.delivery === 'failed') {
        if (m.error) d.append(el('span', { class: 'err', text: ': ' + m.error }));
        d.append(' ', el('button', { type: 'button', name: 'retry', class: 'link', text: 'Retry', onclick: () => retry(m.id) }));
      }
      li.append(d);
    }
    return li;
  }

  function renderTimeline() {
    const atBottom = list.scrollHeight - list.scrollTop - list.clientHeight < 80;
    const items = [...messages.values()].map((m) => ({ at: m.created_at, n: m.id * 2 + 1, node: () => messageItem(m) }));
    for (const a of activities) {
      const f = activityText[a.kind];
      if (!f) continue;
      items.push({ at: a.created_at, n: a.id * 2, node: () => el('li', { class: 'activity-line', 'data-activity': a.kind },
        el('span', { text: f(a) }), ' ', el('time', { datetime: a.created_at, title: fullTime(a.created_at), text: when(a.created_at) })) });
    }
    items.sort((x, y) => (Date.parse(x.at) - Date.parse(y.at)) || (x.n - y.n));
    list.replaceChildren(...items.map((i) => i.node()));
    if (atBottom) list.scrollTop = list.scrollHeight;
  }

  async function loadMessages() {
    let cursor = '';
    do {
      const page = await api('GET', `/api/v1/conversations/${id}/messages?limit=200` + (cursor ? '&cursor=' + cursor : ''));
      for (const m of page.items) messages.set(m.id, m);
      cursor = page.next_cursor;
    } while (cursor);
  }

  async function loadActivity() {
    try {
      activities = (await api('GET', `/api/v1/conversations/${id}/activity`)).items;
    } catch (_) { activities = []; }
  }

  async function load() {
    try {
      const d = await api('GET', `/api/v1/conversations/${id}`);
      contact = d.contact;
      conv = d;
      ibx.notifier.remember(d);
    } catch (e) {
      if (e.status === 404) {
        conv = null;
        document.getElementById('conv-title').textContent = 'Conversation';
        renderActions();
        return;
      }
      ibx.flash('Could not load the conversation: ' + e.message, true);
      return;
    }
    renderHead();
    renderContact();
    renderActions();
    await Promise.all([loadMessages(), loadActivity()]);
    renderTimeline();
    list.scrollTop = list.scrollHeight;
  }

  function applySummary(s) {
    if (!conv) return load();
    conv = Object.assign(conv, s);
    renderHead();
    renderActions();
    refreshActivity();
  }

  let actTimer = 0;
  function refreshActivity() {
    clearTimeout(actTimer);
    actTimer = setTimeout(async () => { await loadActivity(); renderTimeline(); }, 150);
  }

  async function act(name) {
    const b = btn(name);
    b.disabled = true;
    try {
      const s = await api('POST', `/api/v1/conversations/${id}/${name}`);
      if (name === 'join' && !conv) { await load(); return; }
      applySummary(s);
      if (name === 'leave' && !me.admin && s.status !== 'unassigned') location.href = '/inbox';
    } catch (e) {
      ibx.flash(e.message, true);
    } finally {
      b.disabled = false;
    }
  }

  async function retry(messageID) {
    try {
      const m = await api('POST', `/api/v1/messages/${messageID}/retry`);
      messages.set(m.id, m);
      renderTimeline();
    } catch (e) {
      ibx.flash('Retry failed: ' + e.message, true);
    }
  }

  composer.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const text = textarea.value.trim();
    if (!text) { textarea.focus(); return; }
    const reply = btn('reply');
    reply.disabled = true;
    try {
      const m = await api('POST', `/api/v1/conversations/${id}/messages`, { text });
      textarea.value = '';
      // The feed may already have brought a newer state (sent) of it.
      if (!messages.has(m.id)) messages.set(m.id, m);
      renderTimeline();
      list.scrollTop = list.scrollHeight;
      const d = await api('GET', `/api/v1/conversations/${id}`);
      applySummary(d);
    } catch (e) {
      ibx.flash(e.message, true);
    } finally {
      reply.disabled = false;
    }
  });
  textarea.addEventListener('keydown', (ev) => {
    if (ev.key === 'Enter' && (ev.ctrlKey || ev.metaKey)) { ev.preventDefault(); composer.requestSubmit(); }
  });
  for (const n of ['join', 'leave', 'close']) btn(n).addEventListener('click', () => act(n));

  ibx.onEvent((ev) => {
    if (ev.conversation_id !== id) return;
    if (ev.kind === 'conversation.created' || ev.kind === 'conversation.updated') {
      if (conv) applySummary(ev.payload);
    } else if (ev.kind === 'conversation.deleted') {
      // Erased with its contact: nothing of it is shown any more.
      conv = null;
      messages.clear();
      list.replaceChildren();
      document.getElementById('contact').replaceChildren();
      renderActions();
      btn('join').hidden = true;
      notice.textContent = 'This conversation was erased with its contact\'s data.';
      notice.hidden = false;
      root.dataset.status = 'deleted';
    } else if (ev.kind === 'message.created' || ev.kind === 'message.updated') {
      if (!conv) return;
      messages.set(ev.payload.id, ev.payload);
      renderTimeline();
    }
  });
  setInterval(() => {
    for (const t of list.querySelectorAll('time')) t.textContent = when(t.getAttribute('datetime'));
  }, 30000);

  // What assign.js needs of this page.
  ibx.conversationPage = {
    id, conv: () => conv, isMine,
    addMessage(m) { if (!messages.has(m.id)) messages.set(m.id, m); renderTimeline(); list.scrollTop = list.scrollHeight; },
    reload: load,
  };
  ibx.startFeed('/api/v1/me/events');
  load();
});
