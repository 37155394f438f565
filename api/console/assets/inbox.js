// The agent's view: "My conversations" and "From customers" (the
// unassigned queue), refreshed live from the agent's own feed.
'use strict';

document.addEventListener('DOMContentLoaded', () => {
  const { api, row } = ibx;
  const lists = { mine: document.getElementById('mine'), queue: document.getElementById('queue') };

  async function load(view) {
    try {
      const tag = document.querySelector('.filters select[name=tag]').value;
      const page = await api('GET', '/api/v1/conversations?view=' + view + '&limit=200' + (tag ? '&tag=' + encodeURIComponent(tag) : ''));
      const list = lists[view];
      const focusedID = list.contains(document.activeElement) && document.activeElement.closest('li') &&
        document.activeElement.closest('li').dataset.conversationId;
      list.replaceChildren(...page.items.map((it) => { ibx.notifier.remember(it); return row(it); }));
      document.querySelector(`[data-empty="${view}"]`).hidden = page.items.length > 0;
      const again = focusedID && list.querySelector(`:scope > li[data-conversation-id="${focusedID}"]`);
      if (again) ibx.focusRow(list, again);
      ibx.ensureTabStop(list);
    } catch (e) {
      ibx.flash('Could not load conversations: ' + e.message, true);
    }
  }

  let timer = 0;
  function reload() {
    clearTimeout(timer);
    timer = setTimeout(() => { load('mine'); load('queue'); }, 200);
  }

  ibx.onEvent((ev) => {
    if (ev.kind.startsWith('conversation.') || (ev.kind === 'message.created' && ev.payload.direction === 'in')) reload();
  });
  for (const l of Object.values(lists)) ibx.keyboardList(l);
  document.querySelector('.filters select[name=tag]').addEventListener('change', reload);
  // A colleague taking a queued chat sends this agent no event (it no
  // longer sees the chat): a slow refresh catches that.
  setInterval(reload, 30000);
  ibx.startFeed('/api/v1/me/events');
  load('mine');
  load('queue');
});
