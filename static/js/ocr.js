// Portico OCR pages: drag-and-drop upload, and the segment-box toggle on a page view.
(() => {
  const zone = document.querySelector("[data-ocr-drop]");
  if (zone) {
    const input = zone.querySelector("input[type=file]");
    const form = zone.closest("form");
    const label = zone.querySelector("[data-file-name]");
    const submit = form.querySelector("[data-ocr-submit]");
    const busy = () => {
      zone.classList.add("busy");
      if (submit) {
        submit.disabled = true;
        submit.textContent = "Uploading…";
      }
    };
    const chosen = () => {
      if (!input.files.length) return;
      label.textContent = `${input.files[0].name} (${Math.ceil(input.files[0].size / 1024)} KB)`;
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

  for (const toggle of document.querySelectorAll("[data-ocr-boxes-toggle]")) {
    const figure = toggle.closest("[data-ocr-figure]");
    const shown = toggle.dataset.ocrBoxesToggle;
    const sync = () => figure.classList.toggle(shown, toggle.checked);
    toggle.addEventListener("change", sync);
    sync();
  }

  for (const form of document.querySelectorAll("form[data-confirm]")) {
    form.addEventListener("submit", (event) => {
      if (!window.confirm(form.dataset.confirm)) event.preventDefault();
    });
  }
})();
