// Message bodies are Markdown source. markdown-it parses them (raw HTML disabled); this module
// turns its tokens into Preact elements, so no string from a body is ever parsed as HTML.
// Links keep only http, https and mailto targets.

import { h } from './vendor/htm-preact-standalone-3.1.1.mjs';
import markdownit from './vendor/markdown-it-15.0.3.esm.min.mjs';
import { withShortcodes } from './emoji.js';

const md = markdownit({ html: false, linkify: true, breaks: true, typographer: false });
// Chat text: "#general" at the start of a line is not a heading, indented text is not code.
md.disable(['heading', 'lheading', 'code', 'table', 'hr', 'image', 'reference', 'html_block',
  'html_inline', 'entity']);

const BLOCK_TAGS = {
  paragraph_open: 'p', blockquote_open: 'blockquote', bullet_list_open: 'ul',
  ordered_list_open: 'ol', list_item_open: 'li',
};
const INLINE_TAGS = { strong_open: 'strong', em_open: 'em', s_open: 's' };
const SAFE_LINK = /^(https?:|mailto:)/i;
const MENTION = /(^|[^\w@])(@[A-Za-z0-9._-]{1,32})/g;

// `terms`: lower-case words to mark (a search's), else null.
function marked(text, terms) {
  if (!terms || !terms.length) return [text];
  const lower = text.toLowerCase();
  const out = [];
  let last = 0;
  for (;;) {
    let at = -1;
    let length = 0;
    for (const term of terms) {
      const found = lower.indexOf(term, last);
      if (found !== -1 && (at === -1 || found < at)) {
        at = found;
        length = term.length;
      }
    }
    if (at === -1 || !length) break;
    out.push(text.slice(last, at), h('mark', { class: 'match' }, text.slice(at, at + length)));
    last = at + length;
  }
  out.push(text.slice(last));
  return out;
}

function highlight(raw, names, terms, others) {
  const text = withShortcodes(raw);
  if (!names || !text.includes('@')) return marked(text, terms);
  const out = [];
  let last = 0;
  for (const match of text.matchAll(MENTION)) {
    const name = match[2].slice(1).toLowerCase().replace(/[.\-_]+$/, '');
    const mine = names.has(name);
    if (!mine && !(others && others.has(name))) continue;
    const start = match.index + match[1].length;
    out.push(...marked(text.slice(last, start), terms));
    out.push(h('mark', { class: mine ? 'mention' : 'mention other' }, match[2]));
    last = start + match[2].length;
  }
  out.push(...marked(text.slice(last), terms));
  return out;
}

function inline(tokens, names, terms, others) {
  const root = { children: [] };
  const stack = [root];
  const top = () => stack[stack.length - 1];
  for (const token of tokens) {
    if (INLINE_TAGS[token.type]) {
      stack.push({ tag: INLINE_TAGS[token.type], props: null, children: [] });
    } else if (token.type === 'link_open') {
      const href = token.attrGet('href') || '';
      const props = SAFE_LINK.test(href)
        ? { href, target: '_blank', rel: 'noopener noreferrer' }
        : null;
      stack.push({ tag: props ? 'a' : 'span', props, children: [] });
    } else if (token.nesting === -1) {
      const node = stack.pop();
      top().children.push(h(node.tag, node.props, node.children));
    } else if (token.type === 'text') {
      top().children.push(...highlight(token.content, names, terms, others));
    } else if (token.type === 'code_inline') {
      top().children.push(h('code', null, token.content));
    } else if (token.type === 'softbreak' || token.type === 'hardbreak') {
      top().children.push(h('br', null));
    } else if (token.content) {
      top().children.push(token.content);
    }
  }
  while (stack.length > 1) {
    const node = stack.pop();
    top().children.push(h(node.tag, node.props, node.children));
  }
  return root.children;
}

// In chat a `>` line quotes that line only: the text after it is the writer's answer, not
// (as CommonMark's lazy continuation has it) more of the quote. Fenced code is left alone.
function endQuotes(source) {
  const lines = source.split('\n');
  let fenced = false;
  const out = [];
  lines.forEach((line, i) => {
    if (/^\s*(```|~~~)/.test(line)) fenced = !fenced;
    out.push(line);
    const next = lines[i + 1];
    if (!fenced && /^\s*>/.test(line) && next !== undefined && next.trim() && !/^\s*>/.test(next)) out.push('');
  });
  return out.join('\n');
}

// `names`: lower-case usernames highlighted as the reader's (theirs, "all" and "channel");
// `terms`: lower-case search words to mark, if any; `others`: lower-case usernames of the
// other people the message mentions (marked more quietly).
export function renderMarkdown(source, names, terms = null, others = null) {
  const tokens = md.parse(endQuotes(source), {});
  const root = { children: [] };
  const stack = [root];
  const top = () => stack[stack.length - 1];
  for (const token of tokens) {
    if (token.type === 'inline') {
      top().children.push(...inline(token.children || [], names, terms, others));
    } else if (token.type === 'fence' || token.type === 'code_block') {
      const lang = (token.info || '').trim().split(/\s+/)[0];
      const props = lang ? { class: `language-${lang.replace(/[^\w-]/g, '')}` } : null;
      top().children.push(h('pre', null, h('code', props, token.content.replace(/\n$/, ''))));
    } else if (token.nesting === 1) {
      const start = token.attrGet('start');
      stack.push({
        tag: BLOCK_TAGS[token.type] || 'div', hidden: token.hidden,
        props: start ? { start } : null, children: [],
      });
    } else if (token.nesting === -1) {
      const node = stack.pop();
      if (node.hidden) top().children.push(...node.children);
      else top().children.push(h(node.tag, node.props, node.children));
    }
  }
  return root.children;
}
