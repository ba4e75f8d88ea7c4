/* global document, window */
// The Proof lookup page: GET /api/proof?event=ID; shows the verification and the proof file.
"use strict";
(function () {
  const $ = (id) => document.getElementById(id);

  $("lookup").addEventListener("submit", (e) => {
    e.preventDefault();
    void lookup($("event-id").value.trim());
  });

  async function lookup(id) {
    $("result").hidden = true;
    if (id === "") {
      $("status").textContent = "Enter an event id.";
      return;
    }
    $("status").textContent = `Looking up ${id}…`;
    try {
      const res = await window.fetch(`/api/proof?event=${encodeURIComponent(id)}`, { cache: "no-store" });
      const body = await res.json();
      if (!res.ok || body.found === false) {
        $("status").textContent = `No proof: ${body.error || `HTTP ${res.status}`}`;
        return;
      }
      const v = body.verification;
      $("verification").textContent = v.status === "invalid" ? `invalid (${v.field})` : v.status;
      $("verification").dataset.status = v.status;
      $("origin").textContent = body.origin;
      $("position").textContent = `${body.index} / ${body.treeSize}`;
      $("round").textContent = body.round;
      $("detail").textContent = v.detail;
      $("proof").textContent = body.proof;
      $("result").hidden = false;
      $("status").textContent = `Proof of ${body.eventId}: ${v.status}.`;
    } catch (err) {
      $("status").textContent = `Lookup failed: ${err.message}`;
    }
  }
})();
