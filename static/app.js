// Opens CONFIGURE in a modal dialog on the section page. Without this script the same links
// lead to the CONFIGURE page, so nothing depends on it.
"use strict";

(function () {
  const dialog = document.getElementById("configure-dialog");
  if (!dialog || typeof dialog.showModal !== "function") {
    return;
  }
  const body = dialog.querySelector(".dialog-body");
  let opener = null;

  // Puts the CONFIGURE part of a server-rendered page into the dialog.
  function show(html) {
    const page = new DOMParser().parseFromString(html, "text/html");
    const part = page.getElementById("configure");
    if (!part) {
      return false;
    }
    body.replaceChildren(document.importNode(part, true));
    const title = body.querySelector("h1");
    if (title) {
      title.id = "configure-dialog-title";
    }
    if (!dialog.open) {
      dialog.showModal();
    }
    const first = body.querySelector("[aria-invalid='true']") || body.querySelector("input:not([type=hidden])");
    if (first) {
      first.focus();
    }
    return true;
  }

  async function load(url, options) {
    const response = await fetch(url, Object.assign({ credentials: "same-origin" }, options));
    if (response.redirected) {
      // Saved: the server sent us back to the section page with its confirmation.
      window.location.assign(response.url);
      return true;
    }
    return show(await response.text());
  }

  document.addEventListener("click", async function (event) {
    const link = event.target.closest("a[data-configure]");
    if (!link || event.ctrlKey || event.metaKey || event.shiftKey) {
      return;
    }
    event.preventDefault();
    opener = link;
    if (!(await load(link.href))) {
      window.location.assign(link.href);
    }
  });

  dialog.addEventListener("submit", async function (event) {
    const form = event.target;
    if (form.method.toLowerCase() !== "post") {
      return;
    }
    event.preventDefault();
    const fields = new URLSearchParams(new FormData(form, event.submitter));
    const shown = await load(form.action, { method: "POST", body: fields });
    if (!shown) {
      form.submit();
    }
  });

  dialog.addEventListener("click", function (event) {
    if (event.target.closest("[data-close]")) {
      dialog.close();
    }
  });

  dialog.addEventListener("close", function () {
    body.replaceChildren();
    if (opener) {
      opener.focus();
    }
  });
})();
