// Runs before the page paints (loaded without defer): the theme the visitor chose last.
document.documentElement.dataset.theme = localStorage.getItem("portico-theme") || "auto";
