// Tags and canned replies in the console's pages: tag colours for the
// chips every list shows (ibx.tagChip), the tag filter's options, the
// conversation page's tags editor, and the composer's canned replies
// (typing "/" opens a filtered role="listbox"; choosing one inserts its
// text filled for the conversation).
'use strict';

const ibxTags = (() => {
  let loaded = null;

  // load reads the tag list once per page, and colours the chips shown.
  function load() {
    loaded = loaded || ibx.api('GET', '/api/v1/tags').then((r) => {
      for (const t of r.items) ibx.tagColors.set(t.name, t.color);
      for (const chip of document.querySelectorAll('.tag[data-tag]')) {
        const c = ibx.tagColors.get(chip.dataset.tag);
        if (c) chip.style.setProperty('--tag', c);
      }
      return r.items;
    }).catch(() => []);
    return loaded;
  }

  // chip is ibx.tagChip, with a remove button when onRemove is given.
  function chip(name, onRemove) {
    const n = ibx.tagChip(name);
    if (onRemove) {
      n.append(ibx.el('button', { type: 'button', class: 'tag-x', 'aria-label': 'Remove tag ' + name, title: 'Remove', text: '×', onclick: onRemove }));
    }
    return n;
  }

  // fillSelect adds the tags as options of a filter's select, the page's
  // ?tag= selected (the statistics form).
  async function fillSelect(sel) {
    const current = new URLSearchParams(location.search).get('tag') || '';
    for (const t of await load()) sel.append(ibx.el('option', { value: t.name, text: t.name, selected: t.name === current }));
  }

  return { load, chip, fillSelect };
})();

document.addEventListener('DOMContentLoaded', () => {
  const { api, el } = ibx;
  if (!ibx.me.id) return;
  ibxTags.load();
  for (const sel of document.querySelectorAll('select[name=tag]')) ibxTags.fillSelect(sel);
  const root = document.querySelector('.conv');
  if (!root) return;
  const id = Number(root.dataset.id);

  // --- the conversation's tags ------------------------------------------

  const side = document.querySelector('.conv-side');
  const box = el('div', { class: 'conv-tags', id: 'conv-tags' });
  const add = el('select', { name: 'add-tag', 'aria-label': 'Add a tag' });
  const section = el('section', { 'aria-labelledby': 'tags-title' },
    el('h2', { id: 'tags-title', text: 'Tags' }), box, el('label', { class: 'add-tag' }, el('span', { class: 'sr', text: 'Add a tag' }), add));
  side.prepend(section);
  let tags = [];
  let all = [];
  let queue = '';

  function render() {
    box.replaceChildren(...tags.map((t) => ibxTags.chip(t, () => save(tags.filter((x) => x !== t)))));
    if (!tags.length) box.append(el('span', { class: 'hint', text: 'No tags.' }));
    add.replaceChildren(el('option', { value: '', text: all.length ? '+ Add a tag' : 'No tags defined' }),
      ...all.filter((t) => !tags.includes(t.name)).map((t) => el('option', { value: t.name, text: t.name })));
  }

  async function save(next) {
    try {
      const r = await api('PUT', `/api/v1/conversations/${id}/tags`, { tags: next });
      tags = r.tags;
      render();
    } catch (e) {
      ibx.flash('Could not change the tags: ' + e.message, true);
    }
  }

  add.addEventListener('change', () => { if (add.value) save(tags.concat(add.value)); });
  ibx.onEvent((ev) => {
    if (ev.conversation_id === id && ev.kind === 'conversation.updated' && Array.isArray(ev.payload.tags)) {
      tags = ev.payload.tags;
      render();
    }
  });
  Promise.all([api('GET', `/api/v1/conversations/${id}`), ibxTags.load()]).then(([d, list]) => {
    tags = d.tags || [];
    queue = d.queue;
    all = list;
    render();
  }).catch(() => { section.hidden = true; });

  // --- canned replies in the composer -----------------------------------

  const textarea = document.querySelector('#composer textarea[name=message]');
  if (!textarea) return;
  const listbox = el('ul', { role: 'listbox', id: 'canned-list', class: 'canned-list', 'aria-label': 'Canned replies', hidden: true });
  textarea.closest('form').before(listbox);
  textarea.setAttribute('aria-controls', 'canned-list');
  textarea.setAttribute('aria-autocomplete', 'list');
  let replies = null;
  let shown = [];
  let active = 0;
  let token = null; // the "/word" being typed: its start and end in the text

  async function loadReplies() {
    if (replies) return replies;
    try {
      replies = (await api('GET', '/api/v1/canned' + (queue ? '?queue=' + encodeURIComponent(queue) : ''))).items;
    } catch (_) { replies = []; }
    return replies;
  }

  // slashWord finds "/word" right before the caret, at the start of the
  // text or after a space.
  function slashWord() {
    const caret = textarea.selectionStart;
    if (caret !== textarea.selectionEnd) return null;
    const m = /(^|\s)\/([\p{L}\p{N}_-]*)$/u.exec(textarea.value.slice(0, caret));
    return m ? { start: caret - m[2].length - 1, end: caret, word: m[2].toLowerCase() } : null;
  }

  function close() {
    listbox.hidden = true;
    token = null;
    textarea.removeAttribute('aria-activedescendant');
    textarea.setAttribute('aria-expanded', 'false');
  }

  function paint() {
    listbox.replaceChildren(...shown.map((r, i) => el('li', {
      role: 'option', id: 'canned-' + r.id, 'data-canned-id': r.id, 'aria-selected': String(i === active),
      onmousedown: (ev) => { ev.preventDefault(); choose(i); },
    }, el('span', { class: 'shortcut', text: '/' + r.shortcut }), ' ', el('span', { class: 'title', text: r.title }),
    r.personal ? el('span', { class: 'hint', text: ' (mine)' }) : null)));
    if (shown[active]) textarea.setAttribute('aria-activedescendant', 'canned-' + shown[active].id);
  }

  async function update() {
    const t = slashWord();
    if (!t) { close(); return; }
    const rs = await loadReplies();
    const now = slashWord();
    if (!now || now.word !== t.word) return; // typed on meanwhile
    token = now;
    shown = rs.filter((r) => r.shortcut.startsWith(t.word) || r.title.toLowerCase().includes(t.word)).slice(0, 20);
    if (!shown.length) { listbox.replaceChildren(el('li', { class: 'hint', text: 'No canned reply matches /' + t.word })); }
    active = 0;
    listbox.hidden = false;
    textarea.setAttribute('aria-expanded', 'true');
    if (shown.length) paint();
  }

  async function choose(i) {
    const r = shown[i];
    const t = token;
    if (!r || !t) return;
    close();
    try {
      const f = await api('GET', `/api/v1/conversations/${id}/canned/${r.id}`);
      const v = textarea.value;
      textarea.value = v.slice(0, t.start) + f.text + v.slice(t.end);
      const caret = t.start + f.text.length;
      textarea.focus();
      textarea.setSelectionRange(caret, caret);
      textarea.dispatchEvent(new Event('input', { bubbles: true }));
    } catch (e) {
      ibx.flash('Could not insert the canned reply: ' + e.message, true);
    }
  }

  textarea.addEventListener('input', update);
  textarea.addEventListener('click', update);
  textarea.addEventListener('blur', () => setTimeout(close, 150));
  // A key the list took never reaches the text, also where the text input
  // comes as its own event (some input methods, automation).
  let tookKey = 0;
  textarea.addEventListener('beforeinput', (ev) => {
    if (Date.now() - tookKey < 200 && /^insert(LineBreak|Paragraph|Text)$/.test(ev.inputType)) ev.preventDefault();
  });
  // Capture: while the list is open, the arrows, Enter and Escape are its.
  textarea.addEventListener('keydown', (ev) => {
    if (listbox.hidden || !shown.length) {
      if (ev.key === 'Escape' && !listbox.hidden) close();
      return;
    }
    switch (ev.key) {
      case 'ArrowDown': active = (active + 1) % shown.length; break;
      case 'ArrowUp': active = (active - 1 + shown.length) % shown.length; break;
      case 'Enter': case 'Tab': if (ev.ctrlKey || ev.metaKey) return; choose(active); break;
      case 'Escape': close(); break;
      default: return;
    }
    ev.preventDefault();
    ev.stopImmediatePropagation();
    tookKey = Date.now();
    if (!listbox.hidden) paint();
  }, true);
});
