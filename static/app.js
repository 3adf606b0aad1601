// Opens CONFIGURE in a modal dialog on the section page. Without this script the same links
// lead to the CONFIGURE page, so nothing depends on it; when a request fails, the page falls
// back to exactly that.
"use strict";

(function () {
  const dialog = document.getElementById("configure-dialog");
  if (!dialog || typeof dialog.showModal !== "function") {
    return;
  }
  const body = dialog.querySelector(".dialog-body");
  let opener = null;
  let pending = null;

  function parse(html) {
    return new DOMParser().parseFromString(html, "text/html");
  }

  // One request at a time; closing the dialog cancels it, so a late answer never reopens it.
  async function request(url, options) {
    if (pending) {
      pending.abort();
    }
    pending = new AbortController();
    try {
      return await fetch(url, Object.assign({ credentials: "same-origin", signal: pending.signal }, options));
    } finally {
      pending = null;
    }
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
    document.documentElement.lang = page.documentElement.lang;
    document.body.replaceWith(document.importNode(page.body, true));
  }

  document.addEventListener("click", async function (event) {
    const link = event.target.closest("a[data-configure]");
    if (!link || event.defaultPrevented || event.ctrlKey || event.metaKey || event.shiftKey || event.altKey) {
      return;
    }
    event.preventDefault();
    opener = link;
    try {
      const response = await request(link.href);
      if (!show(parse(await response.text()))) {
        window.location.assign(link.href);
      }
    } catch (error) {
      if (error.name !== "AbortError") {
        window.location.assign(link.href);
      }
    }
  });

  dialog.addEventListener("submit", async function (event) {
    const form = event.target;
    // Only a plain save stays in the dialog; "Save & test" and tests lead to their result page.
    if (!form.classList.contains("configure") || (event.submitter && event.submitter.name)) {
      return;
    }
    event.preventDefault();
    if (form.inert) {
      return;
    }
    // No second click while the first save is on its way: it would conflict with itself.
    form.inert = true;
    try {
      const response = await request(form.action, {
        method: "POST",
        body: new URLSearchParams(new FormData(form, event.submitter)),
        // Saved means 303 to this section page: load it ourselves so its message shows once.
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
    } catch (error) {
      if (error.name !== "AbortError") {
        form.inert = false;
        form.submit();
      }
    } finally {
      form.inert = false;
    }
  });

  dialog.addEventListener("click", function (event) {
    if (event.target.closest("[data-close]")) {
      dialog.close();
    }
  });

  dialog.addEventListener("close", function () {
    if (pending) {
      pending.abort();
    }
    body.replaceChildren();
    if (opener) {
      opener.focus();
    }
  });
})();
