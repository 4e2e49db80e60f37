// Small progressive enhancements. No inline scripts anywhere: the CSP forbids them.
document.addEventListener("click", (event) => {
  // Close an open Manage menu when clicking anywhere outside it.
  document.querySelectorAll("details.menu[open]").forEach((menu) => {
    if (!menu.contains(event.target)) menu.removeAttribute("open");
  });
});

// Forms marked data-submit-once disable their submit button after the first submit (the server also refuses
// duplicates: the order summary carries a one-time token).
document.addEventListener("submit", (event) => {
  const form = event.target;
  if (form.matches("form[data-submit-once]")) {
    form.querySelectorAll("button[type=submit]").forEach((button) => { button.disabled = true; });
  }
});

// A select marked data-submit-on-change submits its (GET) form when the choice changes; without scripts the form's
// own button does the same.
document.addEventListener("change", (event) => {
  const select = event.target;
  if (select.matches("select[data-submit-on-change]") && select.form) select.form.requestSubmit();
});
