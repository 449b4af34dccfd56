// Portico: small progressive enhancements shared by every page.
(() => {
  const root = document.documentElement;
  const order = ["auto", "light", "dark"];
  document.addEventListener("click", (event) => {
    const themeButton = event.target.closest("[data-theme-toggle]");
    if (themeButton) {
      const next = order[(order.indexOf(root.dataset.theme || "auto") + 1) % order.length];
      root.dataset.theme = next;
      localStorage.setItem("portico-theme", next);
      themeButton.title = `Theme: ${next}`;
      return;
    }
    const navButton = event.target.closest("[data-nav-toggle]");
    if (navButton) {
      const nav = document.getElementById(navButton.getAttribute("aria-controls"));
      const open = nav.classList.toggle("open");
      navButton.setAttribute("aria-expanded", String(open));
      return;
    }
    const copyButton = event.target.closest("[data-copy]");
    if (copyButton) {
      const source = document.querySelector(copyButton.dataset.copy);
      const text = source ? (source.value ?? source.textContent) : copyButton.dataset.copyText;
      navigator.clipboard.writeText(text.trim()).then(() => {
        const label = copyButton.textContent;
        copyButton.textContent = "Copied";
        setTimeout(() => { copyButton.textContent = label; }, 1500);
      });
    }
  });
  // The organization switcher: choosing one submits its form (a button without JavaScript).
  document.addEventListener("change", (event) => {
    const select = event.target.closest("select[data-auto-submit]");
    if (select && select.form) select.form.requestSubmit();
  });
})();

// Keys page: a filter box over a long list of model checkboxes. The box stays hidden
// without JavaScript; ticked models that the filter hides are still submitted.
(() => {
  const reveal = (root) => {
    root.querySelectorAll("[data-filter-input][hidden]").forEach((input) => { input.hidden = false; });
  };
  document.addEventListener("DOMContentLoaded", () => reveal(document));
  document.addEventListener("htmx:load", (event) => reveal(event.detail.elt));
  document.addEventListener("input", (event) => {
    const input = event.target.closest("[data-filter-input]");
    if (!input) return;
    const list = document.getElementById(input.getAttribute("aria-controls"));
    if (!list) return;
    const needle = input.value.trim().toLowerCase();
    let shown = 0;
    list.querySelectorAll("[data-filter-text]").forEach((item) => {
      const match = item.dataset.filterText.toLowerCase().includes(needle);
      item.hidden = !match;
      if (match) shown += 1;
    });
    const empty = list.querySelector("[data-filter-empty]");
    if (empty) empty.hidden = shown > 0;
  });
})();
