// The agent's workbench from the keyboard. Keys 1–7 record an outcome (the buttons' data-key); D, T and N
// focus the appointment date, the call-back time and the note; while a field has the focus, keys type into it,
// Esc leaves it and Enter records the outcome the field belongs to (its data-enter-key). A key pressed while
// a call is being recorded is ignored, so a double press never records twice.
// An outcome that needs a choice (declined: its reason; a satisfaction call reached: the score) opens a small
// picker instead (the button's data-picker names it): there a number key records the choice (its
// data-pick-key), Esc closes it. A picker may have a letter of its own (data-picker-key): C opens the
// customer's consent, whose text the agent reads out before 1 (granted) or 2 (withdrawn) records the answer.
// The card is an invitation's or a follow-up call's: the same keys work on both.
// P shows the customer's full number on the agent's own call (the "Show number" button: a logged look).
// The server answers 422 (refused: the same customer with the reason) and 409 (not due any more: the next
// customer with a warning) with a partial to show: htmx swaps those too.
(function () {
  "use strict";
  const root = document.getElementById("workbench");
  const current = document.getElementById("workbench-current");
  if (!root || !current) return;

  // Today's counts follow the calls: each recorded call (the answer's HX-Trigger "calls-changed") asks for
  // them again, at most once every COUNTS_EVERY_MS; calls recorded meanwhile are in the refresh that follows.
  const counts = document.getElementById("workbench-counts-box");
  const COUNTS_EVERY_MS = 3000;
  let countsAskedAt = 0;
  let countsTimer = null;
  document.body.addEventListener("calls-changed", () => {
    if (!counts || countsTimer) return;
    const wait = Math.max(0, countsAskedAt + COUNTS_EVERY_MS - Date.now());
    countsTimer = setTimeout(() => {
      countsTimer = null;
      countsAskedAt = Date.now();
      htmx.trigger(counts, "calls-refresh");
    }, wait);
  });

  let busy = false;
  const form = () => current.querySelector("#outcome-form");

  function press(key) {
    const outcomes = form();
    if (busy || !outcomes) return false;
    const button = outcomes.querySelector(`button[data-key="${key}"]`);
    if (!button || button.disabled) return false;
    button.click();
    return true;
  }

  // The pickers: at most one open; opening one closes the other.
  const openPicker = () => current.querySelector(".outcome-picker:not([hidden])");
  function closePicker() {
    const picker = openPicker();
    if (!picker) return;
    picker.hidden = true;
    const opener = current.querySelector(`[data-picker="${picker.id}"]`);
    if (opener) opener.setAttribute("aria-expanded", "false");
    const title = current.querySelector("#call-card-title");
    if (title) title.focus({ preventScroll: true });
  }
  function showPicker(opener) {
    const picker = document.getElementById(opener.dataset.picker);
    if (!picker || !current.contains(picker)) return;
    closePicker();
    picker.hidden = false;
    opener.setAttribute("aria-expanded", "true");
    const first = picker.querySelector("button[data-pick-key]");
    if (first) first.focus({ preventScroll: true });
  }
  current.addEventListener("click", (event) => {
    const opener = event.target.closest("[data-picker]");
    if (!opener || !current.contains(opener) || busy) return;
    event.preventDefault();
    showPicker(opener);
  });

  document.body.addEventListener("htmx:beforeRequest", (event) => {
    if (current.contains(event.target) || event.target === current) {
      busy = true;
      current.setAttribute("aria-busy", "true");
    }
  });
  document.body.addEventListener("htmx:afterRequest", (event) => {
    if (current.contains(event.target) || event.target === current || !document.body.contains(event.target)) {
      busy = false;
      current.setAttribute("aria-busy", "false");
    }
  });
  document.body.addEventListener("htmx:beforeSwap", (event) => {
    const status = event.detail.xhr.status;
    const target = event.detail.target;
    if ((status === 422 || status === 409) && (target === current || (target && target.id === "call-phone"))) {
      event.detail.shouldSwap = true;
      event.detail.isError = false;
    }
  });
  // Where the next key press starts from. htmx gives the focus back to the field that had it when the new card
  // has a field of the same id (the date after D + Enter, the call-back time after T + Enter): the next
  // customer's "1" would then type into that field. So as soon as a call is recorded (any answer but the 422
  // refusal), the focus goes to the new customer's name, before any key can reach the field; the page's keys
  // work at once.
  function focusCard() {
    const title = current.querySelector("#call-card-title");
    if (title) {
      title.focus({ preventScroll: true });
    } else if (current.contains(document.activeElement)) {
      document.activeElement.blur();
    }
  }
  document.body.addEventListener("htmx:afterSwap", (event) => {
    // The full number replaced the masked one (P): the focus goes back to the card, so the next key works.
    if (event.detail.target && event.detail.target.id === "call-phone") {
      if (!current.contains(document.activeElement) || document.activeElement === document.body) focusCard();
      return;
    }
    if (event.detail.target !== current) return;
    if (event.detail.xhr.status !== 422) focusCard();
  });
  // A refusal: the field it is about, after the settle (during it, htmx gives elements that keep their id
  // their old attributes for a moment, so .is-invalid is only right afterwards).
  document.body.addEventListener("htmx:afterSettle", (event) => {
    if (event.detail.target !== current) return;
    const invalid = current.querySelector(".is-invalid");
    if (invalid) invalid.focus();
    else if (!current.contains(document.activeElement)) focusCard();
  });

  document.addEventListener("keydown", (event) => {
    if (event.defaultPrevented || event.ctrlKey || event.metaKey || event.altKey || event.isComposing) return;
    const picker = openPicker();
    if (picker) {
      if (event.key === "Escape") {
        event.preventDefault();
        closePicker();
      } else if (/^[1-9]$/.test(event.key)) {
        event.preventDefault();
        const choice = picker.querySelector(`button[data-pick-key="${event.key}"]`);
        if (choice && !choice.disabled && !busy) choice.click();
      }
      return;
    }
    const active = document.activeElement;
    const typing =
      active && (["INPUT", "TEXTAREA", "SELECT"].includes(active.tagName) || active.isContentEditable);
    if (typing) {
      if (!form() || !form().contains(active)) return;
      if (event.key === "Escape") {
        event.preventDefault();
        active.blur();
        const title = current.querySelector("#call-card-title");
        if (title) title.focus({ preventScroll: true });
      } else if (event.key === "Enter" && active.dataset.enterKey) {
        event.preventDefault();
        press(active.dataset.enterKey);
      }
      return;
    }
    if (/^[1-9]$/.test(event.key)) {
      if (press(event.key)) event.preventDefault();
      return;
    }
    // P: the customer's full number, on the agent's own call (a logged look: campaigns.workbench_reveal).
    const reveal = current.querySelector(`[data-reveal-key="${event.key.toLowerCase()}"]`);
    if (reveal) {
      event.preventDefault();
      if (!busy && !reveal.disabled) reveal.click();
      return;
    }
    // A picker of its own key (C: the consent text to read out, then 1 granted or 2 withdrawn).
    const opener = current.querySelector(`[data-picker-key="${event.key.toLowerCase()}"]`);
    if (opener && !busy) {
      event.preventDefault();
      showPicker(opener);
      return;
    }
    const field = form() && form().querySelector(`[data-focus-key="${event.key.toLowerCase()}"]`);
    if (field) {
      event.preventDefault();
      field.focus();
    }
  });
})();
