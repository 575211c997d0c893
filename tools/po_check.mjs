#!/usr/bin/env node
// The catalogue check (docs/pages.md), run by ctest as pages_catalog:
// every message the pages use, {{_ "..."}} in web/templates/*.html and
// N_("...") in the C code (broker/, web/, providers/), has an entry in po/ja.po and po/en.po; ja.po
// has no empty or fuzzy translation; each translation keeps the
// message's {placeholders}; no catalogue holds a message nothing uses.
//   node tools/po_check.mjs            check (exit 1 on a problem)
//   node tools/po_check.mjs --missing  print the missing entries as .po text
import fs from 'node:fs';
import path from 'node:path';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');

function unescapeC(s) {
  return s.replace(/\\(["\\nt])/g, (_, c) => ({ n: '\n', t: '\t' })[c] ?? c);
}

export function usedMessages() {
  const used = new Map(); // msgid -> where
  const tdir = path.join(root, 'web/templates');
  for (const f of fs.readdirSync(tdir).filter((f) => f.endsWith('.html'))) {
    const text = fs.readFileSync(path.join(tdir, f), 'utf8');
    for (const m of text.matchAll(/\{\{_ "(.*?)"\}\}/gs)) used.set(m[1], `web/templates/${f}`);
  }
  for (const dir of ['broker', 'web', 'providers']) {
    for (const f of fs.readdirSync(path.join(root, dir)).filter((f) => f.endsWith('.c'))) {
      const text = fs.readFileSync(path.join(root, dir, f), 'utf8');
      for (const m of text.matchAll(/\bN_\(((?:\s*"(?:[^"\\]|\\.)*")+)\s*\)/g)) {
        const id = [...m[1].matchAll(/"((?:[^"\\]|\\.)*)"/g)].map((x) => unescapeC(x[1])).join('');
        used.set(id, `${dir}/${f}`);
      }
    }
  }
  return used;
}

function poString(lines, i) {
  // "msgid "..."" followed by continuation lines "..."
  let s = JSON.parse(lines[i].replace(/^msg(id|str) /, ''));
  let j = i + 1;
  while (j < lines.length && lines[j].startsWith('"')) s += JSON.parse(lines[j++]);
  return [s, j];
}

export function readPo(file) {
  const lines = fs.readFileSync(file, 'utf8').split('\n');
  const out = new Map();
  let fuzzy = false;
  for (let i = 0; i < lines.length;) {
    if (lines[i].startsWith('#,') && lines[i].includes('fuzzy')) fuzzy = true;
    if (lines[i].startsWith('msgid ')) {
      const [id, j] = poString(lines, i);
      const [str, k] = poString(lines, j);
      if (id !== '') out.set(id, { str, fuzzy });
      fuzzy = false;
      i = k;
      continue;
    }
    i++;
  }
  return out;
}

const placeholders = (s) => [...s.matchAll(/\{([a-z0-9_]+)\}/g)].map((m) => m[1]).sort().join(',');

export function check() {
  const used = usedMessages();
  const problems = [];
  for (const lang of ['ja', 'en']) {
    const po = readPo(path.join(root, 'po', `${lang}.po`));
    for (const [id, where] of used) {
      const e = po.get(id);
      if (!e) { problems.push(`po/${lang}.po: missing ${JSON.stringify(id)} (${where})`); continue; }
      if (lang === 'ja' && (e.str === '' || e.fuzzy)) problems.push(`po/ja.po: untranslated ${JSON.stringify(id)}`);
      if (e.str !== '' && placeholders(e.str) !== placeholders(id)) {
        problems.push(`po/${lang}.po: placeholders differ in ${JSON.stringify(id)}`);
      }
    }
    for (const id of po.keys()) if (!used.has(id)) problems.push(`po/${lang}.po: unused ${JSON.stringify(id)}`);
  }
  return { used, problems };
}

if (process.argv[1] === new URL(import.meta.url).pathname) {
  const { used, problems } = check();
  if (process.argv.includes('--missing')) {
    const po = readPo(path.join(root, 'po', `${process.argv[3] ?? 'ja'}.po`));
    for (const [id, where] of used) {
      if (!po.has(id)) process.stdout.write(`#: ${where}\nmsgid ${JSON.stringify(id)}\nmsgstr ""\n\n`);
    }
    process.exit(0);
  }
  for (const p of problems) console.error(p);
  console.log(`${used.size} messages; ${problems.length} problems`);
  process.exit(problems.length ? 1 : 0);
}
