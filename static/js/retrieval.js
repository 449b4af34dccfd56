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

  // "Add a filter": another empty attribute row (at most 16), numbered for screen readers.
  const rows = document.querySelector("[data-rtv-filter-rows]");
  const add = document.querySelector("[data-rtv-add-filter]");
  if (rows && add) {
    add.hidden = false;
    add.addEventListener("click", () => {
      const all = rows.querySelectorAll("[data-rtv-filter-row]");
      if (all.length >= 16) return;
      const row = all[all.length - 1].cloneNode(true);
      row.querySelectorAll("input").forEach((input) => { input.value = ""; });
      row.querySelector("select").selectedIndex = 0;
      row.querySelectorAll("[data-rtv-row-label]").forEach((label) => {
        label.textContent = `${label.dataset.rtvRowLabel} ${all.length + 1}`;
      });
      rows.append(row);
      add.disabled = all.length + 1 >= 16;
      row.querySelector("input").focus();
    });
  }

  // Forms that delete ask first; delegated, so forms swapped in by htmx ask too.
  document.addEventListener("submit", (event) => {
    const form = event.target;
    if (form instanceof HTMLFormElement && form.dataset.confirm && !window.confirm(form.dataset.confirm)) {
      event.preventDefault();
    }
  });
})();
