// Keyboard and attention, on every console page.
//
// Shortcuts (never while typing in a field, never with Ctrl, Alt or Meta):
//   j / k   next / previous conversation (in a list: the next row; on a
//           conversation: the next one of the list it was opened from)
//   Enter   open the focused conversation (lists)
//   r       reply: focus the message box
//   n       note: the composer's note mode (button[name=mode-note]), then the box
//   a       assign (button[name=assign])
//   c       close the conversation (button[name=close])
//   /       focus the search (input[type=search]); elsewhere, go to the contacts
//   ?       this help (Escape closes it)
//
// Attention: the user's settings (desktop, sound) are read once per page
// for common.js's notifier, and desktop notifications are asked for once,
// at the user's first click or key press (browsers refuse the question
// without a gesture, and asking again after a "no" is noise).
'use strict';

(() => {
  const { api, el, me } = ibx;
  const body = document.body;
  const navKey = 'inboxd.nav';
  const askedKey = 'inboxd.notifications-asked';

  const shortcuts = [
    ['j', 'Next conversation'],
    ['k', 'Previous conversation'],
    ['Enter', 'Open the focused conversation'],
    ['r', 'Reply: write in the message box'],
    ['n', 'Write a private note'],
    ['a', 'Assign the conversation'],
    ['c', 'Close the conversation'],
    ['/', 'Search'],
    ['?', 'Show or hide this help'],
  ];

  // typing reports whether a key press belongs to a field.
  function typing(ev) {
    const t = ev.target;
    if (!(t instanceof Element)) return false;
    return t.isContentEditable || !!t.closest('input, textarea, select, [contenteditable=""], [contenteditable=true]');
  }

  function visible(node) { return !!node && !node.hidden && !node.closest('[hidden]') && node.getClientRects().length > 0; }

  function button(name) {
    const b = document.querySelector(`button[name="${name}"]`);
    return visible(b) && !b.disabled ? b : null;
  }

  // --- the help overlay ------------------------------------------------------

  let overlay = null;
  let before = null;

  function help(show) {
    if (!overlay) {
      const list = el('dl', { class: 'keys-list' });
      for (const [k, what] of shortcuts) list.append(el('dt', {}, el('kbd', { text: k })), el('dd', { text: what }));
      overlay = el('div', { class: 'keys-overlay', id: 'keys-help', role: 'dialog', 'aria-modal': 'true',
        'aria-labelledby': 'keys-title', hidden: true },
        el('div', { class: 'keys-card card' },
          el('h2', { id: 'keys-title', text: 'Keyboard shortcuts' }), list,
          el('p', { class: 'hint', text: 'Shortcuts do not apply while you type in a field.' }),
          el('button', { type: 'button', name: 'close-help', text: 'Close', onclick: () => help(false) })));
      overlay.addEventListener('click', (ev) => { if (ev.target === overlay) help(false); });
      body.append(overlay);
    }
    if (show) {
      before = document.activeElement;
      overlay.hidden = false;
      overlay.querySelector('button[name=close-help]').focus();
    } else if (!overlay.hidden) {
      overlay.hidden = true;
      if (before && before.focus) before.focus();
    }
  }

  // --- next and previous ------------------------------------------------------

  function rows() {
    return [...document.querySelectorAll('li[data-conversation-id]')].filter((li) => visible(li) && !li.closest('.conv-side'));
  }

  // remember saves the order of the list a conversation is opened from.
  function remember() {
    const ids = rows().map((li) => Number(li.dataset.conversationId));
    if (ids.length) sessionStorage.setItem(navKey, JSON.stringify(ids));
  }

  function move(step) {
    const conv = document.querySelector('.conv');
    if (conv && body.dataset.page === 'conversation') {
      let ids = [];
      try { ids = JSON.parse(sessionStorage.getItem(navKey) || '[]'); } catch (_) { /* none */ }
      const i = ids.indexOf(Number(conv.dataset.id));
      const next = i >= 0 ? ids[i + step] : undefined;
      if (next) location.href = '/conversations/' + next;
      else ibx.flash(step > 0 ? 'This is the last conversation of the list.' : 'This is the first conversation of the list.');
      return;
    }
    const rs = rows();
    if (!rs.length) return;
    const cur = document.activeElement && document.activeElement.closest && document.activeElement.closest('li[data-conversation-id]');
    let i = rs.indexOf(cur);
    i = i < 0 ? (step > 0 ? 0 : rs.length - 1) : Math.min(Math.max(i + step, 0), rs.length - 1);
    const list = rs[i].parentElement;
    ibx.focusRow(list, rs[i]);
    rs[i].scrollIntoView({ block: 'nearest' });
  }

  // --- actions ---------------------------------------------------------------

  // composer focuses the message box in reply or note mode; without a
  // note mode on the page, n does nothing (a reply is no private note).
  function composer(note) {
    const mode = button(note ? 'mode-note' : 'mode-reply');
    if (note && !mode) return false;
    if (mode) mode.click();
    const box = document.querySelector('textarea[name=message]');
    if (visible(box)) { box.focus(); return true; }
    if (!note && button('reply')) { button('reply').focus(); return true; }
    return false;
  }

  function search() {
    const box = [...document.querySelectorAll('input[type=search], input[name=q]')].find(visible);
    if (box) { box.focus(); box.select(); } else location.href = '/contacts';
  }

  function onKey(ev) {
    if (ev.defaultPrevented || ev.ctrlKey || ev.metaKey || ev.altKey) return;
    if (overlay && !overlay.hidden) {
      if (ev.key === 'Escape' || ev.key === '?') { ev.preventDefault(); help(false); }
      return;
    }
    if (typing(ev)) return;
    let done = true;
    switch (ev.key) {
      case '?': help(true); break;
      case 'j': move(1); break;
      case 'k': move(-1); break;
      case 'r': done = composer(false); break;
      case 'n': done = composer(true); break;
      case 'a': { const b = button('assign'); if (b) b.click(); else done = false; break; }
      case 'c': { const b = button('close'); if (b) b.click(); else done = false; break; }
      case '/': search(); break;
      default: done = false;
    }
    if (done) ev.preventDefault();
  }

  // --- attention -------------------------------------------------------------

  async function loadPrefs() {
    if (!me.id) return;
    try {
      const s = await api('GET', '/api/v1/me/notifications');
      Object.assign(ibx.prefs, { desktop: !!s.desktop, sound: !!s.sound });
    } catch (_) { /* keep the defaults */ }
  }

  function askOnce() {
    if (!window.Notification || Notification.permission !== 'default' || ibx.prefs.desktop === false) return;
    if (localStorage.getItem(askedKey)) return;
    localStorage.setItem(askedKey, new Date().toISOString());
    try { Notification.requestPermission(); } catch (_) { /* an old browser */ }
  }

  function gesture() {
    askOnce();
    document.removeEventListener('pointerdown', gesture, true);
    document.removeEventListener('keydown', gesture, true);
  }

  document.addEventListener('DOMContentLoaded', () => {
    if (!me.id) return; // the login page
    document.addEventListener('keydown', onKey);
    // A conversation opened from a list, by click or Enter, remembers the list.
    document.addEventListener('click', (ev) => {
      const a = ev.target instanceof Element && ev.target.closest('li[data-conversation-id] a');
      if (a && !a.closest('.conv-side')) remember();
    }, true);
    document.addEventListener('keydown', (ev) => {
      if (ev.key === 'Enter' && ev.target instanceof Element && ev.target.closest('li[data-conversation-id]')) remember();
    }, true);
    loadPrefs().then(() => {
      document.addEventListener('pointerdown', gesture, true);
      document.addEventListener('keydown', gesture, true);
    });
  });
})();
