/* The questionnaire's service worker (scope /s/): when a page cannot be loaded, it shows
   the offline page instead of the browser's error page. It keeps only that page and its
   style and script in its cache, whose name holds no link: never a page with answers.
   Answers waiting to be sent are kept and sent by the pages (questionnaire.js). */
"use strict";

var CACHE = "survey-offline-{{ version }}";
var OFFLINE = {{ offline_url_json }};
var ASSETS = {{ assets_json }};

self.addEventListener("install", function (event) {
  event.waitUntil(
    caches.open(CACHE).then(function (cache) {
      return cache.addAll([OFFLINE].concat(ASSETS));
    }).then(function () {
      return self.skipWaiting();
    })
  );
});

self.addEventListener("activate", function (event) {
  event.waitUntil(
    caches.keys().then(function (names) {
      return Promise.all(
        names
          .filter(function (name) {
            return name.indexOf("survey-offline-") === 0 && name !== CACHE;
          })
          .map(function (name) {
            return caches.delete(name);
          })
      );
    }).then(function () {
      return self.clients.claim();
    })
  );
});

self.addEventListener("fetch", function (event) {
  var request = event.request;
  if (request.method !== "GET") {
    return; // posts go to the network as they are; the pages guard them
  }
  if (request.mode === "navigate") {
    event.respondWith(
      fetch(request).catch(function () {
        return caches.match(OFFLINE, { cacheName: CACHE });
      })
    );
    return;
  }
  var path = new URL(request.url).pathname;
  if (ASSETS.indexOf(path) >= 0) {
    event.respondWith(
      fetch(request).catch(function () {
        return caches.match(path, { cacheName: CACHE });
      })
    );
  }
});
