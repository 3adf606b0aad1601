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

// Copy buttons beside a Client-Id or a shown secret. Without this script they stay hidden and
// the text is selectable as it is; with it, a click selects the text and copies it when the
// browser allows, else says to press Ctrl+C.
(function () {
  for (const button of document.querySelectorAll("button[data-copy]")) {
    const source = document.getElementById(button.dataset.copy);
    if (!source) {
      continue;
    }
    const label = button.firstChild;
    button.hidden = false;
    button.addEventListener("click", async function () {
      const selection = window.getSelection();
      selection.selectAllChildren(source);
      let copied = false;
      try {
        if (navigator.clipboard) {
          await navigator.clipboard.writeText(source.textContent);
          copied = true;
        }
      } catch (error) {
        copied = false;
      }
      label.textContent = copied ? button.dataset.copied : button.dataset.selected;
    });
  }
})();

// The log's channel select follows its section select: only the chosen section's channels are
// offered, and picking a channel picks its section. Without this script every section's
// channels are offered, each option naming its section, so the form works the same.
(function () {
  const section = document.getElementById("f-section");
  const channel = document.getElementById("f-channel");
  if (!section || !channel) {
    return;
  }
  function follow() {
    for (const group of channel.querySelectorAll("optgroup")) {
      const other = section.value !== "" && group.dataset.section !== section.value;
      group.hidden = other;
      group.disabled = other;
    }
    const picked = channel.selectedOptions[0];
    if (picked && picked.parentElement.disabled) {
      channel.value = "";
    }
  }
  section.addEventListener("change", follow);
  channel.addEventListener("change", function () {
    const picked = channel.selectedOptions[0];
    const group = picked && picked.parentElement.closest("optgroup");
    if (group && section.value !== group.dataset.section) {
      section.value = group.dataset.section;
      follow();
    }
  });
  follow();
})();

