/* The handbook's own address in "copy as an issue comment" blocks.
 *
 * A build that knows where it is published (HANDBOOK_SITE_URL) writes the address into the
 * page. Without one, the page keeps the mark "<handbook>/" and a
 * <meta name="handbook-root"> with the relative way to the site root; this script puts the
 * address the reader opened the page at in place of the mark, so what the copy button copies
 * is a link that works. (runbook_exec/site/head.py: ADDRESS_MARK, root_meta.)
 */
(function () {
  "use strict";
  var MARK = "<handbook>/";
  var meta = document.querySelector('meta[name="handbook-root"]');
  if (!meta) return;
  var root = new URL(meta.getAttribute("content"), window.location.href).href;
  document.querySelectorAll("pre code").forEach(function (code) {
    // the highlighter may split the mark over several spans: replace on the whole text
    if (code.textContent.indexOf(MARK) >= 0) {
      code.textContent = code.textContent.split(MARK).join(root);
    }
  });
})();
