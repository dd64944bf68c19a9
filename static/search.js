/* corpus-site search: Pagefind over http(s), the offline index (search-data.js) over file:// or when
   Pagefind cannot load. A classic script, not a module, because file:// refuses module scripts.
   Also the shared toolkit (window.CorpusSearch) that concordance.js uses. */
(function () {
  "use strict";

  const script = document.currentScript;
  // The way from this page to the top of the site ("" or "../"), as the page's own links write it.
  const rootPath = (script && script.dataset.root) || "";
  const siteRoot = new URL(rootPath || "./", document.baseURI);

  // ---- Text folding: case- and accent-insensitive for Latin, Greek and Cyrillic; every other
  // script is only lower-cased, so matching stays a plain substring match (CJK has no spaces).
  const FOLDABLE = /^[\p{Script=Latin}\p{Script=Greek}\p{Script=Cyrillic}]/u;
  const MARK = /^\p{M}$/u;
  const SPACE = /^\s$/u;
  const NO_SPACES = /[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}\p{Script=Thai}\p{Script=Lao}\p{Script=Khmer}\p{Script=Myanmar}\p{Script=Tibetan}]/u;
  const WORDISH = /[\p{L}\p{N}\p{M}]/u;

  /* The folded text and, for each folded code unit, the offset in `text` it came from; map has one
     extra entry, text.length, so a folded range [s, e) is the original range [map[s], map[e]). */
  function fold(text) {
    let out = "";
    const map = [];
    let offset = 0;
    let space = false;
    let afterFoldable = false;
    for (const char of text) {
      const start = offset;
      offset += char.length;
      if (SPACE.test(char)) {
        if (!space) {
          out += " ";
          map.push(start);
        }
        space = true;
        afterFoldable = false;
        continue;
      }
      space = false;
      if (MARK.test(char) && afterFoldable) continue; // a combining accent on a Latin letter
      let folded = char.normalize("NFD");
      afterFoldable = FOLDABLE.test(folded);
      folded = afterFoldable ? folded.replace(/\p{M}/gu, "").toLowerCase() : char.toLowerCase();
      for (let unit = 0; unit < folded.length; unit++) map.push(start);
      out += folded;
    }
    map.push(offset);
    return { text: out, map: map };
  }

  function foldQuery(text) {
    return fold(text.normalize("NFC").trim()).text.trim();
  }

  /* Search terms: "quoted phrases" stay whole, other words split on spaces. */
  function parseTerms(query) {
    const terms = [];
    const pattern = /"([^"]+)"|(\S+)/gu;
    let match;
    while ((match = pattern.exec(query))) {
      const term = foldQuery(match[1] || match[2]);
      if (term && !terms.includes(term)) terms.push(term);
    }
    return terms;
  }

  /* Every occurrence of the folded `needle` in a folded text, as original [start, end) ranges.
     With wholeWords, a match must not sit inside a longer word, except where the script writes
     no spaces between words (Chinese, Japanese, Thai, ...), where every substring counts. */
  function findAll(original, folded, needle, wholeWords) {
    const ranges = [];
    if (!needle) return ranges;
    let at = folded.text.indexOf(needle);
    while (at !== -1) {
      const end = at + needle.length;
      if (!wholeWords || isWhole(folded.text, at, end, needle)) {
        ranges.push([folded.map[at], folded.map[end]]);
      }
      at = folded.text.indexOf(needle, at + 1);
    }
    return ranges;
  }

  function isWhole(text, start, end, needle) {
    const before = start > 0 ? charBefore(text, start) : "";
    const after = end < text.length ? String.fromCodePoint(text.codePointAt(end)) : "";
    const first = String.fromCodePoint(needle.codePointAt(0));
    const last = charBefore(needle, needle.length);
    const openStart = !before || !WORDISH.test(before) || NO_SPACES.test(first) || NO_SPACES.test(before);
    const openEnd = !after || !WORDISH.test(after) || NO_SPACES.test(last) || NO_SPACES.test(after);
    return openStart && openEnd;
  }

  function charBefore(text, index) {
    const unit = text.charCodeAt(index - 1);
    return unit >= 0xdc00 && unit <= 0xdfff && index >= 2 ? text.slice(index - 2, index) : text[index - 1];
  }

  // ---- The offline index, loaded once with plain <script src> tags, which file:// allows: search-data.js
  // names its parts, and each part registers its documents and blocks in window.CORPUS_SEARCH_PARTS.
  let offlinePromise = null;

  function loadScript(path) {
    return new Promise(function (resolve, reject) {
      const tag = document.createElement("script");
      tag.src = new URL(path, siteRoot).href;
      tag.onload = resolve;
      tag.onerror = function () { reject(new Error(path + " could not be loaded")); };
      document.head.appendChild(tag);
    });
  }

  function loadOffline() {
    if (!offlinePromise) {
      offlinePromise = (window.CORPUS_SEARCH ? Promise.resolve() : loadScript("search-data.js"))
        .then(function () {
          const data = window.CORPUS_SEARCH;
          if (!data) throw new Error("search-data.js did not define the index");
          return Promise.all((data.parts || []).map(function (path) {
            const parts = window.CORPUS_SEARCH_PARTS || {};
            return parts[path] ? null : loadScript(path);
          })).then(function () { return prepare(data); });
        })
        .catch(function (error) {
          offlinePromise = null;
          throw error;
        });
    }
    return offlinePromise;
  }

  /* The parts joined in order: the corpus's documents, and its blocks each pointing at its document. */
  function prepare(data) {
    if (!data.prepared) {
      data.docs = [];
      data.blockList = [];
      for (const path of data.parts || []) {
        const part = (window.CORPUS_SEARCH_PARTS || {})[path];
        if (!part) throw new Error(path + " did not define its part of the index");
        part.docs.forEach(function (doc) { data.docs.push(doc); });
        part.blocks.forEach(function (row) {
          data.blockList.push({ index: data.blockList.length, doc: part.docs[row[0]], lang: row[1], text: row[2], folded: null });
        });
      }
      data.prepared = true;
    }
    return data;
  }

  function folded(block) {
    if (!block.folded) block.folded = fold(block.text);
    return block.folded;
  }

  // ---- Searching the offline index: every term must occur somewhere in the document's blocks
  // (of the chosen language); more occurrences, and occurrences in the title, rank higher.
  const EXCERPT_CHARS = 90;

  function offlineSearch(data, query, lang) {
    const terms = parseTerms(query);
    if (!terms.length) return [];
    const byDoc = new Map();
    for (const block of data.blockList) {
      if (lang && block.lang !== lang) continue;
      const text = folded(block);
      const counts = terms.map(function (term) {
        return findAll(block.text, text, term, false).length;
      });
      if (!counts.some(Boolean)) continue;
      let entry = byDoc.get(block.doc.id);
      if (!entry) {
        entry = { doc: block.doc, counts: terms.map(function () { return 0; }), blocks: [] };
        byDoc.set(block.doc.id, entry);
      }
      counts.forEach(function (count, index) { entry.counts[index] += count; });
      entry.blocks.push({ block: block, found: counts.filter(Boolean).length, total: counts.reduce(sum, 0) });
    }
    const results = [];
    for (const entry of byDoc.values()) {
      if (entry.counts.some(function (count) { return count === 0; })) continue;
      const title = fold(entry.doc.title).text;
      let score = entry.counts.reduce(function (total, count) { return total + Math.log(1 + count); }, 0);
      score += terms.filter(function (term) { return title.includes(term); }).length;
      const hits = [];
      const seen = new Set();
      entry.blocks
        .sort(function (a, b) { return b.found - a.found || b.total - a.total || a.block.index - b.block.index; })
        .forEach(function (item) {
          if (seen.has(item.block.lang)) return;
          seen.add(item.block.lang);
          hits.push({ lang: item.block.lang, parts: excerpt(item.block, terms) });
        });
      results.push({ doc: entry.doc, score: score, hits: hits, source: "offline" });
    }
    return results.sort(function (a, b) { return b.score - a.score || a.doc.id.localeCompare(b.doc.id); });
  }

  function sum(a, b) { return a + b; }

  /* [[text, highlighted], ...] around the first match, with every match in the window marked. */
  function excerpt(block, terms) {
    const text = block.text;
    const ranges = [];
    terms.forEach(function (term) { ranges.push.apply(ranges, findAll(text, folded(block), term, false)); });
    ranges.sort(function (a, b) { return a[0] - b[0] || b[1] - a[1]; });
    const first = ranges.length ? ranges[0][0] : 0;
    let from = Math.max(0, first - EXCERPT_CHARS);
    let to = Math.min(text.length, first + EXCERPT_CHARS * 2);
    if (from > 0) from = softEdge(text, from, 1);
    if (to < text.length) to = softEdge(text, to, -1);
    const parts = [];
    let at = from;
    if (from > 0) parts.push(["… ", false]);
    for (const range of ranges) {
      if (range[0] < at || range[1] > to) continue;
      if (range[0] > at) parts.push([text.slice(at, range[0]), false]);
      parts.push([text.slice(range[0], range[1]), true]);
      at = range[1];
    }
    if (to > at) parts.push([text.slice(at, to), false]);
    if (to < text.length) parts.push([" …", false]);
    return parts;
  }

  /* Move a cut to the nearest space within 15 characters, so it falls between words where there are spaces. */
  function softEdge(text, at, direction) {
    for (let step = 0; step < 15; step++) {
      const index = at + step * direction;
      if (index <= 0 || index >= text.length) break;
      if (/\s/u.test(text[index])) return direction > 0 ? index + 1 : index;
    }
    // Never split a surrogate pair.
    if (at > 0 && at < text.length && text.charCodeAt(at) >= 0xdc00 && text.charCodeAt(at) <= 0xdfff) return at + direction;
    return at;
  }

  // ---- Pagefind: one bundle per language (pagefind/<lang>/), each imported from its own URL. A
  // Pagefind module holds one WebAssembly instance (one language's stemmer and segmenter) and picks
  // the index matching the page's lang, so languages can only be searched together as separate modules.
  // A language with many pages has several bundles (pagefind/<lang>.<part>/), searched side by side.
  const PAGEFIND_RESULTS = 60;
  const META_WEIGHTS = { url: 0, doc: 0, lang: 0, langs: 0, group: 0, hit_lang: 0 };

  async function pagefindEngine(bundles) {
    if (location.protocol === "file:" || !bundles.length) throw new Error("Pagefind needs http(s)");
    const modules = new Map();
    await Promise.all(bundles.map(async function (bundle) {
      const module = await import(new URL("pagefind/" + bundle + "/pagefind.js", siteRoot).href);
      // Our metadata fields carry codes and ids, not text: matching them must not rank a page.
      await module.options({ excerptLength: 24, ranking: { metaWeights: META_WEIGHTS } });
      modules.set(bundle, module);
    }));
    // Fail here, not on the reader's first query, if the index itself cannot be read.
    await modules.get(bundles[0]).search("a");
    return {
      name: "pagefind",
      search: async function (query, lang) {
        const chosen = bundles
          .filter(function (bundle) { return !lang || bundle.split(".")[0] === lang; })
          .map(function (bundle) { return modules.get(bundle); });
        const answers = await Promise.all(chosen.map(function (module) { return module.search(query); }));
        const found = answers.flatMap(function (answer) { return (answer && answer.results) || []; });
        found.sort(function (a, b) { return b.score - a.score; });
        const loaded = await Promise.all(found.slice(0, PAGEFIND_RESULTS).map(function (result) {
          return result.data().then(function (data) { return { score: result.score, data: data }; });
        }));
        const words = parseTerms(query.replace(/"/g, " "));
        const byDoc = new Map();
        for (const item of loaded) {
          const meta = item.data.meta || {};
          const parts = markedParts(item.data.excerpt || "");
          if (!meta.doc || !genuine(parts, words)) continue;
          let entry = byDoc.get(meta.doc);
          if (!entry) {
            entry = {
              doc: {
                id: meta.doc, title: meta.title || meta.doc, url: meta.url, lang: meta.lang,
                langs: (meta.langs || "").split(" ").filter(Boolean), group: meta.group || meta.doc,
              },
              score: 0,
              hits: [],
              source: "pagefind",
            };
            byDoc.set(meta.doc, entry);
          }
          entry.score += item.score;
          entry.hits.push({ lang: meta.hit_lang, parts: parts });
        }
        return Array.from(byDoc.values()).sort(function (a, b) { return b.score - a.score; });
      },
    };
  }

  /* Whether a Pagefind hit matched the query. Where a query word is in none of a bundle's words,
     Pagefind falls back to the longest indexed word the query word starts with ("e" for
     "entraînement"), and it also matches words of the metadata: searching every language's bundle
     at once turns those into noise. A hit counts if some highlighted word shares a real stem with
     a query word; in scripts written without spaces a shorter indexed word is a fair match. */
  function genuine(parts, words) {
    return parts.some(function (part) {
      if (!part[1]) return false;
      // A highlighted word can carry punctuation and elisions: “constitution”, l'entraînement.
      return fold(part[0]).text.split(/[^\p{L}\p{N}\p{M}]+/u).some(function (marked) {
        return marked && words.some(function (word) {
          if (NO_SPACES.test(marked) || NO_SPACES.test(word)) return word.startsWith(marked) || marked.startsWith(word);
          return commonPrefix(marked, word) >= Math.min(word.length, Math.max(3, Math.ceil(word.length / 2)));
        });
      });
    });
  }

  function commonPrefix(a, b) {
    let length = 0;
    while (length < a.length && length < b.length && a[length] === b[length]) length++;
    return length;
  }

  /* Pagefind's excerpt is HTML with <mark>; keep only its text and the marks, never its markup. */
  function markedParts(html) {
    const parsed = new DOMParser().parseFromString("<!DOCTYPE html><body>" + html, "text/html");
    const parts = [];
    parsed.body.childNodes.forEach(function (node) {
      if (node.nodeType === Node.TEXT_NODE) parts.push([node.data, false]);
      else if (node.nodeType === Node.ELEMENT_NODE) parts.push([node.textContent, node.nodeName === "MARK"]);
    });
    return parts;
  }

  async function offlineEngine() {
    const data = await loadOffline();
    return {
      name: "offline",
      data: data,
      search: async function (query, lang) { return offlineSearch(data, query, lang); },
    };
  }

  /* Translations of one text (one group) become one result, led by its best-ranked document. */
  function groupResults(results) {
    const groups = new Map();
    for (const result of results) {
      const key = result.doc.group || result.doc.id;
      if (!groups.has(key)) groups.set(key, []);
      groups.get(key).push(result);
    }
    return Array.from(groups.values());
  }

  // ---- DOM helpers shared with the concordance.
  function element(name, attrs, children) {
    const node = document.createElement(name);
    Object.entries(attrs || {}).forEach(function (pair) {
      if (pair[1] !== undefined && pair[1] !== null) node.setAttribute(pair[0], pair[1]);
    });
    (children || []).forEach(function (child) {
      node.append(typeof child === "string" ? document.createTextNode(child) : child);
    });
    return node;
  }

  function langAttrs(code) {
    return code && code !== "und" ? { lang: code, dir: "auto" } : { lang: "", dir: "auto" };
  }

  /* Run a page's query when its form is sent, and when typing in its box pauses. */
  function runOnQuery(form, input, run) {
    let timer = null;
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      clearTimeout(timer);
      run();
    });
    input.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(run, 300);
    });
  }

  function params() {
    return new URLSearchParams(location.search);
  }

  function setParams(values) {
    const next = new URLSearchParams();
    Object.entries(values).forEach(function (pair) { if (pair[1]) next.set(pair[0], pair[1]); });
    const query = next.toString();
    try {
      history.replaceState(null, "", location.pathname + (query ? "?" + query : "") + location.hash);
    } catch (error) {
      // Some browsers refuse to rewrite file:// URLs; the page works the same without it.
    }
  }

  window.CorpusSearch = {
    fold: fold,
    foldQuery: foldQuery,
    parseTerms: parseTerms,
    findAll: findAll,
    folded: folded,
    loadOffline: loadOffline,
    offlineSearch: offlineSearch,
    element: element,
    langAttrs: langAttrs,
    runOnQuery: runOnQuery,
    params: params,
    setParams: setParams,
    rootPath: rootPath,
    siteRoot: siteRoot,
  };

  // ---- The search page.
  const form = document.querySelector("form[data-search-page]");
  if (!form) return;
  const input = form.querySelector("input[name=q]");
  const select = form.querySelector("select[name=lang]");
  const status = document.getElementById("search-status");
  const list = document.getElementById("search-results");
  const bundles = (form.dataset.bundles || "").split(" ").filter(Boolean);
  const names = new Map(Array.from(select.options, function (option) { return [option.value, option.textContent]; }));
  let engine = null;
  let latest = 0;

  async function getEngine() {
    if (engine) return engine;
    try {
      engine = await pagefindEngine(bundles);
    } catch (error) {
      engine = await offlineEngine();
    }
    return engine;
  }

  async function run() {
    const query = input.value.trim();
    const lang = select.value;
    setParams({ q: query, lang: lang });
    const ticket = ++latest;
    if (!query) {
      list.replaceChildren();
      status.textContent = "";
      return;
    }
    status.textContent = "Searching…";
    let results;
    let used;
    try {
      used = await getEngine();
      try {
        results = await used.search(query, lang);
      } catch (error) {
        if (used.name !== "pagefind") throw error;
        engine = used = await offlineEngine(); // Pagefind loaded but failed: search offline from now on
        results = await used.search(query, lang);
      }
    } catch (error) {
      if (ticket === latest) status.textContent = "Search could not start: " + error.message;
      return;
    }
    if (used.name === "pagefind" && NO_SPACES.test(query)) {
      results = await withSubstringMatches(results, query, lang);
    }
    if (ticket !== latest) return;
    const groups = groupResults(results);
    list.replaceChildren.apply(list, groups.map(renderGroup));
    const where = lang ? " in " + (names.get(lang) || lang) : "";
    const count = groups.length === 1 ? "1 text" : groups.length + " texts";
    status.textContent = (groups.length ? count : "No texts") + " found for “" + query + "”" + where + ".";
    form.dataset.engine = used.name;
    list.dataset.query = query; // for tests and scripts: the list now shows this query's results
  }

  /* Pagefind matches Chinese and Japanese by the words its segmenter cut at build time, so a query
     that spans two of those words, or a run left unsegmented, finds nothing. For such queries the
     offline index's substring matches are added after Pagefind's own results. */
  async function withSubstringMatches(results, query, lang) {
    let extra;
    try {
      extra = offlineSearch(await loadOffline(), query, lang);
    } catch (error) {
      return results;
    }
    const seen = new Set(results.map(function (result) { return result.doc.id; }));
    return results.concat(extra.filter(function (result) { return !seen.has(result.doc.id); }).map(function (result) {
      return Object.assign({}, result, { source: "substring" });
    }));
  }

  function badges(doc) {
    return element("span", { class: "badges" }, doc.langs.map(function (code) {
      return element("span", Object.assign({ class: "badge", title: names.get(code) || code }, langAttrs(code)), [code]);
    }));
  }

  function excerptNode(hit) {
    const children = hit.parts.map(function (part) {
      return part[1] ? element("mark", {}, [part[0]]) : document.createTextNode(part[0]);
    });
    return element("p", Object.assign({ class: "excerpt" }, langAttrs(hit.lang)), children);
  }

  function docLink(doc) {
    return element("a", Object.assign({ href: rootPath + doc.url }, langAttrs(doc.lang)), [doc.title]);
  }

  function renderGroup(group) {
    const lead = group[0];
    const item = element("li", { class: "result", "data-doc": lead.doc.id, "data-group": lead.doc.group, "data-source": lead.source }, [
      element("h2", { class: "result-title" }, [docLink(lead.doc)]),
      badges(lead.doc),
    ]);
    lead.hits.forEach(function (hit) { item.append(excerptNode(hit)); });
    if (group.length > 1) {
      const others = element("ul", { class: "translations", "aria-label": "Also in this group" });
      group.slice(1).forEach(function (other) {
        const entry = element("li", { "data-doc": other.doc.id, "data-source": other.source }, [docLink(other.doc), " ", badges(other.doc)]);
        if (other.hits.length) entry.append(excerptNode(other.hits[0]));
        others.append(entry);
      });
      item.append(others);
    }
    return item;
  }

  runOnQuery(form, input, run);
  select.addEventListener("change", run);

  const initial = params();
  if (initial.get("lang") && names.has(initial.get("lang"))) select.value = initial.get("lang");
  if (initial.get("q")) {
    input.value = initial.get("q");
    run();
  }
})();
