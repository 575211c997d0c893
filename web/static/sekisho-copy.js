// Copy and print buttons of the recovery-codes page. The page works
// without this file: the codes are plain text, the buttons stay hidden.
'use strict';
document.addEventListener('DOMContentLoaded', () => {
  for (const el of document.querySelectorAll('.js-only')) el.hidden = false;
  const copy = document.querySelector('[data-copy]');
  if (copy) {
    copy.addEventListener('click', async () => {
      const list = document.getElementById(copy.dataset.copy);
      const text = [...list.querySelectorAll('code')].map((c) => c.textContent).join('\n');
      try {
        await navigator.clipboard.writeText(text + '\n');
        copy.textContent = copy.dataset.done;
      } catch (e) {
        const r = document.createRange();
        r.selectNodeContents(list);
        const s = window.getSelection();
        s.removeAllRanges();
        s.addRange(r);
      }
    });
  }
  const print = document.querySelector('[data-print]');
  if (print) print.addEventListener('click', () => window.print());
});
