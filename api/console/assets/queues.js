// Queues with their opening-hours state and the admin's global switch
// (override), and the channels with their health (read-only: channels
// live in the config file).
'use strict';

document.addEventListener('DOMContentLoaded', () => {
  const { api, el, fullTime } = ibx;
  const box = document.getElementById('queues');

  function queueCard(q) {
    const open = q.open === true || q.state === 'open';
    const sel = el('select', { name: 'override', 'data-queue': q.id, 'aria-label': 'Global switch for ' + (q.name || q.id) });
    for (const [v, label] of [['auto', 'Auto (opening hours)'], ['open', 'Online (open now)'], ['closed', 'Offline (closed now)']]) {
      sel.append(el('option', { value: v, text: label, selected: (q.override || 'auto') === v }));
    }
    sel.addEventListener('change', async () => {
      sel.disabled = true;
      try {
        const r = await api('PUT', `/api/v1/queues/${encodeURIComponent(q.id)}/override`, { override: sel.value });
        render(r && r.id ? [Object.assign({}, q, r)] : null);
        if (!r || !r.id) load();
        ibx.flash('Saved.');
      } catch (e) {
        ibx.flash('Could not switch: ' + e.message, true);
        sel.value = q.override || 'auto';
      } finally {
        sel.disabled = false;
      }
    });
    const next = q.next_change_at || q.next_change;
    return el('article', { class: 'card queue', 'data-queue': q.id, 'data-open': String(open) },
      el('h2', {}, el('span', { class: 'state ' + (open ? 'open' : 'closed'), text: open ? 'open' : 'closed' }), ' ', q.name || q.id),
      el('dl', { class: 'kv' },
        el('dt', { text: 'Hours' }), el('dd', { text: q.hours || 'always open' }),
        el('dt', { text: 'Timezone' }), el('dd', { text: q.timezone || 'UTC' }),
        el('dt', { text: 'Widget now' }), el('dd', { text: q.mode || '—' }),
        el('dt', { text: 'When closed' }), el('dd', { text: q.offline_mode || '—' }),
        el('dt', { text: 'Next change' }), el('dd', { text: next ? fullTime(next) : (q.override && q.override !== 'auto' ? 'held by the switch' : '—') }),
        el('dt', { text: 'Agents online' }), el('dd', { text: String(q.agents_online ?? '—') })),
      el('label', { class: 'switch' }, 'Global switch ', sel));
  }

  function render(items) {
    if (!items) return;
    for (const q of items) {
      const card = queueCard(q);
      const old = box.querySelector(`article[data-queue="${CSS.escape(q.id)}"]`);
      if (old) old.replaceWith(card); else box.append(card);
    }
  }

  async function load() {
    try {
      const r = await api('GET', '/api/v1/queues');
      box.replaceChildren();
      render(Array.isArray(r) ? r : r.items);
    } catch (e) {
      document.getElementById('queues-missing').hidden = false;
    }
  }

  async function channels() {
    const tb = document.getElementById('channels');
    try {
      const r = await api('GET', '/api/v1/channels');
      tb.replaceChildren(...r.items.map((c) => el('tr', { 'data-channel': c.id, 'data-healthy': String(c.healthy) },
        el('td', {}, ibx.channelTag(c)), el('td', { text: c.kind }), el('td', { text: c.queue }),
        el('td', { class: c.healthy ? 'ok' : 'bad', text: c.healthy ? 'healthy' : (c.error || 'failing') }))));
    } catch (e) {
      ibx.flash('Could not load the channels: ' + e.message, true);
    }
  }

  ibx.onEvent((ev) => { if (ev.kind.startsWith('queue.')) load(); });
  ibx.startFeed('/api/v1/me/events');
  load();
  channels();
  setInterval(channels, 30000);
});
