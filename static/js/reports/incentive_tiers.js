// The incentive tiers' formset: "Add a tier" appends a blank row (Django's empty form, its __prefix__ numbered)
// and counts it in the management form's TOTAL_FORMS. No inline script: the page's CSP forbids it.
(function () {
  "use strict";
  const button = document.getElementById("add-tier");
  const template = document.getElementById("tier-row-template");
  const rows = document.querySelector("#tier-rows tbody");
  const total = document.getElementById("id_tiers-TOTAL_FORMS");
  if (!button || !template || !rows || !total) {
    return;
  }
  button.addEventListener("click", function () {
    const index = parseInt(total.value, 10) || 0;
    const html = template.innerHTML.replace(/__prefix__/g, String(index));
    rows.insertAdjacentHTML("beforeend", html);
    total.value = String(index + 1);
    const first = rows.lastElementChild && rows.lastElementChild.querySelector("input");
    if (first) {
      first.focus();
    }
  });
})();
