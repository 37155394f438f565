// Event webhooks: every subscriber with its delivery state (cursor,
// backlog, last success, last error), and, for owners, a replay from an
// event id. Subscribers live in the config file: this page only watches
// and replays.
'use strict';

document.addEventListener('DOMContentLoaded', () => {
  const { api, el, fullTime } = ibx;
  const body = document.querySelector('#webhooks tbody');
  const owner = document.body.dataset.role === 'owner';

  function replayForm(w) {
    if (!owner) return el('span', { class: 'hint', text: 'owners only' });
    const input = el('input', { type: 'number', name: 'from_event_id', min: '0', step: '1', required: true,
      value: String(w.last_event_id), 'aria-label': 'Replay ' + w.id + ' from event id' });
    const btn = el('button', { type: 'submit', name: 'replay', text: 'Replay' });
    const form = el('form', { class: 'inline', 'data-subscriber': w.id }, input, ' ', btn);
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      btn.disabled = true;
      try {
        const r = await api('POST', `/api/v1/integrations/webhooks/${encodeURIComponent(w.id)}/replay`,
          { from_event_id: Number(input.value) });
        ibx.flash(`Replaying ${w.id} from event ${input.value}.`);
        render([r]);
      } catch (e) {
        ibx.flash('Could not replay: ' + e.message, true);
      } finally {
        btn.disabled = false;
      }
    });
    return form;
  }

  function row(w) {
    const failing = !!w.last_error && (!w.last_success_at || new Date(w.last_error_at) > new Date(w.last_success_at));
    return el('tr', { 'data-subscriber': w.id, 'data-state': failing ? 'failing' : 'ok', 'data-backlog': String(w.backlog) },
      el('th', { scope: 'row' }, w.id, el('br'), el('small', { class: 'hint', text: w.url })),
      el('td', { text: (w.events || []).join(', ') + ((w.queues || []).length ? ' · queues: ' + w.queues.join(', ') : '') +
        (w.include_notes ? ' · with notes' : '') }),
      el('td', { class: 'num', text: String(w.last_event_id) }),
      el('td', { class: 'num backlog', text: String(w.backlog) }),
      el('td', { text: w.last_success_at ? fullTime(w.last_success_at) : '—' }),
      el('td', { class: 'error' }, w.last_error ? el('span', { text: w.last_error, title: fullTime(w.last_error_at) }) : '—',
        w.missed ? el('div', { class: 'hint', text: `${w.missed} events expired before they were sent` }) : null,
        w.next_attempt_at && w.attempts ? el('div', { class: 'hint', text: `attempt ${w.attempts}, next ${fullTime(w.next_attempt_at)}` }) : null),
      el('td', {}, replayForm(w)));
  }

  function render(items) {
    for (const w of items) {
      const r = row(w);
      const old = body.querySelector(`tr[data-subscriber="${CSS.escape(w.id)}"]`);
      if (old) {
        // Keep what the owner is typing in the replay box.
        const typing = old.contains(document.activeElement);
        if (!typing) old.replaceWith(r);
      } else {
        body.append(r);
      }
    }
  }

  async function load() {
    try {
      const r = await api('GET', '/api/v1/integrations/webhooks');
      document.getElementById('webhooks-none').hidden = r.items.length > 0;
      render(r.items);
    } catch (e) {
      ibx.flash('Could not load the webhooks: ' + e.message, true);
    }
  }
  load();
  setInterval(load, 5000);
});
