/* The expert questionnaire, enhanced. Everything works without it; with it:

   - every change of a block page is kept in a small queue in the browser (IndexedDB, or
     memory where IndexedDB cannot be used) until the server has acknowledged it, and sent
     again when the connection returns (on "online", on showing the page, and on a timer);
     an acknowledged change is deleted at once, and the database with the last one;
   - each queued change is the whole page with an id and a sequence number, so the server
     stores a replay once and never lets an older change overwrite a newer one
     (surveys.questionnaire.response_save_block);
   - the buttons ("Next", "Back", "Submit", the language) first make sure the answers have
     reached the server; offline they keep the expert on the page and say why;
   - a service worker (/s/sw.js) shows a small offline page instead of the browser's error
     page when a page cannot be loaded; it caches nothing that holds answers;
   - Enter in a rating never leaves the page; "cannot judge" disables the confidence.

   Hand-written rather than a library: it needs one object store with put, read-all and
   delete, which is less code than the glue around a vendored IndexedDB wrapper. */
(function () {
  "use strict";

  var root = document.documentElement;
  root.classList.remove("no-js");
  root.classList.add("js");

  var sync = document.getElementById("sync");
  var syncStatus = document.getElementById("sync-status");
  var syncAlert = document.getElementById("sync-alert");
  var form = document.querySelector("form[data-autosave-url]");
  var url = form ? form.getAttribute("data-autosave-url") : null;
  var saveStatus = document.getElementById("save-status");
  var modern = Boolean(window.fetch && window.URLSearchParams && window.Promise && sync);

  function text(name) {
    return sync ? sync.getAttribute("data-" + name + "-text") || "" : "";
  }

  // The queue ---------------------------------------------------------------------------

  var DB_NAME = "survey-answers";
  var STORE = "changes";
  var memory = null; // the queue when IndexedDB cannot be used
  var opening = null;

  function database() {
    if (memory) {
      return Promise.resolve(null);
    }
    if (!opening) {
      opening = new Promise(function (resolve, reject) {
        var request = window.indexedDB.open(DB_NAME, 1);
        request.onupgradeneeded = function () {
          request.result.createObjectStore(STORE, { keyPath: "id" });
        };
        request.onsuccess = function () {
          var db = request.result;
          db.onversionchange = function () {
            db.close(); // another tab deletes the emptied database: let it
            opening = null;
          };
          resolve(db);
        };
        request.onerror = function () {
          reject(request.error);
        };
      }).catch(function () {
        memory = memory || [];
        opening = null;
        return null;
      });
    }
    return opening;
  }

  // Run ``work(store)`` in one transaction; resolves with what it returned once committed.
  function transact(mode, work) {
    return database().then(function (db) {
      if (!db) {
        return work(null);
      }
      return new Promise(function (resolve, reject) {
        var transaction = db.transaction(STORE, mode);
        var result = work(transaction.objectStore(STORE));
        transaction.oncomplete = function () {
          resolve(result);
        };
        transaction.onerror = transaction.onabort = function () {
          reject(transaction.error);
        };
      });
    });
  }

  function queueAll() {
    return transact("readonly", function (store) {
      if (!store) {
        return memory.slice();
      }
      var box = { entries: [] };
      store.openCursor().onsuccess = function (event) {
        var cursor = event.target.result;
        if (cursor) {
          box.entries.push(cursor.value);
          cursor.continue();
        }
      };
      return box;
    }).then(function (result) {
      var entries = Array.isArray(result) ? result : result.entries;
      return entries.sort(function (a, b) {
        return a.sequence - b.sequence;
      });
    });
  }

  // Keep ``entry``; older entries of the same page are replaced (their changed answers
  // are counted with it): the newest snapshot of a page holds all of them. One put at a
  // time, so that two quick changes (a text left by pressing a button) do not both miss
  // the other and stay side by side.
  var putting = Promise.resolve();
  function queuePut(entry) {
    var put = putting.then(function () {
      return queuePutNow(entry);
    });
    putting = put.catch(function () {});
    return put;
  }

  function queuePutNow(entry) {
    return queueAll().then(function (entries) {
      var older = entries.filter(function (other) {
        return other.url === entry.url && other.sequence < entry.sequence;
      });
      older.forEach(function (other) {
        other.fields.forEach(function (name) {
          if (entry.fields.indexOf(name) < 0) {
            entry.fields.push(name);
          }
        });
      });
      return transact("readwrite", function (store) {
        if (!store) {
          memory = memory.filter(function (other) {
            return older.indexOf(other) < 0;
          });
          memory.push(entry);
          return;
        }
        older.forEach(function (other) {
          store.delete(other.id);
        });
        store.put(entry);
      });
    });
  }

  function queueDelete(id) {
    return transact("readwrite", function (store) {
      if (!store) {
        memory = memory.filter(function (entry) {
          return entry.id !== id;
        });
        return;
      }
      store.delete(id);
    });
  }

  // Remove the emptied database itself, so that the device keeps no trace of answers.
  function queueForget() {
    if (memory || !window.indexedDB) {
      return Promise.resolve();
    }
    return database().then(function (db) {
      if (db) {
        db.close();
      }
      opening = null;
      return new Promise(function (resolve) {
        var request = window.indexedDB.deleteDatabase(DB_NAME);
        request.onsuccess = request.onerror = request.onblocked = function () {
          resolve();
        };
      });
    });
  }

  function countAnswers(entries) {
    return entries.reduce(function (sum, entry) {
      return sum + entry.fields.length;
    }, 0);
  }

  // Sending -----------------------------------------------------------------------------

  var flushing = null;
  var flushAgain = false;
  var retryTimer = null;
  var retryDelay = 2000;
  var offline = false; // the last attempt could not reach the server
  var waitingShown = false;

  function show(element, message) {
    if (!element) {
      return;
    }
    element.textContent = message;
    sync.hidden = !(syncStatus.textContent || syncAlert.textContent);
  }

  function showProgress(data) {
    var progress = document.getElementById("progress");
    var progressText = document.getElementById("progress-text");
    if (progress && data) {
      progress.max = data.total;
      progress.value = data.answered;
      progress.textContent = data.percent + "%";
    }
    if (progressText && data) {
      progressText.textContent = data.text;
    }
  }

  function send(entry) {
    var body = entry.body + "&change_id=" + entry.id + "&change_sequence=" + entry.sequence;
    return fetch(entry.url, {
      method: "POST",
      body: body,
      credentials: "same-origin",
      cache: "no-store",
      headers: {
        Accept: "application/json",
        "Content-Type": "application/x-www-form-urlencoded;charset=UTF-8",
      },
    }).then(function (response) {
      return response.json().then(
        function (data) {
          return { status: response.status, data: data };
        },
        function () {
          return { status: response.status, data: {} };
        }
      );
    });
  }

  // A refusal that no retry can change (bad answers, a submitted or closed response).
  function permanent(status) {
    return status >= 400 && status < 500 && status !== 408 && status !== 429;
  }

  function sendEach(entries, index) {
    if (index >= entries.length) {
      return Promise.resolve(true);
    }
    var entry = entries[index];
    return send(entry).then(
      function (result) {
        if (result.status >= 200 && result.status < 300 && result.data.ok) {
          if (entry.url === url) {
            show(saveStatus, result.data.message || "");
            showProgress(result.data.progress);
          }
          return queueDelete(entry.id).then(function () {
            return sendEach(entries, index + 1);
          });
        }
        if (permanent(result.status)) {
          show(syncAlert, text("refused") + " " + (result.data.errors || []).join(" "));
          return queueDelete(entry.id).then(function () {
            return sendEach(entries, index + 1);
          });
        }
        return false; // the server is busy or down: try again later
      },
      function () {
        return false; // no connection
      }
    );
  }

  function scheduleRetry() {
    if (retryTimer !== null) {
      return;
    }
    retryTimer = setTimeout(function () {
      retryTimer = null;
      flush();
    }, retryDelay);
    retryDelay = Math.min(retryDelay * 2, 30000);
  }

  function report(entries) {
    var count = countAnswers(entries);
    if (entries.length && (offline || !navigator.onLine)) {
      waitingShown = true;
      show(saveStatus, ""); // not "Saving…": the banner says what happens
      show(syncStatus, text("pending").replace("%(count)s", String(count)));
    } else if (!entries.length && waitingShown) {
      waitingShown = false;
      show(syncStatus, text("saved"));
      if (syncAlert && syncAlert.textContent === text("offline")) {
        show(syncAlert, "");
      }
    }
  }

  // Send every queued change, oldest first; resolves with the changes still waiting.
  function flush() {
    if (flushing) {
      flushAgain = true;
      return flushing;
    }
    flushing = queueAll()
      .then(function (entries) {
        if (!entries.length) {
          return entries;
        }
        return sendEach(entries, 0).then(function (reached) {
          offline = !reached;
          return queueAll();
        });
      })
      .then(function (left) {
        if (left.length) {
          scheduleRetry();
        } else {
          retryDelay = 2000;
          if (!url) {
            queueForget(); // no page here queues anything: nothing races with the removal
          }
        }
        report(left);
        return left;
      })
      .catch(function () {
        scheduleRetry();
        return [{ fields: [] }];
      })
      .then(function (left) {
        flushing = null;
        if (flushAgain) {
          flushAgain = false;
          return flush();
        }
        return left;
      });
    return flushing;
  }

  // Whether the server answers at all (for buttons when nothing is queued).
  function reachable() {
    if (!navigator.onLine) {
      return Promise.resolve(false);
    }
    return fetch(sync.getAttribute("data-service-worker"), {
      method: "HEAD",
      cache: "no-store",
      credentials: "same-origin",
    }).then(
      function (response) {
        return response.ok;
      },
      function () {
        return false;
      }
    );
  }

  function stayOffline() {
    offline = true;
    show(syncAlert, text("offline"));
    queueAll().then(report);
  }

  // Post ``target`` the browser's own way once every queued change has arrived; offline
  // keep the expert on the page. ``before`` may queue the page itself first.
  function guard(target, before) {
    target.addEventListener("submit", function (event) {
      var submitter = event.submitter || target.querySelector("button[type=submit]");
      event.preventDefault();
      Promise.resolve(before ? before() : null)
        .then(flush)
        .then(function (left) {
          return left.length ? false : reachable();
        })
        .then(function (ok) {
          if (!ok) {
            stayOffline();
            return;
          }
          if (submitter && submitter.name) {
            var input = document.createElement("input");
            input.type = "hidden";
            input.name = submitter.name;
            input.value = submitter.value;
            target.appendChild(input);
          }
          target.submit(); // fires no "submit" event: not guarded again
        });
    });
  }

  // The block page ----------------------------------------------------------------------

  // "Cannot judge" leaves nothing to be sure about: its row's confidence is disabled.
  function syncRow(row) {
    var cannotJudge = row.querySelector("input[data-cannot-judge]");
    var noAnswer = row.querySelector("input[data-no-answer]");
    var disabled = Boolean(cannotJudge && cannotJudge.checked);
    row.querySelectorAll(".confidence input").forEach(function (input) {
      input.disabled = disabled;
    });
    row.classList.toggle("is-answered", !(noAnswer && noAnswer.checked));
  }

  var dirty = [];
  var sequence = 0;
  var typing = null;
  var hiddenId = null;
  var hiddenSequence = null;

  function markDirty(name) {
    var key = name === "comment" ? name : name.replace(/^[vcj]-/, "");
    if (dirty.indexOf(key) < 0) {
      dirty.push(key);
    }
  }

  function snapshot() {
    var data = new FormData(form);
    ["csrfmiddlewaretoken", "change_id", "change_sequence", "action"].forEach(function (name) {
      data.delete(name);
    });
    return new URLSearchParams(data).toString();
  }

  function newId() {
    var bytes = new Uint8Array(16);
    window.crypto.getRandomValues(bytes);
    return Array.prototype.map
      .call(bytes, function (byte) {
        return ("0" + byte.toString(16)).slice(-2);
      })
      .join("");
  }

  // Queue the page as it is now; the next sequence is newer than anything seen before.
  function enqueue() {
    if (typing !== null) {
      clearTimeout(typing);
      typing = null;
    }
    sequence = Math.max(Date.now(), sequence + 1);
    var entry = {
      id: newId(),
      sequence: sequence,
      url: url,
      body: snapshot(),
      fields: dirty.slice(),
    };
    dirty = [];
    hiddenId.value = entry.id;
    hiddenSequence.value = String(entry.sequence);
    show(saveStatus, form.getAttribute("data-saving-text"));
    return queuePut(entry).catch(function () {
      opening = null; // the database was closed under us (another tab removed it): reopen
      return queuePut(entry);
    });
  }

  // A change queued before this page was loaded, newer than what the server showed: put
  // it back into the form, so that the page shows what the expert last chose.
  function restore(entries) {
    var mine = entries.filter(function (entry) {
      return entry.url === url && entry.sequence > sequence;
    });
    if (!mine.length) {
      return;
    }
    var newest = mine[mine.length - 1];
    var values = new URLSearchParams(newest.body);
    form.querySelectorAll("input[type=radio]").forEach(function (input) {
      if (values.has(input.name)) {
        input.checked = values.get(input.name) === input.value;
      }
    });
    // The page's comment and, in a Delphi round, the reasons given for revised answers.
    form.querySelectorAll("textarea[name]").forEach(function (textarea) {
      if (values.has(textarea.name)) {
        textarea.value = values.get(textarea.name);
      }
    });
    form.querySelectorAll("fieldset.role").forEach(syncRow);
    sequence = newest.sequence;
    hiddenId.value = newest.id;
    hiddenSequence.value = String(newest.sequence);
  }

  function blockPage() {
    hiddenId = form.querySelector("input[name=change_id]");
    hiddenSequence = form.querySelector("input[name=change_sequence]");
    sequence = Number(form.getAttribute("data-change-sequence")) || 0;

    form.addEventListener("change", function (event) {
      var target = event.target;
      if (!target.name || !/^(v-|c-|j-|comment$)/.test(target.name)) {
        return;
      }
      markDirty(target.name);
      // A text left (the field loses focus) is queued at once, not after the typing pause.
      if (target.tagName !== "TEXTAREA" || typing !== null) {
        enqueue().then(flush);
      }
    });
    form.addEventListener("input", function (event) {
      if (event.target.tagName === "TEXTAREA") {
        markDirty(event.target.name);
        if (typing !== null) {
          clearTimeout(typing);
        }
        typing = setTimeout(function () {
          typing = null;
          enqueue().then(flush);
        }, 600);
      }
    });
    // "Keep my previous answer" (a Delphi round): choose that answer here and queue it as
    // any change, so that it is kept offline too; without the script the button posts.
    form.querySelectorAll("button[data-keep-value]").forEach(function (button) {
      button.addEventListener("click", function (event) {
        var field = "v-" + button.value;
        var kept = Array.prototype.filter.call(form.elements[field] || [], function (input) {
          return input.value === button.getAttribute("data-keep-value");
        })[0];
        if (!kept) {
          return; // not on this page: let the server answer
        }
        event.preventDefault();
        kept.checked = true;
        kept.dispatchEvent(new Event("change", { bubbles: true }));
        kept.focus();
      });
    });
    guard(form, enqueue);
    // Leaving with typing not yet queued: queue it now.
    window.addEventListener("pagehide", function () {
      if (dirty.length) {
        enqueue();
      }
    });
    return queueAll().then(restore);
  }

  // Start -------------------------------------------------------------------------------

  if (form) {
    form.querySelectorAll("fieldset.role").forEach(function (row) {
      syncRow(row);
      row.addEventListener("change", function (event) {
        if (event.target.hasAttribute("data-no-answer")) {
          var none = row.querySelector(".confidence input[value='']");
          if (none) {
            none.checked = true; // a cleared answer keeps no confidence
          }
        }
        syncRow(row);
      });
    });
    // Enter in a rating would post the page (the browser's implicit submission): never.
    form.addEventListener("keydown", function (event) {
      if (event.key === "Enter" && event.target.tagName === "INPUT") {
        event.preventDefault();
      }
    });
  }
  if (!modern) {
    return;
  }

  var forget = document.querySelector("[data-forget-device]");
  if (forget) {
    // Submitted: nothing of the questionnaire needs to stay on this device.
    flush().then(function (left) {
      if (left.length) {
        return;
      }
      queueForget();
      if (navigator.serviceWorker) {
        navigator.serviceWorker.getRegistrations().then(function (registrations) {
          registrations.forEach(function (registration) {
            registration.unregister();
          });
        });
      }
      if (window.caches) {
        caches.keys().then(function (names) {
          names.forEach(function (name) {
            if (name.indexOf("survey-offline-") === 0) {
              caches.delete(name);
            }
          });
        });
      }
    });
  } else if (navigator.serviceWorker && window.isSecureContext) {
    var worker = sync.getAttribute("data-service-worker");
    navigator.serviceWorker
      .register(worker + "?lang=" + encodeURIComponent(root.lang || ""))
      .catch(function () {});
  }

  document.querySelectorAll("form").forEach(function (other) {
    if (other !== form) {
      guard(other, null);
    }
  });
  document.querySelectorAll("[data-reload]").forEach(function (button) {
    button.hidden = false;
    button.addEventListener("click", function () {
      window.location.reload();
    });
  });

  (form ? blockPage() : Promise.resolve()).then(flush);
  window.addEventListener("online", function () {
    retryDelay = 2000;
    flush();
  });
  window.addEventListener("offline", function () {
    offline = true;
    queueAll().then(report);
  });
  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "visible") {
      flush();
    }
  });
})();
