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
})();
