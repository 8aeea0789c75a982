// Small behaviours for the portal. No inline scripts: the CSP allows only files from this site.
"use strict";

document.addEventListener("click", (event) => {
  // <button data-copy="text">: copy to the clipboard and say so.
  const copyButton = event.target.closest("[data-copy]");
  if (copyButton) {
    navigator.clipboard.writeText(copyButton.dataset.copy).then(() => {
      const label = copyButton.querySelector("[data-copy-label]") || copyButton;
      const original = label.textContent;
      label.textContent = copyButton.dataset.copiedText || "Copied";
      setTimeout(() => { label.textContent = original; }, 1500);
    });
  }
  // <button data-confirm="question">: ask before submitting.
  const confirmButton = event.target.closest("[data-confirm]");
  if (confirmButton && !window.confirm(confirmButton.dataset.confirm)) {
    event.preventDefault();
  }
});

// The language menu goes back to the address the page shows when it is used: filters and pages
// drawn by HTMX push their address after the menu was drawn with the first one.
document.addEventListener("submit", (event) => {
  const next = event.target.querySelector("input[data-current-address]");
  if (next) {
    next.value = window.location.pathname + window.location.search;
  }
});

// The app info form's preview: the badge and icon as Clearfacts will show them. Styles are set
// through the DOM (allowed by the CSP), never as inline style attributes.
function updateBadgePreview(form) {
  const value = (name) => (form.querySelector(`[name="${name}"]`) || {}).value || "";
  const badge = document.querySelector("[data-preview-badge]");
  const icon = document.querySelector("[data-preview-icon]");
  if (!badge || !icon) {
    return;
  }
  badge.textContent = value("badge_text") || badge.dataset.placeholder;
  badge.style.color = value("badge_text_color");
  badge.style.backgroundColor = value("badge_color") || "#6c757d";
  icon.className = `bi fs-3 bi-${(value("icon_type") || "app").replace(/[^a-z0-9-]/g, "")}`;
  icon.style.color = value("icon_color");
}

document.addEventListener("input", (event) => {
  const form = event.target.closest("[data-badge-form]");
  if (form) {
    updateBadgePreview(form);
  }
});
document.addEventListener("DOMContentLoaded", () => {
  document.querySelectorAll("[data-badge-form]").forEach(updateBadgePreview);
});
