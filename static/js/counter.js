// The counter from the keyboard: ↓/↑ move between the search box and the results (links: Enter opens one),
// Esc goes back to the box, and "/" anywhere else focuses it.
(function () {
  "use strict";
  const box = document.getElementById("counter-search");
  const region = document.getElementById("search-results");
  if (!box || !region) return;

  const results = () => Array.from(region.querySelectorAll("[data-testid=search-result]"));
  const backToBox = () => { box.focus(); box.select(); };

  box.addEventListener("keydown", (event) => {
    const first = results()[0];
    if (event.key === "ArrowDown" && first) {
      event.preventDefault();
      first.focus();
    }
  });

  region.addEventListener("keydown", (event) => {
    const list = results();
    const at = list.indexOf(document.activeElement);
    if (at < 0) return;
    if (event.key === "ArrowDown" && at < list.length - 1) {
      event.preventDefault();
      list[at + 1].focus();
    } else if (event.key === "ArrowUp") {
      event.preventDefault();
      if (at === 0) backToBox(); else list[at - 1].focus();
    } else if (event.key === "Escape") {
      backToBox();
    }
  });

  document.addEventListener("keydown", (event) => {
    const typing = ["INPUT", "TEXTAREA", "SELECT"].includes(document.activeElement.tagName);
    if (event.key === "/" && !typing) {
      event.preventDefault();
      backToBox();
    }
  });
})();

// Today's arrivals: a status change refused because the appointment has moved on meanwhile (409, marked in
// another tab or by a colleague) still brings the list back in place, with the reason on top.
document.body.addEventListener("htmx:beforeSwap", (event) => {
  const target = event.detail.target;
  if (event.detail.xhr.status === 409 && target && target.id === "arrivals") {
    event.detail.shouldSwap = true;
    event.detail.isError = false;
  }
});
