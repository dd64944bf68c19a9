/* corpus-site concordance (keyword in context): every occurrence of a word or phrase in the offline
   index (search-data.js), with its left and right context, sortable like AntConc's KWIC view.
   Needs search.js (window.CorpusSearch) loaded first. */
(function () {
  "use strict";

  const CS = window.CorpusSearch;
  const form = document.querySelector("form[data-concordance-page]");
  if (!CS || !form) return;

  const MAX_ROWS = 5000; // rows drawn at once; the count still says how many there are
  const TITLE_CHARS = 40;
  const NO_SPACES = /[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}\p{Script=Thai}\p{Script=Lao}\p{Script=Khmer}\p{Script=Myanmar}\p{Script=Tibetan}]/u;
  const input = form.querySelector("input[name=q]");
  const select = form.querySelector("select[name=lang]");
  const width = form.querySelector("select[name=width]");
  const words = form.querySelector("input[name=words]");
  const status = document.getElementById("kwic-status");
  const table = document.getElementById("kwic");
  const body = table.tBodies[0];
  const headers = Array.from(table.tHead.rows[0].cells);
  const names = new Map(Array.from(select.options, function (option) { return [option.value, option.textContent]; }));
  const collator = new Intl.Collator(undefined, { sensitivity: "base", numeric: true });
  let rows = [];
  let sortKey = "doc";
  let direction = "ascending";
  let latest = 0;

  /* Words of a context, for sorting (punctuation left out); runs of a script written without spaces
     count character by character. */
  function tokens(text) {
    const out = [];
    CS.fold(text).text.split(/[^\p{L}\p{N}\p{M}]+/u).forEach(function (word) {
      if (!word) return;
      if (NO_SPACES.test(word)) out.push.apply(out, Array.from(word));
      else out.push(word);
    });
    return out;
  }

  function compareLists(a, b) {
    const length = Math.min(a.length, b.length);
    for (let index = 0; index < length; index++) {
      const order = collator.compare(a[index], b[index]);
      if (order) return order;
    }
    return a.length - b.length;
  }

  const COMPARE = {
    doc: function (a, b) { return a.order - b.order; },
    // Left context is read outwards from the keyword: the nearest word first (AntConc's L1, L2, ...).
    left: function (a, b) { return compareLists(a.leftWords, b.leftWords) || a.order - b.order; },
    key: function (a, b) { return collator.compare(a.key, b.key) || compareLists(a.rightWords, b.rightWords) || a.order - b.order; },
    right: function (a, b) { return compareLists(a.rightWords, b.rightWords) || a.order - b.order; },
  };

  /* Cut text at `at` without splitting a surrogate pair. */
  function safeCut(text, at) {
    const unit = text.charCodeAt(at);
    return unit >= 0xdc00 && unit <= 0xdfff ? at - 1 : at;
  }

  function oneLine(text) {
    return text.replace(/\s+/gu, " ");
  }

  async function run() {
    const query = input.value.trim();
    const lang = select.value;
    const span = Number(width.value) || 40;
    CS.setParams({ q: query, lang: lang, width: span === 40 ? "" : String(span), words: words.checked ? "" : "0" });
    const ticket = ++latest;
    if (!query) {
      rows = [];
      table.hidden = true;
      body.replaceChildren();
      status.textContent = "";
      return;
    }
    status.textContent = "Searching…";
    let data;
    try {
      data = await CS.loadOffline();
    } catch (error) {
      status.textContent = "The concordance could not load its index: " + error.message;
      return;
    }
    if (ticket !== latest) return;
    const needle = CS.foldQuery(query);
    const docOrder = new Map(data.docs.map(function (doc, index) { return [doc.id, index]; }));
    rows = [];
    data.blockList.forEach(function (block) {
      if (lang && block.lang !== lang) return;
      CS.findAll(block.text, CS.folded(block), needle, words.checked).forEach(function (range) {
        const text = block.text;
        const from = Math.max(0, safeCut(text, Math.max(0, range[0] - span)));
        const to = Math.min(text.length, safeCut(text, Math.min(text.length, range[1] + span)));
        const left = oneLine((from > 0 ? "…" : "") + text.slice(from, range[0]));
        const right = oneLine(text.slice(range[1], to) + (to < text.length ? "…" : ""));
        rows.push({
          doc: block.doc, lang: block.lang, left: left, key: oneLine(text.slice(range[0], range[1])), right: right,
          leftWords: tokens(text.slice(from, range[0])).reverse(), rightWords: tokens(text.slice(range[1], to)),
          order: docOrder.get(block.doc.id) * 1e9 + block.index * 1e4 + rows.length,
        });
      });
    });
    draw();
    const documents = new Set(rows.map(function (row) { return row.doc.id; })).size;
    const where = lang ? " in " + (names.get(lang) || lang) : "";
    let message = rows.length === 1 ? "1 occurrence" : rows.length + " occurrences";
    message += " of “" + query + "”" + where;
    if (rows.length) message += " in " + documents + (documents === 1 ? " document" : " documents");
    if (rows.length > MAX_ROWS) message += "; the first " + MAX_ROWS + " are shown";
    status.textContent = message + ".";
    table.dataset.query = query; // for tests and scripts: the table now shows this query's occurrences
  }

  function draw() {
    const sorted = rows.slice().sort(COMPARE[sortKey]);
    if (direction === "descending") sorted.reverse();
    body.replaceChildren.apply(body, sorted.slice(0, MAX_ROWS).map(row));
    table.hidden = rows.length === 0;
    headers.forEach(function (header) {
      if (header.dataset.sort === sortKey) header.setAttribute("aria-sort", direction);
      else header.removeAttribute("aria-sort");
    });
  }

  function row(item) {
    const attrs = CS.langAttrs(item.lang);
    const title = item.doc.title.length > TITLE_CHARS ? item.doc.title.slice(0, safeCut(item.doc.title, TITLE_CHARS)) + "…" : item.doc.title;
    const link = CS.element("a", Object.assign({ href: CS.rootPath + item.doc.url, title: item.doc.title }, CS.langAttrs(item.doc.lang)), [title]);
    return CS.element("tr", { "data-doc": item.doc.id }, [
      CS.element("td", { class: "doc" }, [link]),
      CS.element("td", Object.assign({ class: "left" }, attrs), [item.left]),
      CS.element("td", Object.assign({ class: "key" }, attrs), [item.key]),
      CS.element("td", Object.assign({ class: "right" }, attrs), [item.right]),
    ]);
  }

  headers.forEach(function (header) {
    header.querySelector("button").addEventListener("click", function () {
      const key = header.dataset.sort;
      direction = key === sortKey && direction === "ascending" ? "descending" : "ascending";
      sortKey = key;
      draw();
      status.textContent = "Sorted by " + header.textContent.trim().toLowerCase() + ", " + direction + ".";
    });
  });

  CS.runOnQuery(form, input, run);
  [select, width, words].forEach(function (control) { control.addEventListener("change", run); });

  const initial = CS.params();
  if (initial.get("lang") && names.has(initial.get("lang"))) select.value = initial.get("lang");
  if (["20", "40", "80"].includes(initial.get("width"))) width.value = initial.get("width");
  if (initial.get("words") === "0") words.checked = false;
  if (initial.get("q")) {
    input.value = initial.get("q");
    run();
  }
})();
