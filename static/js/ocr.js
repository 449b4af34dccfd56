// Portico OCR pages: the segment-box toggle on a page view, and confirmations.
// (The upload zone is static/js/dropzone.js, shared with the Retrieval page.)
(() => {
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
