/**
 * `lora gallery`: the page's data and the page itself (README "lora gallery"). Pure: the service (services/gallery.ts)
 * gathers the data and writes the files. The page is one static `index.html` that works from `file://` offline: its
 * CSS and JavaScript are inline, the data is embedded as JSON in a `<script type="application/json">` (every `<`
 * written `\u003c`, so no dataset text can end the script), and the page's script builds every element from that
 * data with `textContent` and attribute setters, never as HTML: a caption, tag or file name holding `<script>` or
 * `"` is shown as text and runs nothing.
 */
import {sep} from 'node:path'
import type {GenerationPrompt} from './generation-prompt.js'
import type {ImageStatus} from './state.js'

/** One image on the page. */
export interface GalleryImage {
  /** Its id (`img_0042`). */
  id: string
  /** Its file name in the output folder. */
  file: string
  /** The image file itself, as a URL relative to the page (the large view shows it, not the thumbnail). */
  src: string
  /** Its thumbnail, relative to the page (`thumbs/<sha256>-<size>.webp`), or null when none could be made. */
  thumb: string | null
  /** Size in pixels as displayed (EXIF orientation applied), as lora recorded it. */
  width: number
  height: number
  status: ImageStatus
  /**
   * Why it is shown as it is, for people: what is wrong with its file, or for a skipped image the reason `lora
   * curate --apply` recorded (else that none was); null when there is nothing to say.
   */
  reason: string | null
  /** The caption's tags in order (the trigger word first when one is set), as lora recorded them. */
  tags: string[]
  /** The prompt an image generator embedded in the file (README "lora show"), or null. */
  prompt: GenerationPrompt | null
  /** What is wrong with its files now (`missing`, `changed`, as `lora status` reports them); `[]` when nothing. */
  problems: {kind: string; reason: string}[]
}

/**
 * A group of images a curation analysis found belong together (near-duplicates), shown side by side. Optional: the
 * page shows the groups when the data has them.
 */
export interface GalleryGroup {
  /** What kind of group (`duplicates`, ...). */
  kind: string
  /** The ids of its images. */
  ids: string[]
  /** For people: why they are grouped, or null. */
  reason: string | null
}

/** One finding of a curation analysis about one image (blurry, too small, ...). Optional, as groups. */
export interface GalleryFinding {
  id: string
  /** The finding's kind, a filter of the page. */
  kind: string
  /** For people. */
  reason: string
}

/** Everything the page shows, embedded in it as JSON (the shape is documented in README "lora gallery"). */
export interface GalleryData {
  version: 1
  /** The dataset folder's name (not its path). */
  title: string
  trigger: string | null
  /** When the page was made (ISO 8601). */
  generatedAt: string
  /** Every tag on the page's images with its number of images, most used first (the chart and autocomplete). */
  tags: {tag: string; count: number}[]
  images: GalleryImage[]
  /** Curation groups (near-duplicates) when a curation analysis exists; absent otherwise. */
  groups?: GalleryGroup[]
  /** Curation findings when a curation analysis exists; absent otherwise. */
  findings?: GalleryFinding[]
}

/** The number of images each tag is on, most used first, then by tag; one spelling per tag as captions hold. */
export function tagFrequencies(images: readonly {tags: readonly string[]}[]): {tag: string; count: number}[] {
  const counts = new Map<string, number>()
  for (const image of images) for (const tag of new Set(image.tags)) counts.set(tag, (counts.get(tag) ?? 0) + 1)
  return [...counts]
    .map(([tag, count]) => ({tag, count}))
    .sort((a, b) => b.count - a.count || (a.tag < b.tag ? -1 : a.tag > b.tag ? 1 : 0))
}

/**
 * A relative file path as a URL path relative to the page: each segment percent-encoded (`#`, `?`, `%`, spaces and
 * non-ASCII are safe in it), joined with `/`.
 * @param relative the path relative to the page's folder, with the platform's separator
 */
export function relativeUrl(relative: string): string {
  return relative
    .split(sep)
    .map((part) => (part === '..' || part === '.' ? part : encodeURIComponent(part)))
    .join('/')
}

/** `text` with `& < > " '` as HTML character references: safe in element content and quoted attributes. */
export function escapeHtml(text: string): string {
  return text.replace(
    /[&<>"']/gu,
    (c) => ({'&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;'})[c] ?? c,
  )
}

/**
 * `value` as JSON for a `<script type="application/json">` element: `<`, `>` and `&` written as `\u003c`, `\u003e`,
 * `\u0026` (JSON escapes, so `JSON.parse` gives the same value) so that no text can close the element or open a
 * comment; U+2028 and U+2029 escaped too.
 */
export function embedJson(value: unknown): string {
  return JSON.stringify(value).replace(
    /[<>&\u2028\u2029]/gu,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  )
}

/** A parsed filter: tags every shown image must have, tags none may have, and words its id/file/caption must hold. */
export interface GalleryFilter {
  include: string[]
  exclude: string[]
  words: string[]
}

/**
 * Parses the page's filter box (`red hair -hat`): the words are read left to right, each run of words that spells a
 * known tag (case-insensitive; the longest run wins, so `red hair` is one tag when the dataset has it) is a tag to
 * include, or to exclude when it starts with `-`; commas end a run; other words are text to find in the image's id,
 * file name or caption (a leading `-` excludes images holding it... as a word only when it is not a tag: then it is
 * searched for). Runs in the page too (its source is embedded), so keep it self-contained: no imports, no closures
 * over module values, plain ES2020.
 * @param known the dataset's tags
 */
export function parseFilter(text: string, known: readonly string[]): GalleryFilter {
  const fold = (s: string): string => s.toLowerCase().replace(/\s+/g, ' ').trim()
  // Keyed by dataset text: no prototype, so a tag `constructor` or `__proto__` is a tag like any other.
  const tags: Record<string, string> = Object.create(null) as Record<string, string>
  let longest = 1
  for (const t of known) {
    const folded = fold(t)
    tags[folded] = t
    longest = Math.max(longest, folded.split(' ').length)
  }
  const filter: GalleryFilter = {include: [], exclude: [], words: []}
  for (const part of text.split(',')) {
    const words = part.split(/\s+/).filter((w) => w !== '')
    let i = 0
    while (i < words.length) {
      const negative = words[i].startsWith('-') && words[i].length > 1
      const first = negative ? words[i].slice(1) : words[i]
      let matched = 0
      for (let n = Math.min(longest, words.length - i); n >= 1 && matched === 0; n--) {
        const candidate = fold([first, ...words.slice(i + 1, i + n)].join(' '))
        if (Object.prototype.hasOwnProperty.call(tags, candidate)) {
          if (negative) filter.exclude.push(tags[candidate])
          else filter.include.push(tags[candidate])
          matched = n
        }
      }
      if (matched === 0) {
        filter.words.push(fold(words[i]))
        matched = 1
      }
      i += matched
    }
  }
  return filter
}

/**
 * Whether an image passes a parsed filter: it has every included tag and no excluded one (case-insensitive), and
 * its id, file name or caption holds every word (case-insensitive). Runs in the page too (see parseFilter).
 */
export function matchesFilter(
  image: {id: string; file: string; tags: readonly string[]},
  filter: GalleryFilter,
): boolean {
  const has: Record<string, boolean> = Object.create(null) as Record<string, boolean>
  for (const t of image.tags) has[t.toLowerCase()] = true
  for (const t of filter.include) if (!has[t.toLowerCase()]) return false
  for (const t of filter.exclude) if (has[t.toLowerCase()]) return false
  const text = (image.id + '\n' + image.file + '\n' + image.tags.join(', ')).toLowerCase()
  for (const w of filter.words) if (!text.includes(w)) return false
  return true
}

/**
 * The whole page: one HTML document holding its CSS, its script and `data` (as JSON). Works from `file://` with no
 * network: nothing is loaded but the thumbnails and images `data` names, relative to the page.
 */
export function galleryPage(data: GalleryData): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; img-src 'self' file: data:; style-src 'unsafe-inline'; script-src 'unsafe-inline'">
<meta name="referrer" content="no-referrer">
<title>${escapeHtml(data.title)} · lora gallery</title>
<style>${PAGE_CSS}</style>
</head>
<body>
<header>
  <h1><span id="title"></span> <small id="count"></small></h1>
  <div class="controls">
    <div class="filterbox">
      <input id="filter" type="search" autocomplete="off" spellcheck="false" placeholder="Filter: red hair -hat   ( / )" aria-label="Filter by tags (prefix - to exclude) or text">
      <ul id="suggest" role="listbox" hidden></ul>
    </div>
    <select id="status" aria-label="Status">
      <option value="">every status</option>
      <option value="tagged">tagged</option>
      <option value="auto">auto</option>
      <option value="skipped">skipped</option>
      <option value="pending">pending</option>
      <option value="problems">with problems</option>
    </select>
    <select id="finding" aria-label="Curation finding" hidden><option value="">every finding</option></select>
  </div>
</header>
<main>
  <section id="grid" aria-label="Images"></section>
  <div id="more" aria-hidden="true"></div>
  <p id="empty" hidden>No image matches.</p>
  <section id="groups" hidden><h2>Duplicate groups</h2><div id="group-list"></div></section>
  <section id="chart-box"><h2>Tags</h2><div id="chart"></div></section>
</main>
<dialog id="viewer" aria-label="Image">
  <div class="viewer-body">
    <img id="large" alt="">
    <aside>
      <h2 id="v-id"></h2>
      <p id="v-meta"></p>
      <p id="v-status"></p>
      <ul id="v-tags" class="chips"></ul>
      <div id="v-prompt"></div>
      <ul id="v-problems"></ul>
      <p class="keys">← → previous / next · Esc closes</p>
    </aside>
  </div>
</dialog>
<script type="application/json" id="gallery-data">${embedJson(data)}</script>
<script>
"use strict";
var parseFilter = ${parseFilter.toString()};
var matchesFilter = ${matchesFilter.toString()};
${PAGE_SCRIPT}
</script>
</body>
</html>
`
}

/**
 * The code of the page (its HTML frame, CSS and script) as one string: what a page made by this version of lora
 * looks like apart from its data. The gallery writes a page again when this changes (services/gallery.ts).
 */
export function pageTemplate(): string {
  return galleryPage.toString() + PAGE_CSS + PAGE_SCRIPT + parseFilter.toString() + matchesFilter.toString()
}

const PAGE_CSS = `
:root { color-scheme: light dark; --bg: #f6f6f4; --fg: #1d1d1f; --muted: #6b6b70; --card: #fff; --line: #d9d9de;
  --accent: #2f6fde; --tagged: #1f8a4c; --auto: #9a6a00; --skipped: #8a8a8f; --pending: #2f6fde; --bad: #c62828; }
@media (prefers-color-scheme: dark) { :root { --bg: #151517; --fg: #ececf0; --muted: #9c9ca4; --card: #222226;
  --line: #3a3a40; --accent: #7aa7ff; --tagged: #5fd08f; --auto: #e0b44c; --skipped: #9c9ca4; --pending: #7aa7ff;
  --bad: #ff7b72; } }
* { box-sizing: border-box; }
body { margin: 0; background: var(--bg); color: var(--fg); font: 14px/1.4 system-ui, sans-serif; }
header { position: sticky; top: 0; z-index: 2; background: var(--bg); border-bottom: 1px solid var(--line);
  padding: 8px 16px; display: flex; flex-wrap: wrap; gap: 8px 24px; align-items: center; }
h1 { font-size: 18px; margin: 0; } h1 small { color: var(--muted); font-weight: normal; font-size: 13px; }
h2 { font-size: 15px; margin: 16px 0 8px; }
.controls { display: flex; gap: 8px; flex: 1; flex-wrap: wrap; }
.filterbox { position: relative; flex: 1; min-width: 240px; }
input, select { font: inherit; color: inherit; background: var(--card); border: 1px solid var(--line);
  border-radius: 6px; padding: 6px 8px; }
#filter { width: 100%; }
#suggest { position: absolute; left: 0; right: 0; top: 100%; margin: 2px 0 0; padding: 4px 0; list-style: none;
  background: var(--card); border: 1px solid var(--line); border-radius: 6px; max-height: 260px; overflow: auto; }
#suggest li { padding: 3px 10px; cursor: pointer; display: flex; justify-content: space-between; gap: 8px; }
#suggest li[aria-selected="true"], #suggest li:hover { background: var(--accent); color: #fff; }
#suggest .n { opacity: .7; }
main { padding: 12px 16px 32px; }
#grid { display: grid; grid-template-columns: repeat(auto-fill, minmax(200px, 1fr)); gap: 12px; }
.card { background: var(--card); border: 1px solid var(--line); border-radius: 8px; overflow: hidden; cursor: pointer;
  display: flex; flex-direction: column; outline: none; }
.card:focus, .card:hover { border-color: var(--accent); box-shadow: 0 0 0 2px var(--accent); }
.card .frame { position: relative; aspect-ratio: 1; overflow: hidden; background: var(--bg); }
.card img { position: absolute; inset: 0; width: 100%; height: 100%; object-fit: contain; display: block; }
.card .meta { padding: 6px 8px; display: flex; flex-direction: column; gap: 2px; }
.card .top { display: flex; justify-content: space-between; gap: 6px; font-weight: 600; }
.card .caption { color: var(--muted); font-size: 12px; overflow: hidden; display: -webkit-box; -webkit-line-clamp: 3;
  -webkit-box-orient: vertical; overflow-wrap: anywhere; }
.card .reason { color: var(--bad); font-size: 12px; overflow-wrap: anywhere; }
.badge { font-size: 11px; font-weight: 600; border-radius: 4px; padding: 0 5px; border: 1px solid currentColor; }
.s-tagged { color: var(--tagged); } .s-auto { color: var(--auto); } .s-skipped { color: var(--skipped); }
.s-pending { color: var(--pending); }
#groups .group { display: flex; gap: 8px; overflow-x: auto; padding: 8px; margin-bottom: 8px;
  border: 1px solid var(--line); border-radius: 8px; background: var(--card); }
#groups .group .card { flex: 0 0 180px; }
#chart .bar { display: grid; grid-template-columns: minmax(100px, 220px) 1fr 48px; gap: 8px; align-items: center;
  cursor: pointer; padding: 1px 0; }
#chart .bar span:first-child { overflow: hidden; text-overflow: ellipsis; white-space: nowrap; text-align: right; }
#chart .fill { height: 12px; background: var(--accent); border-radius: 3px; min-width: 2px; }
#chart .bar:hover span:first-child { text-decoration: underline; }
dialog { padding: 0; border: 1px solid var(--line); border-radius: 10px; background: var(--card); color: var(--fg);
  max-width: 96vw; max-height: 94vh; width: 96vw; }
dialog::backdrop { background: rgba(0, 0, 0, .6); }
.viewer-body { display: flex; gap: 16px; max-height: 94vh; }
.viewer-body img { width: 65%; height: 88vh; object-fit: contain; align-self: center; margin: 8px; }
.viewer-body aside { flex: 1; overflow: auto; padding: 8px 16px 16px 0; overflow-wrap: anywhere; }
.chips { list-style: none; padding: 0; display: flex; flex-wrap: wrap; gap: 4px; }
.chips li { border: 1px solid var(--line); border-radius: 10px; padding: 1px 8px; }
.keys, #v-meta { color: var(--muted); font-size: 12px; }
.prompt { white-space: pre-wrap; font-family: ui-monospace, monospace; font-size: 12px; background: var(--bg);
  padding: 6px; border-radius: 6px; }
#v-problems { color: var(--bad); }
`

/** The page's script (plain ES2020; `parseFilter` and `matchesFilter` are embedded before it). */
const PAGE_SCRIPT = `
var data = JSON.parse(document.getElementById('gallery-data').textContent);
var $ = function (id) { return document.getElementById(id); };
var el = function (tag, className, text) {
  var node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
};
/* Every object keyed by dataset text (ids, tags) has no prototype: an id or tag "constructor" or "__proto__"
   (a dataset may come from a stranger) is a key like any other, not Object.prototype's. */
var byId = Object.create(null);
data.images.forEach(function (image) { byId[image.id] = image; });
var knownTags = data.tags.map(function (t) { return t.tag; });
var findingsOf = Object.create(null);
(data.findings || []).forEach(function (f) { (findingsOf[f.id] = findingsOf[f.id] || []).push(f); });
var visible = [];
var current = -1;

$('title').textContent = data.title;
document.title = data.title + ' \\u00b7 lora gallery';

/* The image file itself, unless lora found no regular file there when it wrote the page (gone, or a link or a FIFO
   in its place): the browser would follow the link (out of the dataset, to a file of the user's) or wait on the
   FIFO for good, holding up every other image of the page. */
function fileOf(image) {
  return image.problems.some(function (p) { return p.kind === 'missing'; }) ? null : image.src;
}
function thumbOf(image) { return image.thumb || fileOf(image); }

function card(image) {
  var c = el('article', 'card');
  c.tabIndex = 0;
  c.dataset.id = image.id;
  c.dataset.status = image.status;
  var frame = el('div', 'frame');
  var img = el('img');
  img.loading = 'lazy';
  img.decoding = 'async';
  img.alt = image.id;
  if (thumbOf(image)) img.src = thumbOf(image);
  frame.appendChild(img);
  c.appendChild(frame);
  var meta = el('div', 'meta');
  var top = el('div', 'top');
  top.appendChild(el('span', 'id', image.id));
  top.appendChild(el('span', 'badge s-' + image.status, image.status));
  meta.appendChild(top);
  meta.appendChild(el('div', 'caption', image.tags.length ? image.tags.join(', ') : '(no tags)'));
  var why = reasonOf(image);
  if (why) meta.appendChild(el('div', 'reason', why));
  c.appendChild(meta);
  c.addEventListener('click', function () { openImage(image.id); });
  return c;
}

function reasonOf(image) {
  var parts = [];
  if (image.reason) parts.push(image.reason);
  (findingsOf[image.id] || []).forEach(function (f) { parts.push(f.kind + ': ' + f.reason); });
  return parts.join('; ');
}

function passes(image, filter, status, finding) {
  if (status === 'problems') { if (!image.problems.length) return false; }
  else if (status && image.status !== status) return false;
  if (finding && !(findingsOf[image.id] || []).some(function (f) { return f.kind === finding; })) return false;
  return matchesFilter(image, filter);
}

function render() {
  var filter = parseFilter($('filter').value, knownTags);
  var status = $('status').value;
  var finding = $('finding').value;
  visible = data.images.filter(function (image) { return passes(image, filter, status, finding); });
  var grid = $('grid');
  grid.replaceChildren();
  shown = 0;
  showMore();
  fill();
  $('empty').hidden = visible.length > 0;
  $('count').textContent = visible.length === data.images.length
    ? data.images.length + ' images'
    : visible.length + ' of ' + data.images.length + ' images';
  renderChart(visible);
}

/* Cards are added a chunk at a time, the next when the end of the grid comes into view (or the keyboard goes past
   it), so that a dataset of many thousands of images filters as fast as a small one. */
var CHUNK = 400;
var shown = 0;
function showMore() {
  if (shown >= visible.length) return false;
  var grid = $('grid');
  var end = Math.min(visible.length, shown + CHUNK);
  var fragment = document.createDocumentFragment();
  for (var i = shown; i < end; i++) fragment.appendChild(card(visible[i]));
  grid.appendChild(fragment);
  shown = end;
  return true;
}
/* More cards while the end of the grid is within a screen of the view. */
function fill() {
  while ($('more').getBoundingClientRect().top < window.innerHeight * 2 && showMore()) {}
}
if (window.IntersectionObserver) {
  new IntersectionObserver(function (entries) {
    if (entries.some(function (e) { return e.isIntersecting; })) fill();
  }, {rootMargin: '100% 0px'}).observe($('more'));
}

function renderChart(images) {
  var counts = Object.create(null);
  images.forEach(function (image) { image.tags.forEach(function (t) { counts[t] = (counts[t] || 0) + 1; }); });
  var rows = Object.keys(counts).map(function (t) { return {tag: t, count: counts[t]}; })
    .sort(function (a, b) { return b.count - a.count || (a.tag < b.tag ? -1 : 1); }).slice(0, 40);
  var max = rows.length ? rows[0].count : 1;
  var chart = $('chart');
  chart.replaceChildren.apply(chart, rows.map(function (row) {
    var bar = el('div', 'bar');
    bar.title = 'Filter by ' + row.tag;
    bar.appendChild(el('span', '', row.tag));
    var fill = el('div', 'fill');
    fill.style.width = (100 * row.count / max) + '%';
    bar.appendChild(fill);
    bar.appendChild(el('span', '', String(row.count)));
    bar.addEventListener('click', function () { addTerm(row.tag); });
    return bar;
  }));
  $('chart-box').hidden = rows.length === 0;
}

function addTerm(tag) {
  var f = $('filter');
  f.value = (f.value.trim() ? f.value.trim() + ' ' : '') + tag + ' ';
  render();
}

function renderGroups() {
  var groups = data.groups || [];
  $('groups').hidden = groups.length === 0;
  var list = $('group-list');
  list.replaceChildren.apply(list, groups.map(function (group) {
    var box = el('div', 'group');
    box.title = group.kind + (group.reason ? ': ' + group.reason : '');
    group.ids.forEach(function (id) { if (byId[id]) box.appendChild(card(byId[id])); });
    return box;
  }));
  var kinds = Object.create(null);
  (data.findings || []).forEach(function (f) { kinds[f.kind] = (kinds[f.kind] || 0) + 1; });
  var select = $('finding');
  Object.keys(kinds).sort().forEach(function (kind) {
    var option = el('option', '', kind + ' (' + kinds[kind] + ')');
    option.value = kind;
    select.appendChild(option);
  });
  select.hidden = Object.keys(kinds).length === 0;
}

function openImage(id) {
  var image = byId[id];
  if (!image) return;
  current = visible.indexOf(image);
  var large = $('large');
  if (fileOf(image)) large.src = fileOf(image);
  else large.removeAttribute('src');
  large.alt = image.id;
  $('v-id').textContent = image.id;
  $('v-meta').textContent = image.file + ' \\u00b7 ' + image.width + '\\u00d7' + image.height + ' px';
  $('v-status').replaceChildren(el('span', 'badge s-' + image.status, image.status));
  var why = reasonOf(image);
  if (why) $('v-status').appendChild(document.createTextNode(' ' + why));
  var tags = $('v-tags');
  tags.replaceChildren.apply(tags, image.tags.map(function (t) {
    var chip = el('li', '', t);
    if (t === data.trigger) chip.title = 'trigger word';
    return chip;
  }));
  var prompt = $('v-prompt');
  prompt.replaceChildren();
  if (image.prompt) {
    prompt.appendChild(el('h2', '', 'Prompt (' + image.prompt.generator + ')'));
    prompt.appendChild(el('div', 'prompt', image.prompt.positive));
    if (image.prompt.negative) {
      prompt.appendChild(el('h2', '', 'Negative prompt'));
      prompt.appendChild(el('div', 'prompt', image.prompt.negative));
    }
  }
  var problems = $('v-problems');
  problems.replaceChildren.apply(problems, image.problems.map(function (p) { return el('li', '', p.kind + ': ' + p.reason); }));
  var viewer = $('viewer');
  if (!viewer.open) viewer.showModal();
}

function step(delta) {
  if (!visible.length) return;
  var next = Math.max(0, Math.min(visible.length - 1, current + delta));
  openImage(visible[next].id);
}

function cards() { return Array.prototype.slice.call($('grid').querySelectorAll('.card')); }

function moveFocus(key) {
  var all = cards();
  var at = all.indexOf(document.activeElement);
  if (at < 0) { if (all.length) all[0].focus(); return; }
  var columns = 1;
  while (columns < all.length && all[columns].offsetTop === all[0].offsetTop) columns++;
  var delta = {ArrowLeft: -1, ArrowRight: 1, ArrowUp: -columns, ArrowDown: columns}[key];
  if (at + delta >= all.length && showMore()) all = cards();
  var target = all[Math.max(0, Math.min(all.length - 1, at + delta))];
  target.focus();
  target.scrollIntoView({block: 'nearest'});
}

/* Autocomplete: the longest run of trailing words (up to four) that begins a known tag. */
var choices = [];
var chosen = -1;
function fragment() {
  var value = $('filter').value;
  if (/[\\s,]$/.test(value)) return null;
  var tail = value.split(',').pop();
  var words = tail.split(/\\s+/).filter(function (w) { return w !== ''; });
  for (var n = Math.min(4, words.length); n >= 1; n--) {
    var run = words.slice(words.length - n);
    var negative = run[0].charAt(0) === '-';
    var text = (negative ? run[0].slice(1) : run[0]) + (n > 1 ? ' ' + run.slice(1).join(' ') : '');
    var folded = text.toLowerCase();
    if (!folded) continue;
    var found = data.tags.filter(function (t) { return t.tag.toLowerCase().indexOf(folded) === 0; });
    if (n === 1) {
      found = found.concat(data.tags.filter(function (t) {
        var tag = t.tag.toLowerCase();
        return tag.indexOf(folded) > 0 && found.indexOf(t) < 0;
      }));
    }
    if (found.length) {
      var start = value.length - text.length - (negative ? 1 : 0);
      return {start: start, negative: negative, found: found.slice(0, 10)};
    }
  }
  return null;
}
function showSuggestions() {
  var frag = fragment();
  var list = $('suggest');
  choices = frag ? frag.found : [];
  chosen = -1;
  list.replaceChildren.apply(list, choices.map(function (t, i) {
    var item = el('li');
    item.setAttribute('role', 'option');
    item.appendChild(el('span', '', t.tag));
    item.appendChild(el('span', 'n', String(t.count)));
    item.addEventListener('mousedown', function (event) { event.preventDefault(); accept(i); });
    return item;
  }));
  list.hidden = choices.length === 0;
}
function highlight(i) {
  chosen = i;
  Array.prototype.forEach.call($('suggest').children, function (item, k) {
    item.setAttribute('aria-selected', String(k === i));
  });
}
function accept(i) {
  var frag = fragment();
  if (!frag || !choices[i]) return;
  var f = $('filter');
  f.value = f.value.slice(0, frag.start) + (frag.negative ? '-' : '') + choices[i].tag + ' ';
  $('suggest').hidden = true;
  choices = [];
  render();
  f.focus();
}

$('filter').addEventListener('input', function () { render(); showSuggestions(); });
$('filter').addEventListener('blur', function () { $('suggest').hidden = true; });
$('filter').addEventListener('keydown', function (event) {
  var open = !$('suggest').hidden && choices.length > 0;
  if (event.key === 'ArrowDown' && open) { event.preventDefault(); highlight((chosen + 1) % choices.length); }
  else if (event.key === 'ArrowUp' && open) { event.preventDefault(); highlight((chosen - 1 + choices.length) % choices.length); }
  else if ((event.key === 'Enter' || event.key === 'Tab') && open && (chosen >= 0 || event.key === 'Tab')) {
    event.preventDefault(); accept(chosen >= 0 ? chosen : 0);
  } else if (event.key === 'Escape') {
    event.preventDefault();
    if (open) $('suggest').hidden = true; else $('filter').blur();
  } else if (event.key === 'Enter' || (event.key === 'ArrowDown' && !open)) {
    event.preventDefault();
    var first = cards()[0];
    if (first) first.focus();
  }
});
$('status').addEventListener('change', render);
$('finding').addEventListener('change', render);
$('viewer').addEventListener('click', function (event) { if (event.target === $('viewer')) $('viewer').close(); });
document.addEventListener('keydown', function (event) {
  var viewer = $('viewer');
  if (viewer.open) {
    if (event.key === 'ArrowRight') { event.preventDefault(); step(1); }
    else if (event.key === 'ArrowLeft') { event.preventDefault(); step(-1); }
    return;
  }
  var target = event.target;
  if (target instanceof HTMLInputElement || target instanceof HTMLSelectElement) return;
  if (event.key === '/') { event.preventDefault(); $('filter').focus(); }
  else if (event.key === 'Enter' && target.classList && target.classList.contains('card')) {
    event.preventDefault(); openImage(target.dataset.id);
  } else if (/^Arrow/.test(event.key)) { event.preventDefault(); moveFocus(event.key); }
  else if (event.key === 'Escape' && $('filter').value) { $('filter').value = ''; render(); }
});
$('viewer').addEventListener('close', function () {
  // Back to the image's card, unless a key pressed meanwhile (\`/\`) moved the focus elsewhere.
  var active = document.activeElement;
  if (active && active !== document.body && !$('viewer').contains(active)) return;
  var image = visible[current];
  var node = image && $('grid').querySelector('.card[data-id="' + CSS.escape(image.id) + '"]');
  if (node) node.focus();
});

renderGroups();
render();
`
