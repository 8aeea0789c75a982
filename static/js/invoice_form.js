// Invoice editor: Enter in the buyer search looks the buyer up instead of saving the draft.
// Everything else is htmx attributes in the page; without JavaScript Enter saves, as in any form.
"use strict";

document.addEventListener("keydown", (event) => {
  const field = event.target.closest("[data-enter-clicks]");
  if (!field || event.key !== "Enter" || event.isComposing) {
    return;
  }
  const button = document.getElementById(field.dataset.enterClicks);
  if (button) {
    event.preventDefault();
    button.click();
  }
});
