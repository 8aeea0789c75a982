// Upload page: files chosen or dropped are sent one request each, with a progress bar per file.
// The server answers each with the file's status row, which then follows itself through htmx.
// Without JavaScript the form posts all files at once and the page lists the same rows.
"use strict";

const PARALLEL_UPLOADS = 2;

function uploadOne(form, file, results) {
  const item = document.createElement("li");
  item.className = "list-group-item d-flex justify-content-between align-items-center gap-3";
  item.dataset.testid = "upload-progress";
  const name = document.createElement("span");
  name.className = "text-truncate";
  name.textContent = file.name;
  const progress = document.createElement("progress");
  progress.className = "upload-progress";
  progress.max = 100;
  progress.value = 0;
  item.append(name, progress);
  results.prepend(item);

  const data = new FormData();
  for (const [key, value] of new FormData(form).entries()) {
    if (key !== "files") {
      data.append(key, value);
    }
  }
  data.append("files", file, file.name);

  const fail = (text) => {
    progress.remove();
    const failed = document.createElement("span");
    failed.className = "text-danger small";
    failed.dataset.testid = "upload-failed";
    failed.textContent = text;
    item.append(failed);
  };

  return new Promise((resolve) => {
    const request = new XMLHttpRequest();
    request.open("POST", form.action);
    request.setRequestHeader("HX-Request", "true");
    request.setRequestHeader("X-CSRFToken", form.querySelector("[name=csrfmiddlewaretoken]").value);
    request.upload.addEventListener("progress", (event) => {
      if (event.lengthComputable) {
        progress.value = Math.round((event.loaded / event.total) * 100);
      }
    });
    request.addEventListener("load", () => {
      const redirect = request.getResponseHeader("HX-Redirect");
      if (redirect) {
        window.location.assign(redirect); // signed out meanwhile: to the sign-in page
        resolve();
        return;
      }
      const answer = document.createElement("template");
      answer.innerHTML = request.responseText;
      const rows = Array.from(answer.content.children);
      // The page answers status rows (200), or the form's problems as rows (400). Anything else,
      // a 403 or a proxy's 413 say, is a whole page: say the upload was refused instead.
      if ([200, 400].includes(request.status) && rows.length && rows.every((row) => row.tagName === "LI")) {
        // A problem the server could not tie to a file name (it could not read it) is this file's.
        rows.forEach((row) =>
          row.querySelectorAll("[data-file-names]").forEach((names) => {
            if (!names.textContent.trim()) {
              names.textContent = file.name;
            }
          }),
        );
        item.replaceWith(...rows);
        rows.forEach((row) => htmx.process(row));
      } else {
        fail(`${results.dataset.refusedText} (HTTP ${request.status})`);
      }
      resolve();
    });
    request.addEventListener("error", () => {
      fail(results.dataset.failedText);
      resolve();
    });
    request.send(data);
  });
}

async function uploadAll(form, files, results) {
  const queue = Array.from(files);
  const workers = Array.from({ length: PARALLEL_UPLOADS }, async () => {
    while (queue.length) {
      await uploadOne(form, queue.shift(), results);
    }
  });
  await Promise.all(workers);
}

document.addEventListener("DOMContentLoaded", () => {
  const form = document.querySelector("[data-uploader]");
  if (!form) {
    return;
  }
  const input = form.querySelector("input[type=file]");
  const zone = form.querySelector("[data-drop-zone]");
  const results = document.querySelector("[data-upload-results]");

  ["dragenter", "dragover"].forEach((name) =>
    zone.addEventListener(name, (event) => {
      event.preventDefault();
      zone.classList.add("dragging");
    }),
  );
  ["dragleave", "drop"].forEach((name) => zone.addEventListener(name, () => zone.classList.remove("dragging")));
  zone.addEventListener("drop", (event) => {
    event.preventDefault();
    uploadAll(form, event.dataTransfer.files, results);
  });

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    if (!input.files.length) {
      input.click();
      return;
    }
    uploadAll(form, input.files, results).then(() => {
      input.value = "";
    });
  });
});
