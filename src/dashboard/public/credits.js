/* global document, window */
// The Credits page: polls /api/credits every 5 s; score and weight per node over epochs, the
// ranking, and every allocation with its receipt and verification. DOM built with textContent only.
"use strict";
(function () {
  const POLL_MS = 5000;
  const $ = (id) => document.getElementById(id);
  const short = (hex) => (hex && hex.length > 14 ? `${hex.slice(0, 10)}…${hex.slice(-4)}` : hex || "—");
  const pct = (ppm) => `${(Number(ppm) / 10000).toFixed(2)}%`;

  function fill(id, rows) {
    $(id).replaceChildren(
      ...rows.map(({ key, cells }) => {
        const tr = document.createElement("tr");
        tr.dataset.key = key;
        for (const c of cells) {
          const td = document.createElement("td");
          if (typeof c === "object") {
            const code = document.createElement("code");
            code.textContent = c.text;
            code.title = c.title;
            td.appendChild(code);
            if (c.status) td.dataset.status = c.status;
          } else td.textContent = c;
          tr.appendChild(td);
        }
        return tr;
      }),
    );
  }

  function render(s) {
    $("receipts-contract").textContent = s.receipts
      ? `Receipts verified against the pinned ProofCreditReceipts ${s.receipts}${s.source ? `; records read from ${s.source}` : ""}`
      : "No chain pinned: receipts are not verified (amp dashboard --rpc URL).";
    // Live from nodes: when the next allocation comes (an empty page says why it is empty).
    $("next-allocation").textContent = s.next ? s.next.message : "";
    $("next-allocation").hidden = !s.next;
    fill(
      "ranking",
      s.ranking.map((n) => ({
        key: `${n.origin}/${n.node}`,
        cells: [
          String(n.rank),
          n.origin,
          n.node,
          String(n.epochs),
          n.score,
          pct(n.accuracyPpm),
          pct(n.participationPpm),
        ],
      })),
    );
    fill(
      "allocations",
      s.allocations
        .slice()
        .reverse()
        .map((a) => ({
          key: `${a.epoch}/${a.origin}/${a.node}`,
          cells: [
            a.epoch,
            a.origin,
            a.node,
            a.score,
            a.weight,
            a.accuracy,
            a.participation,
            String(a.driftFindings),
            { text: short(a.allocationHash), title: a.allocationHash },
            { text: a.txHash ? `${short(a.txHash)} #${a.blockNumber}` : "—", title: a.txHash || "" },
            { text: a.verification.status, title: a.verification.detail, status: a.verification.status },
          ],
        })),
    );
    const rows = (field) =>
      s.allocations.map((a) => ({ x: Number(a.epoch), series: a.node, y: Number(a[field]) }));
    const score = window.ampPivot(rows("score"));
    window.ampPlot("score-plot", "credit score per epoch", "epoch", score.xs, score.series);
    const weight = window.ampPivot(rows("weight"));
    window.ampPlot("weight-plot", "governance weight per epoch", "epoch", weight.xs, weight.series);
  }

  async function refresh() {
    try {
      const res = await window.fetch("/api/credits", { cache: "no-store" });
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
      const body = await res.json();
      if (body.available === false) {
        // Served from running nodes that do not offer credits: say so instead of empty tables.
        $("status").textContent = `Credits not available: ${body.reason}`;
        return;
      }
      render(body);
      $("status").textContent = `Updated ${new Date().toLocaleTimeString()} (every ${POLL_MS / 1000} s)`;
    } catch (e) {
      $("status").textContent = `Cannot load credits: ${e.message}; retrying`;
    } finally {
      window.setTimeout(refresh, POLL_MS);
    }
  }

  void refresh();
})();
