// Statistics: the chart and tables are rendered by the server; this loads
// the questionnaire answers of registered contacts.
'use strict';

document.addEventListener('DOMContentLoaded', async () => {
  const { api, el, fullTime } = ibx;
  const queue = document.querySelector('.stats').dataset.queue;
  const box = document.getElementById('answers');
  try {
    const r = await api('GET', `/api/v1/queues/${encodeURIComponent(queue)}/contacts`);
    const items = Array.isArray(r) ? r : (r.items || []);
    if (!items.length) { box.replaceChildren(el('p', { class: 'hint', text: 'No registered contacts in this queue.' })); return; }
    const qs = [];
    for (const it of items) for (const k of Object.keys(it.answers || {})) if (!qs.includes(k)) qs.push(k);
    // Column titles are the questions' labels, as the queue defines them.
    const labels = {};
    try {
      const qv = await api('GET', '/api/v1/queues');
      for (const q of (qv.items || [])) if (q.id === queue) for (const x of (q.questions || [])) labels[x.id] = x.label;
    } catch (_) { /* ids then */ }
    const head = el('tr', {}, ...['When', 'Name', 'Email', 'Message', ...qs.map((k) => labels[k] || k)].map((h) => el('th', { text: h })));
    const rows = items.map((it) => el('tr', {},
      el('td', { text: fullTime(it.created_at) }), el('td', { text: it.name || '' }), el('td', { text: it.email || '' }),
      el('td', { class: 'wrap', text: it.message || '' }),
      ...qs.map((k) => el('td', { text: String((it.answers || {})[k] ?? '') }))));
    box.replaceChildren(el('div', { class: 'scroll' }, el('table', { class: 'plain' }, el('thead', {}, head), el('tbody', {}, ...rows))));
  } catch (e) {
    box.replaceChildren(el('p', { class: 'hint', text: e.status === 404 ? 'Registered contacts are not available in this build.' : 'Could not load the answers: ' + e.message }));
  }
});
