/* The expert questionnaire, enhanced: autosave on change, live progress, a language switch
   without a button, confidence disabled for "cannot judge". Everything works without it. */
(function () {
  "use strict";

  var root = document.documentElement;
  root.classList.remove("no-js");
  root.classList.add("js");

  document.querySelectorAll("select[data-autosubmit]").forEach(function (select) {
    select.addEventListener("change", function () {
      select.form.submit();
    });
  });

  var form = document.querySelector("form[data-autosave-url]");
  if (!form) {
    return;
  }

  // "Cannot judge" leaves nothing to be sure about: its row's confidence is disabled.
  function syncConfidence(row) {
    var cannotJudge = row.querySelector("input[data-cannot-judge]");
    var disabled = Boolean(cannotJudge && cannotJudge.checked);
    row.querySelectorAll(".confidence input").forEach(function (input) {
      input.disabled = disabled;
    });
  }

  form.querySelectorAll("fieldset.role").forEach(function (row) {
    syncConfidence(row);
    row.addEventListener("change", function (event) {
      if (event.target.name && event.target.name.indexOf("v-") === 0) {
        row.classList.add("is-answered");
        syncConfidence(row);
      }
    });
  });

  if (!window.fetch || !window.URLSearchParams) {
    return;
  }

  var url = form.getAttribute("data-autosave-url");
  var status = document.getElementById("save-status");
  var progress = document.getElementById("progress");
  var progressText = document.getElementById("progress-text");
  var timer = null;
  var inFlight = false;
  var pending = false;

  function payload() {
    return new URLSearchParams(new FormData(form));
  }

  function show(text) {
    if (status) {
      status.textContent = text;
    }
  }

  function showProgress(data) {
    if (progress) {
      progress.max = data.total;
      progress.value = data.answered;
      progress.textContent = data.percent + "%";
    }
    if (progressText) {
      progressText.textContent = data.text;
    }
  }

  function save() {
    timer = null;
    if (inFlight) {
      return; // the running save sends the newest answers again when it ends
    }
    inFlight = true;
    pending = false;
    show(form.getAttribute("data-saving-text"));
    fetch(url, {
      method: "POST",
      body: payload(),
      credentials: "same-origin",
      headers: { Accept: "application/json" },
    })
      .then(function (response) {
        return response.json().then(function (data) {
          if (response.ok && data.ok) {
            show(data.message);
            showProgress(data.progress);
          } else {
            show((data.errors || []).join(" ") || form.getAttribute("data-failed-text"));
          }
        });
      })
      .catch(function () {
        show(form.getAttribute("data-failed-text"));
      })
      .then(function () {
        inFlight = false;
        if (pending && timer === null) {
          save();
        }
      });
  }

  function schedule(delay) {
    pending = true;
    if (timer !== null) {
      clearTimeout(timer);
    }
    timer = setTimeout(save, delay);
  }

  form.addEventListener("change", function () {
    schedule(250);
  });
  form.addEventListener("input", function (event) {
    if (event.target.tagName === "TEXTAREA") {
      schedule(1200);
    }
  });
  form.addEventListener("submit", function () {
    // The page is posted whole: nothing is left for the autosave to do.
    if (timer !== null) {
      clearTimeout(timer);
      timer = null;
    }
    pending = false;
  });
  // Leaving with changes not yet sent: hand them to the browser to deliver.
  window.addEventListener("pagehide", function () {
    if (pending && navigator.sendBeacon) {
      navigator.sendBeacon(url, payload());
      pending = false;
    }
  });
})();
