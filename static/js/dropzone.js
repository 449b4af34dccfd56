// Portico upload drop zones (OCR and Retrieval pages): one picker, an explicit Upload.
//
// Markup: <label data-drop-zone> holding a file <input>, a [data-drop-hint] (hidden
// until this script runs), and a [data-file-name] live region; the form's
// [data-drop-submit] button. Choosing or dropping files only shows their names and
// sizes: nothing is uploaded (or charged) until Upload is pressed. Without JavaScript
// the native file input is the picker and the button still submits.
(() => {
  const size = (bytes) => {
    if (bytes < 1024) return `${bytes} B`;
    if (bytes < 1024 * 1024) return `${Math.ceil(bytes / 1024)} KB`;
    return `${(bytes / (1024 * 1024)).toFixed(1)} MB`;
  };

  const enhance = (zone) => {
    const input = zone.querySelector("input[type=file]");
    const form = zone.closest("form");
    const label = zone.querySelector("[data-file-name]");
    const submit = form.querySelector("[data-drop-submit]");
    const hint = zone.querySelector("[data-drop-hint]");
    if (hint) hint.hidden = false;
    zone.classList.add("drop-zone-enhanced");

    const show = () => {
      const files = Array.from(input.files);
      label.textContent = files.length
        ? `Selected: ${files.map((file) => `${file.name} (${size(file.size)})`).join(", ")}`
        : "";
      zone.classList.toggle("has-file", files.length > 0);
      if (submit) submit.disabled = files.length === 0;
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
      if (!input.multiple && files.length > 1) {
        const one = new DataTransfer();
        one.items.add(files[0]);
        input.files = one.files;
      } else {
        input.files = files;
      }
      show();
    });
    input.addEventListener("change", show);
    // Back from the job page (bfcache): the form is usable again, not stuck "Uploading…".
    window.addEventListener("pageshow", (event) => {
      if (!event.persisted || !submit) return;
      zone.classList.remove("busy");
      submit.textContent = submit.dataset.label;
      show();
    });
    if (submit) submit.dataset.label = submit.textContent;
    form.addEventListener("submit", () => {
      zone.classList.add("busy");
      if (submit) {
        // Disabled after the submit event has been dispatched, so the form still sends.
        setTimeout(() => {
          submit.disabled = true;
          submit.textContent = "Uploading…";
        });
      }
    });
    show();
  };

  for (const zone of document.querySelectorAll("[data-drop-zone]")) enhance(zone);
})();
