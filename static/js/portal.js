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
