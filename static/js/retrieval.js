// Portico Retrieval page: drag-and-drop upload of several files, and confirmations.
(() => {
  const zone = document.querySelector("[data-rtv-drop]");
  if (zone) {
    const input = zone.querySelector("input[type=file]");
    const form = zone.closest("form");
    const label = zone.querySelector("[data-file-names]");
    const submit = form.querySelector("[data-rtv-submit]");
    const busy = () => {
      zone.classList.add("busy");
      if (submit) {
        submit.disabled = true;
        submit.textContent = "Uploading…";
      }
    };
    const chosen = () => {
      if (!input.files.length) return;
      const names = Array.from(input.files, (file) => `${file.name} (${Math.ceil(file.size / 1024)} KB)`);
      label.textContent = names.join(", ");
      busy();
      form.requestSubmit();
    };
    for (const type of ["dragenter", "dragover"]) {
      zone.addEventListener(type, (event) => {
        event.preventDefault();
        zone.classList.add("dragging");
      });
    }
    for (const type of ["dragleave", "dragend", "drop"]) {
      zone.addEventListener(type, (event) => {
        event.preventDefault();
        zone.classList.remove("dragging");
      });
    }
    zone.addEventListener("drop", (event) => {
      const files = event.dataTransfer && event.dataTransfer.files;
      if (!files || !files.length) return;
      input.files = files;
      chosen();
    });
    input.addEventListener("change", chosen);
    form.addEventListener("submit", busy);
  }

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
