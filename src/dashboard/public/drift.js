/* global document, window */
// The Drift page: polls /api/drift every 2 s; alerts with their actions and history, findings,
// drift score and clock offset over rounds. Acknowledge / resolve POST JSON to the same origin.
// DOM built with textContent only.
"use strict";
(function () {
  const POLL_MS = 2000;
  const $ = (id) => document.getElementById(id);
  const el = (tag, text, attrs) => {
    const e = document.createElement(tag);
    if (text !== undefined) e.textContent = text;
    for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
    return e;
  };
  const score = (s) => (s === null || s === undefined ? "—" : s.toFixed(3));
  let lastAlerts = "";
  let timer;

  function row(cells, key) {
    const tr = el("tr");
    if (key) tr.dataset.key = key;
    for (const c of cells) tr.appendChild(el("td", c));
    return tr;
  }

  async function act(id, action) {
    const who = $("who").value.trim();
    const note = $(`note-${id}`).value;
    const out = $("action-status");
    if (who === "") {
      out.textContent = "Enter your name first.";
      $("who").focus();
      return;
    }
    if (action === "resolve" && note.trim() === "") {
      out.textContent = `Resolving alert ${id} needs a note.`;
      $(`note-${id}`).focus();
      return;
    }
    try {
      const res = await window.fetch(`/api/drift/alerts/${encodeURIComponent(id)}/${action}`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ by: who, note }),
      });
      const body = await res.json();
      if (!res.ok) throw new Error(body.error || `HTTP ${res.status}`);
      out.textContent = `Alert ${id} is now ${body.state}.`;
      $(`note-${id}`).value = "";
      lastAlerts = "";
      window.clearTimeout(timer);
      await refresh();
    } catch (e) {
      out.textContent = `Alert ${id} not changed: ${e.message}`;
    }
  }

  function alertCard(a) {
    const card = el("article", undefined, { "data-alert-id": String(a.id), "data-state": a.state });
    card.className = `alert sev-${a.severity}`;
    card.appendChild(el("h3", `#${a.id} ${a.cause} — ${a.node} ↔ ${a.majorityNode}`));
    const dl = el("dl", undefined, { class: "latest" });
    const facts = [
      ["Federation", a.federation],
      ["State", a.state],
      ["Severity", a.severity],
      ["Drift score", score(a.driftScore)],
      ["Rounds", a.firstRound === a.lastRound ? a.firstRound : `${a.firstRound}–${a.lastRound}`],
      ["Occurrences", String(a.occurrences)],
    ];
    if (a.observedBy) facts.push(["Observed by", a.observedBy]);
    for (const [k, v] of facts) {
      const div = el("div");
      div.appendChild(el("dt", k));
      div.appendChild(el("dd", v, { "data-field": k.toLowerCase().replace(/ /g, "-") }));
      dl.appendChild(div);
    }
    card.appendChild(dl);
    card.appendChild(el("h4", "Recommended actions"));
    const ol = el("ol", undefined, { class: "actions" });
    for (const s of a.actions) ol.appendChild(el("li", s));
    card.appendChild(ol);
    card.appendChild(el("h4", "History"));
    const ul = el("ul", undefined, { class: "history" });
    for (const h of a.history)
      ul.appendChild(
        el("li", `${h.at} ${h.from || "—"} → ${h.to} by ${h.actor}${h.note ? `: ${h.note}` : ""}`),
      );
    card.appendChild(ul);
    if (a.state === "open" || a.state === "acknowledged") {
      const form = el("form", undefined, { "aria-label": `Change alert ${a.id}` });
      form.appendChild(el("label", `Note for alert ${a.id}`, { for: `note-${a.id}` }));
      form.appendChild(el("textarea", undefined, { id: `note-${a.id}`, rows: "2", maxlength: "2000" }));
      const buttons = el("p");
      if (a.state === "open") {
        const ack = el("button", "Acknowledge", {
          type: "button",
          "aria-label": `Acknowledge alert ${a.id}`,
        });
        ack.addEventListener("click", () => void act(a.id, "ack"));
        buttons.appendChild(ack);
      }
      const resolve = el("button", "Resolve", { type: "button", "aria-label": `Resolve alert ${a.id}` });
      resolve.addEventListener("click", () => void act(a.id, "resolve"));
      buttons.appendChild(resolve);
      form.appendChild(buttons);
      form.addEventListener("submit", (e) => e.preventDefault());
      card.appendChild(form);
    }
    return card;
  }

  function renderAlerts(alerts) {
    const key = JSON.stringify(alerts);
    if (key === lastAlerts) return; // keep what the operator is typing
    lastAlerts = key;
    const notes = {};
    for (const t of document.querySelectorAll("#alerts textarea")) notes[t.id] = t.value;
    if (alerts.length === 0)
      $("alerts").replaceChildren(
        el(
          "p",
          "No drift alerts: every node agreed on every round observed. (To see one: amp up --drift serialization_divergence --drift-rounds 3, test/demo only.)",
          { class: "muted" },
        ),
      );
    else $("alerts").replaceChildren(...alerts.map(alertCard));
    for (const [id, v] of Object.entries(notes)) if ($(id)) $(id).value = v;
  }

  function render(s) {
    renderAlerts(s.alerts);
    $("findings").replaceChildren(
      ...s.findings.map((f) =>
        row(
          [
            f.round,
            f.federation,
            `${f.node} ↔ ${f.majorityNode}`,
            f.cause,
            score(f.driftScore),
            f.severity,
            f.kind,
            f.alertId === null ? "—" : `#${f.alertId}`,
          ],
          String(f.id),
        ),
      ),
    );
    const scores = window.ampPivot(
      s.findings
        .filter((f) => f.driftScore !== null)
        .map((f) => ({ x: Number(f.round), series: f.node, y: f.driftScore })),
    );
    window.ampPlot("score-plot", "drift score (divergent / batch leaves)", "round", scores.xs, scores.series);
    const clock = window.ampPivot(
      s.clock.map((c) => ({ x: Number(c.round), series: c.node, y: c.offsetMs })),
    );
    window.ampPlot(
      "clock-plot",
      "clock offset from the federation median (ms)",
      "round",
      clock.xs,
      clock.series,
    );
  }

  async function refresh() {
    try {
      const res = await window.fetch("/api/drift", { cache: "no-store" });
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
      const body = await res.json();
      if (body.available === false) {
        // Served from running nodes that do not offer drift: say so instead of empty tables.
        $("status").textContent = `Drift not available: ${body.reason}`;
        return;
      }
      render(body);
      $("status").textContent = `Updated ${new Date().toLocaleTimeString()} (every ${POLL_MS / 1000} s)`;
    } catch (e) {
      $("status").textContent = `Cannot load drift: ${e.message}; retrying`;
    } finally {
      window.clearTimeout(timer);
      timer = window.setTimeout(refresh, POLL_MS);
    }
  }

  void refresh();
})();
