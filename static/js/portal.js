// Small progressive enhancements. No inline scripts anywhere: the CSP forbids them.
document.addEventListener("click", (event) => {
  // Close an open Manage menu when clicking anywhere outside it.
  document.querySelectorAll("details.menu[open]").forEach((menu) => {
    if (!menu.contains(event.target)) menu.removeAttribute("open");
  });
});

// The Manage menu (details.menu) as an ARIA menu button. Without scripts it is a plain disclosure whose links Tab
// reaches; with them: Enter, Space or Arrow Down on the button opens it with the first item focused, Arrow Up/Down,
// Home and End move through the items, Escape closes it and gives focus back to the button, Tab closes it and goes
// on to what follows. aria-expanded follows the menu.
const menuItems = (menu) => Array.from(menu.querySelectorAll('[role="menuitem"]'));
const closeMenu = (menu, focusButton) => {
  menu.removeAttribute("open");
  if (focusButton) menu.querySelector("summary").focus();
};
document.querySelectorAll("details.menu").forEach((menu) => {
  const button = menu.querySelector("summary");
  menuItems(menu).forEach((item) => { item.tabIndex = -1; });
  let focusOnOpen = 0; // the item to focus when the menu opens: 0 the first, -1 the last, null none
  menu.addEventListener("toggle", () => {
    button.setAttribute("aria-expanded", menu.open ? "true" : "false");
    const items = menuItems(menu);
    if (menu.open && items.length && focusOnOpen !== null) items.at(focusOnOpen).focus();
    focusOnOpen = 0;
  });
  button.addEventListener("keydown", (event) => {
    if ((event.key === "ArrowDown" || event.key === "ArrowUp") && !menu.open) {
      event.preventDefault();
      focusOnOpen = event.key === "ArrowUp" ? -1 : 0;
      menu.open = true;
    } else if (event.key === "Escape" && menu.open) {
      event.preventDefault();
      closeMenu(menu, true);
    }
  });
  menu.addEventListener("keydown", (event) => {
    const items = menuItems(menu);
    const at = items.indexOf(document.activeElement);
    if (at < 0 || !menu.open) return;
    const moves = { ArrowDown: at + 1, ArrowUp: at - 1, Home: 0, End: items.length - 1 };
    if (event.key in moves) {
      event.preventDefault();
      items[(moves[event.key] + items.length) % items.length].focus();
    } else if (event.key === "Escape") {
      event.preventDefault();
      closeMenu(menu, true);
    } else if (event.key === "Tab") {
      closeMenu(menu, true); // from the button, Tab (or Shift+Tab) goes on to what is after (or before) the menu
    } else if ((event.key === " " || event.key === "Enter") && items[at].getAttribute("aria-disabled") === "true") {
      event.preventDefault(); // a disabled entry does nothing
    } else if (event.key === " " && items[at].href) {
      event.preventDefault();
      items[at].click();
    }
  });
  menu.addEventListener("focusout", (event) => {
    if (menu.open && event.relatedTarget && !menu.contains(event.relatedTarget)) closeMenu(menu, false);
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
