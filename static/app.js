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

  function parse(html) {
    return new DOMParser().parseFromString(html, "text/html");
  }

  // Puts the CONFIGURE part of a server-rendered page into the dialog.
  function show(page) {
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

  // A page that is not a CONFIGURE form (an error) replaces this one, as a plain submit would.
  function replacePage(page) {
    document.title = page.title;
    document.body.replaceWith(document.importNode(page.body, true));
  }

  document.addEventListener("click", async function (event) {
    const link = event.target.closest("a[data-configure]");
    if (!link || event.ctrlKey || event.metaKey || event.shiftKey) {
      return;
    }
    event.preventDefault();
    opener = link;
    const response = await fetch(link.href, { credentials: "same-origin" });
    if (!show(parse(await response.text()))) {
      window.location.assign(link.href);
    }
  });

  dialog.addEventListener("submit", async function (event) {
    const form = event.target;
    // Only a plain save stays in the dialog; "Save & test" and tests lead to their result page.
    if (!form.classList.contains("configure") || (event.submitter && event.submitter.name)) {
      return;
    }
    event.preventDefault();
    const response = await fetch(form.action, {
      method: "POST",
      body: new URLSearchParams(new FormData(form)),
      credentials: "same-origin",
      // Saved means 303 to this section page: load it ourselves so its message is shown once.
      redirect: "manual",
    });
    if (response.type === "opaqueredirect") {
      window.location.assign(window.location.pathname + window.location.search);
      return;
    }
    const page = parse(await response.text());
    if (!show(page)) {
      replacePage(page);
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
