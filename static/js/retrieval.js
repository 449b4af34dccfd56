// Portico Retrieval page: the documents' live summary, and confirmations.
// (The upload zone is static/js/dropzone.js, shared with the OCR page.)
(() => {
  // The documents table is polled and replaced every second while any is pending: a
  // stable live region announces its summary only when the summary changes.
  const live = document.querySelector("[data-rtv-live]");
  const announce = () => {
    const summary = document.querySelector("[data-rtv-summary]");
    const text = summary ? summary.textContent.replace("; checking for updates…", "").trim() : "";
    if (live && text && live.dataset.last !== text) {
      live.textContent = text;
      live.dataset.last = text;
    }
  };
  announce();
  document.body.addEventListener("htmx:afterSwap", announce);

  // Forms that delete ask first; delegated, so forms swapped in by htmx ask too.
  document.addEventListener("submit", (event) => {
    const form = event.target;
    if (form instanceof HTMLFormElement && form.dataset.confirm && !window.confirm(form.dataset.confirm)) {
      event.preventDefault();
    }
  });
})();
