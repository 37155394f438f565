// The request journal (owners and admins): every conversation, newest
// activity first, live. Filters by status, channel and agent, search,
// counts per status, infinite scroll over the keyset cursor.
'use strict';

document.addEventListener('DOMContentLoaded', () => {
  const { api, el, row, when } = ibx;
  const list = document.getElementById('rows');
  const empty = document.querySelector('.journal .empty');
  const form = document.querySelector('form.filters');
  const filters = { status: '', channel: '', agent: '', tag: '', q: '' };
  let cursor = '';
  let loading = false;
  let generation = 0; // a newer load wins over one still in flight

  function params(extra) {
    const p = new URLSearchParams();
    for (const [k, v] of Object.entries(filters)) if (v) p.set(k, v);
    for (const [k, v] of Object.entries(extra || {})) if (v) p.set(k, v);
    return p.toString();
  }

  async function load(reset) {
    if (loading && !reset) return;
    const gen = reset ? ++generation : generation;
    loading = true;
    try {
      const page = await api('GET', '/api/v1/journal?' + params({ limit: 50, cursor: reset ? '' : cursor }));
      if (gen !== generation) return;
      if (reset) list.replaceChildren();
      for (const it of page.items) {
        ibx.notifier.remember(it);
        if (!list.querySelector(`:scope > li[data-conversation-id="${it.id}"]`)) list.append(row(it));
      }
      cursor = page.next_cursor;
      empty.hidden = list.children.length > 0;
      ibx.ensureTabStop(list);
    } catch (e) {
      ibx.flash('Could not load the journal: ' + e.message, true);
    } finally {
      if (gen === generation) loading = false;
    }
  }

  let countsTimer = 0;
  function refreshCounts() {
    clearTimeout(countsTimer);
    countsTimer = setTimeout(async () => {
      try {
        const n = await api('GET', '/api/v1/journal/counts?' + new URLSearchParams(filters.channel ? { channel: filters.channel } : {}));
        let all = 0;
        for (const k of ['unassigned', 'active', 'inactive']) {
          all += n[k] || 0;
          document.querySelector(`[data-count="${k}"]`).textContent = n[k] || 0;
        }
        document.querySelector('[data-count="all"]').textContent = all;
      } catch (_) { /* counts are a nicety */ }
    }, 150);
  }

  function matches(s) {
    if (filters.status && s.status !== filters.status) return false;
    if (filters.channel && (!s.channel || s.channel.id !== filters.channel)) return false;
    if (filters.agent && !(s.participants || []).some((p) => String(p.id) === filters.agent)) return false;
    if (filters.tag && !(s.tags || []).includes(filters.tag)) return false;
    return true;
  }

  // newer reports whether summary a sorts before row li (newest first).
  function newer(a, li) {
    const t = Date.parse(li.dataset.activity);
    const ta = Date.parse(a.last_activity_at);
    return ta > t || (ta === t && a.id > Number(li.dataset.conversationId));
  }

  // upsert places a changed conversation where it now belongs: changed
  // ones move up, new ones appear at the top.
  function upsert(s) {
    const old = list.querySelector(`:scope > li[data-conversation-id="${s.id}"]`);
    // Only tag changes carry "tags": other events keep the row's.
    if (!Array.isArray(s.tags)) s = Object.assign({}, s, { tags: old ? JSON.parse(old.dataset.tags || '[]') : [] });
    if (!matches(s) || (!old && filters.q)) {
      if (old && !matches(s)) old.remove();
      return;
    }
    const unread = old ? old.classList.contains('unread') : false;
    const li = row(Object.assign({}, s, { unread }));
    const focused = old && old.contains(document.activeElement);
    if (old) old.remove();
    const before = [...list.children].find((r) => newer(s, r));
    if (before) list.insertBefore(li, before);
    else if (!cursor) list.append(li);
    else return; // older than what is loaded: it comes with a later page
    li.classList.add('flash-row');
    if (focused) ibx.focusRow(list, li);
    ibx.ensureTabStop(list);
    empty.hidden = true;
  }

  ibx.onEvent((ev) => {
    if (ev.kind === 'conversation.created' || ev.kind === 'conversation.updated') {
      upsert(ev.payload);
      refreshCounts();
    } else if (ev.kind === 'conversation.deleted') {
      // Erased with its contact: the row goes.
      const li = list.querySelector(`:scope > li[data-conversation-id="${ev.conversation_id}"]`);
      if (li) li.remove();
      refreshCounts();
    } else if (ev.kind === 'message.created' && ev.payload.direction === 'in') {
      const li = list.querySelector(`:scope > li[data-conversation-id="${ev.conversation_id}"]`);
      if (li) li.classList.add('unread');
    }
  });

  // Filters.
  for (const b of document.querySelectorAll('[data-filter-status]')) {
    b.addEventListener('click', () => {
      filters.status = b.dataset.filterStatus;
      for (const o of document.querySelectorAll('[data-filter-status]')) o.setAttribute('aria-pressed', String(o === b));
      load(true);
    });
  }
  form.channel.addEventListener('change', () => { filters.channel = form.channel.value; load(true); refreshCounts(); });
  form.agent.addEventListener('change', () => { filters.agent = form.agent.value; load(true); });
  form.tag.addEventListener('change', () => { filters.tag = form.tag.value; load(true); });
  let qTimer = 0;
  form.q.addEventListener('input', () => {
    clearTimeout(qTimer);
    qTimer = setTimeout(() => { filters.q = form.q.value.trim(); load(true); }, 250);
  });
  form.addEventListener('submit', (ev) => { ev.preventDefault(); filters.q = form.q.value.trim(); load(true); });
  document.addEventListener('keydown', (ev) => {
    if (ev.key === '/' && !/^(INPUT|TEXTAREA|SELECT)$/.test(document.activeElement.tagName)) {
      ev.preventDefault();
      form.q.focus();
    } else if (ev.key === 'Escape' && document.activeElement === form.q) {
      ibx.focusRow(list, list.querySelector(':scope > li'));
    }
  });

  api('GET', '/api/v1/channels').then((r) => {
    for (const c of r.items) form.channel.append(el('option', { value: c.id, text: c.name || c.id }));
  }).catch(() => {});
  api('GET', '/api/v1/users').then((r) => {
    for (const u of r.items) {
      // An agent without queues serves every queue: say so.
      const all = u.role === 'agent' && u.all_queues ? ' (all queues)' : '';
      form.agent.append(el('option', { value: u.id, text: (u.name || u.email) + all }));
    }
  }).catch(() => {});

  ibx.keyboardList(list);
  new IntersectionObserver((entries) => {
    if (entries.some((e) => e.isIntersecting) && cursor) load(false);
  }, { rootMargin: '400px' }).observe(document.getElementById('more'));
  setInterval(() => {
    for (const t of list.querySelectorAll('time.c-time')) t.textContent = when(t.getAttribute('datetime'));
  }, 30000);

  // The feed first, then the list: what changes in between is upserted.
  ibx.startFeed('/api/v1/journal/events');
  load(true);
  refreshCounts();
});
