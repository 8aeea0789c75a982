// Mentions in the comment fields (templates/includes/comments.html). Without this file the field
// still works: people type "@" and a name, and the page lists who can be mentioned.
"use strict";

(() => {
  if (window.portalComments) {
    return;
  }
  window.portalComments = true;

  // The suggestions are asked for the text up to the caret, so a mention typed mid-text is completed too.
  document.addEventListener("htmx:configRequest", (event) => {
    const field = event.detail.elt;
    if (field instanceof HTMLTextAreaElement && field.hasAttribute("data-mentions")) {
      event.detail.parameters.body = field.value.slice(0, field.selectionEnd);
    }
  });

  // <button data-mention="Jan Peeters" data-mention-for="field id">: replaces the "@..." being typed.
  document.addEventListener("click", (event) => {
    const button = event.target.closest("[data-mention]");
    if (!button) {
      return;
    }
    const field = document.getElementById(button.dataset.mentionFor);
    if (!field) {
      return;
    }
    const caret = field.selectionEnd;
    const before = field.value.slice(0, caret);
    const at = before.lastIndexOf("@");
    const start = at >= 0 ? at : caret;
    const inserted = `@${button.dataset.mention} `;
    field.value = field.value.slice(0, start) + inserted + field.value.slice(caret);
    field.focus();
    field.setSelectionRange(start + inserted.length, start + inserted.length);
    const list = document.getElementById(`${field.id}-suggestions`);
    if (list) {
      list.replaceChildren();
    }
  });
})();
