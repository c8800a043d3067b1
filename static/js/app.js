/* Keyboard and focus behaviour of the pages. Loaded as a file: the Content-Security-Policy
   allows no inline script. Everything here is an enhancement; the pages work without it. */
(function () {
  "use strict";

  function rows() {
    return Array.prototype.slice.call(document.querySelectorAll("#inbox-list > .inbox-row"));
  }

  function typing(target) {
    var tag = target && target.tagName;
    return tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT" || (target && target.isContentEditable);
  }

  function focusRow(row) {
    if (!row) { return; }
    rows().forEach(function (r) { r.classList.remove("focused"); });
    row.classList.add("focused");
    row.focus();
  }

  function currentRow() {
    var active = document.activeElement;
    return active && active.closest ? active.closest("#inbox-list > .inbox-row") : null;
  }

  function move(step) {
    var all = rows();
    if (!all.length) { return; }
    var index = all.indexOf(currentRow());
    var next = index < 0 ? (step > 0 ? 0 : all.length - 1) : Math.min(all.length - 1, Math.max(0, index + step));
    focusRow(all[next]);
  }

  document.addEventListener("keydown", function (event) {
    if (!document.getElementById("inbox-list") || event.altKey || event.ctrlKey || event.metaKey) { return; }
    if (typing(event.target)) { return; }
    var key = event.key;
    if (key === "j" || key === "ArrowDown") { event.preventDefault(); move(1); }
    else if (key === "k" || key === "ArrowUp") { event.preventDefault(); move(-1); }
    else if (key === "Enter" && event.target.classList && event.target.classList.contains("inbox-row")) {
      event.preventDefault();
      var link = event.target.querySelector("a.row-title");
      if (link) { window.location.assign(link.href); }
    } else if (key === "x" && currentRow()) {
      var box = currentRow().querySelector(".row-select");
      if (box) { box.checked = !box.checked; }
    }
  });

  document.addEventListener("change", function (event) {
    if (event.target.matches && event.target.matches("[data-select-all=inbox]")) {
      document.querySelectorAll("#inbox-list .row-select").forEach(function (box) {
        box.checked = event.target.checked;
      });
    }
  });

  // After a decision in place the row leaves; the focus goes to the next row (or the one
  // before it, when the last row was decided), so the approver can go on with the keyboard.
  var nextAfterSwap = null;

  function showRowError(row) {
    var slot = row && row.querySelector(".inline-error");
    var list = document.getElementById("inbox-list");
    if (!slot || !list) { return; }
    var message = document.createElement("p");
    message.className = "msg error";
    message.setAttribute("role", "alert");
    message.textContent = list.getAttribute("data-error") || "";
    slot.replaceChildren(message);
  }

  function rowOf(element) {
    return element && element.closest ? element.closest("#inbox-list > .inbox-row") : null;
  }

  document.addEventListener("htmx:beforeSwap", function (event) {
    var target = event.detail.target;
    var xhr = event.detail.xhr;
    var row = rowOf(target);
    // A whole page never lands in a row: an expired session goes to its sign-in page, anything
    // else (a refused security token, say) shows a message in the row.
    if (row && xhr && /<html[\s>]/i.test(xhr.responseText || "")) {
      event.detail.shouldSwap = false;
      if (/\/accounts\/login\//.test(xhr.responseURL || "")) {
        window.location.assign(xhr.responseURL);
      } else {
        showRowError(row);
      }
      return;
    }
    if (target && target.classList && target.classList.contains("inbox-row") && !event.detail.isError) {
      nextAfterSwap = target.nextElementSibling || target.previousElementSibling;
    }
  });
  // A server error or a lost connection: nothing is swapped, so say so in the row.
  ["htmx:responseError", "htmx:sendError"].forEach(function (name) {
    document.addEventListener(name, function (event) {
      var row = rowOf(event.detail.elt);
      if (row && (!event.detail.xhr || event.detail.xhr.status >= 500 || event.detail.xhr.status === 0)) {
        showRowError(row);
      }
    });
  });
  document.addEventListener("htmx:afterSettle", function () {
    if (nextAfterSwap && nextAfterSwap.isConnected) { focusRow(nextAfterSwap); }
    nextAfterSwap = null;
  });

  // A refused decision shows its message in the row; the comment box opens, since the usual
  // reason is a missing comment.
  document.addEventListener("htmx:afterSettle", function (event) {
    var origin = event.detail.requestConfig ? event.detail.requestConfig.elt : event.detail.elt;
    var row = origin && origin.closest ? origin.closest(".inbox-row") : null;
    var message = row && row.querySelector(".inline-error");
    if (!message || !message.children.length) { return; }
    var details = row.querySelector("details.row-comment");
    if (details && !details.open) {
      details.open = true;
      var box = details.querySelector("textarea[name=comment]");
      if (box) { box.focus(); }
    }
  });
})();
