// Assignment and private notes on the conversation page: the assign
// button and its picker of colleagues and queues, the composer's switch
// between reply and note, and "@" completion of colleagues in notes.
// conversation.js draws the page; this file adds to it through
// ibx.conversationPage and the "ibx-conversation" event.
'use strict';

document.addEventListener('DOMContentLoaded', () => {
  const { api, el, me } = ibx;
  const page = ibx.conversationPage;
  if (!page) return;
  const composer = document.getElementById('composer');
  const textarea = composer.querySelector('textarea[name=message]');
  const modeBtn = composer.querySelector('button[name=mode-note]');
  const replyBtn = composer.querySelector('button[name=reply]');
  const mentionList = document.getElementById('mention-list');
  const assignBtn = document.querySelector('button[name=assign]');
  const dialog = document.getElementById('assign-dialog');
  const picker = dialog.querySelector('select[name=assignee]');
  const noteBox = dialog.querySelector('textarea[name=assign-note]');

  let noteMode = false;
  let forcedNote = false; // the viewer may write notes but not reply
  let replyLabel = replyBtn.textContent;
  let candidates = null; // GET .../assignees, loaded once per page
  const mentioned = new Map(); // name -> id, as picked from the list

  async function loadCandidates() {
    if (!candidates) candidates = await api('GET', `/api/v1/conversations/${page.id}/assignees`);
    return candidates;
  }

  // --- reply / note switch -------------------------------------------------

  function setMode(note) {
    noteMode = note || forcedNote;
    modeBtn.setAttribute('aria-pressed', String(noteMode));
    composer.classList.toggle('note-mode', noteMode);
    if (noteMode) {
      if (replyBtn.textContent !== 'Add note') replyLabel = replyBtn.textContent;
      replyBtn.textContent = 'Add note';
      textarea.placeholder = 'Write a private note… type @ to mention a colleague (Ctrl+Enter adds it)';
    } else {
      replyBtn.textContent = replyLabel;
      textarea.placeholder = 'Write a reply… (Ctrl+Enter sends)';
      closeMentions();
    }
  }

  modeBtn.addEventListener('click', () => { setMode(!noteMode); textarea.focus(); });

  // The page's actions change with the conversation: who may assign, and
  // whether the composer is there for notes only.
  document.addEventListener('ibx-conversation', (ev) => {
    const { conv, mine } = ev.detail;
    assignBtn.hidden = !conv || !(me.admin || mine || conv.status === 'unassigned');
    if (!conv) { composer.hidden = true; return; }
    modeBtn.hidden = false;
    forcedNote = composer.hidden; // visible conversation, but not yours to answer
    if (forcedNote) composer.hidden = false;
    setMode(noteMode && !forcedNote ? true : forcedNote);
  });

  // A note is posted here; a reply goes on to conversation.js's handler.
  document.addEventListener('submit', async (ev) => {
    if (ev.target !== composer || !noteMode) return;
    ev.preventDefault();
    ev.stopImmediatePropagation();
    const text = textarea.value.trim();
    if (!text) { textarea.focus(); return; }
    const mentions = [];
    for (const [name, id] of mentioned) {
      if (text.includes('@' + name) && !mentions.includes(id)) mentions.push(id);
    }
    replyBtn.disabled = true;
    try {
      const m = await api('POST', `/api/v1/conversations/${page.id}/notes`, { text, mentions });
      textarea.value = '';
      mentioned.clear();
      page.addMessage(m);
    } catch (e) {
      ibx.flash(e.message, true);
    } finally {
      replyBtn.disabled = false;
    }
  }, true);

  // --- @ completion ----------------------------------------------------------

  let options = [];
  let active = -1;

  // mentionQuery is the "@word" being typed before the caret, or null.
  function mentionQuery() {
    const before = textarea.value.slice(0, textarea.selectionStart);
    const m = /(^|\s)@([^\s@]{0,40})$/.exec(before);
    return m ? { q: m[2], start: before.length - m[2].length - 1 } : null;
  }

  function closeMentions() {
    mentionList.hidden = true;
    mentionList.replaceChildren();
    textarea.removeAttribute('aria-activedescendant');
    options = [];
    active = -1;
  }

  function highlight(i) {
    active = i;
    mentionList.querySelectorAll('li').forEach((li, j) => li.setAttribute('aria-selected', String(j === i)));
    if (i >= 0) textarea.setAttribute('aria-activedescendant', 'mention-' + options[i].id);
  }

  function pick(u) {
    const mq = mentionQuery();
    if (!mq) return closeMentions();
    const v = textarea.value;
    const insert = '@' + u.name + ' ';
    textarea.value = v.slice(0, mq.start) + insert + v.slice(textarea.selectionStart);
    const caret = mq.start + insert.length;
    textarea.setSelectionRange(caret, caret);
    mentioned.set(u.name, u.id);
    closeMentions();
    textarea.focus();
  }

  async function updateMentions() {
    const mq = noteMode && mentionQuery();
    if (!mq) return closeMentions();
    let c;
    try { c = await loadCandidates(); } catch (_) { return closeMentions(); }
    const q = mq.q.toLowerCase();
    options = c.users.filter((u) => u.mentionable && u.id !== me.id && u.name.toLowerCase().startsWith(q)).slice(0, 8);
    if (!options.length) return closeMentions();
    mentionList.replaceChildren(...options.map((u) => el('li', { id: 'mention-' + u.id, role: 'option', 'data-user-id': u.id,
      'aria-selected': 'false', text: u.name, onmousedown: (e) => { e.preventDefault(); pick(u); } })));
    mentionList.hidden = false;
    highlight(0);
  }

  // The key that picked a colleague types nothing (some input paths send
  // its character apart from the keydown).
  let swallow = '';
  textarea.addEventListener('keypress', (ev) => {
    if (swallow && ev.key === swallow) ev.preventDefault();
    swallow = '';
  });
  textarea.addEventListener('input', updateMentions);
  textarea.addEventListener('blur', () => setTimeout(closeMentions, 150));
  textarea.addEventListener('keydown', (ev) => {
    if (mentionList.hidden || !options.length) return;
    if (ev.key === 'ArrowDown' || ev.key === 'ArrowUp') {
      ev.preventDefault();
      highlight((active + (ev.key === 'ArrowDown' ? 1 : options.length - 1)) % options.length);
    } else if (ev.key === 'Enter' || ev.key === 'Tab') {
      if (ev.ctrlKey || ev.metaKey) return;
      ev.preventDefault();
      ev.stopImmediatePropagation();
      swallow = ev.key;
      pick(options[Math.max(active, 0)]);
    } else if (ev.key === 'Escape') {
      ev.preventDefault();
      closeMentions();
    }
  }, true);

  // --- assign picker ---------------------------------------------------------

  async function openPicker() {
    let c;
    try { c = await loadCandidates(); } catch (e) { ibx.flash(e.message, true); return; }
    const conv = page.conv();
    // An agent not in the conversation may only take it for itself.
    const handOver = me.admin || page.isMine();
    const people = c.users.filter((u) => u.assignable && (handOver || u.id === me.id) &&
      !(conv && conv.participants.length && conv.participants[0].id === u.id && conv.status === 'active'));
    const opts = [];
    if (people.length) {
      opts.push(el('optgroup', { label: 'Colleagues' }, ...people.map((u) =>
        el('option', { value: 'user:' + u.id, text: (u.id === me.id ? 'Me (' + u.name + ')' : u.name) + (u.presence === 'online' ? '' : ' · ' + u.presence) }))));
    }
    if (handOver && c.queues.length) {
      opts.push(el('optgroup', { label: 'Another queue' }, ...c.queues.map((q) =>
        el('option', { value: 'queue:' + q.id, text: q.name }))));
    }
    picker.replaceChildren(...opts);
    if (!opts.length) { ibx.flash('Nobody else can take this conversation.', true); return; }
    noteBox.value = '';
    dialog.showModal();
    picker.focus();
  }

  async function assign() {
    const [kind, val] = picker.value.split(':');
    const body = kind === 'user' ? { user_id: Number(val) } : { queue: val };
    const note = noteBox.value.trim();
    if (note) body.note = note;
    try {
      const s = await api('POST', `/api/v1/conversations/${page.id}/assign`, body);
      dialog.close();
      candidates = null;
      const gone = kind === 'queue' || (!me.admin && Number(val) !== me.id);
      ibx.flash(kind === 'queue' ? 'Transferred to ' + s.queue : 'Assigned to ' + ((s.participants[0] || {}).name || ''));
      // Handed on: an agent no longer sees it; back to the list.
      if (gone) setTimeout(() => { location.href = '/inbox'; }, 600);
      else page.reload();
    } catch (e) {
      ibx.flash(e.message, true);
    }
  }

  assignBtn.addEventListener('click', openPicker);
  dialog.querySelector('form').addEventListener('submit', (ev) => { ev.preventDefault(); assign(); });
  dialog.querySelector('button[name=assign-cancel]').addEventListener('click', () => dialog.close());
});
