/* global document, window */
// The Nodes page: polls /api/nodes every 2 s and redraws the three tables (textContent only).
"use strict";
(function () {
  const POLL_MS = 2000;
  const $ = (id) => document.getElementById(id);
  const dash = (v) => (v === null || v === undefined ? "—" : String(v));
  const short = (hex) => (hex && hex.length > 14 ? `${hex.slice(0, 10)}…${hex.slice(-4)}` : dash(hex));

  function fill(id, rows, key) {
    $(id).replaceChildren(
      ...rows.map((cells, i) => {
        const tr = document.createElement("tr");
        if (key) tr.dataset.key = key[i];
        for (const c of cells) {
          const td = document.createElement("td");
          td.textContent = c;
          tr.appendChild(td);
        }
        return tr;
      }),
    );
  }

  function faults(f) {
    const parts = Object.entries(f).map(([k, n]) => `${k} ×${n}`);
    return parts.length > 0 ? parts.join(", ") : "none";
  }

  const clock = (n) =>
    n.clockOffsetMs === null ? "—" : `${Math.round(n.clockOffsetMs)} ms (round ${n.clockRound})`;
  const weight = (n) =>
    n.governanceWeight === null ? "—" : `${n.governanceWeight} (epoch ${n.weightEpoch})`;

  function render(s) {
    if (s.live) {
      $("live-section").hidden = false;
      fill(
        "live",
        s.live.map((n) => [
          dash(n.id),
          n.url,
          n.up ? "yes" : "NO",
          dash(n.federation),
          dash(n.treeSize),
          short(n.rootHash),
          dash(n.lastSignedRound),
          dash(n.lastAnchoredRound),
          dash(n.pendingEvents),
          clock(n),
          dash(n.rank),
          weight(n),
        ]),
        s.live.map((n) => n.url),
      );
      const why = Object.entries(s.unavailable || {}).map(([k, v]) => `${k}: ${v}`);
      $("live-unavailable").textContent = why.length > 0 ? `— means not served: ${why.join("; ")}` : "";
    }
    fill(
      "federations",
      s.federations.map((f) => [
        f.origin,
        dash(f.epoch),
        String(f.validators),
        dash(f.totalWeight),
        dash(f.lastAnchoredRound),
        dash(f.treeSize),
        short(f.rootHash),
        f.signedWeight === null ? "—" : `${f.signedWeight} / ${f.totalWeight}`,
      ]),
      s.federations.map((f) => f.origin),
    );
    fill(
      "nodes",
      s.nodes.map((n) => [
        n.federation,
        n.node,
        dash(n.weight),
        `${n.roundsParticipated} / ${n.roundsExpected}`,
        String(n.votesCast),
        String(n.correctVotes),
        faults(n.faults),
        clock(n),
        dash(n.rank),
        weight(n),
      ]),
      s.nodes.map((n) => `${n.federation}/${n.node}`),
    );
    const why = ["participation", "clock", "credits"]
      .filter((k) => s.unavailable && s.unavailable[k])
      .map((k) => `${k}: ${s.unavailable[k]}`);
    $("nodes-unavailable").textContent = why.length > 0 ? `— means not known: ${why.join("; ")}` : "";
    fill(
      "evidence",
      s.evidence.map((e) => [
        e.recordedAt,
        e.round,
        e.origin,
        e.nodeId,
        e.kind,
        e.detail,
        dash(e.recordedBy),
      ]),
      s.evidence.map((e) => `${e.round}/${e.nodeId}/${e.kind}`),
    );
  }

  async function refresh() {
    try {
      const res = await window.fetch("/api/nodes", { cache: "no-store" });
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
      render(await res.json());
      $("status").textContent = `Updated ${new Date().toLocaleTimeString()} (every ${POLL_MS / 1000} s)`;
    } catch (e) {
      $("status").textContent = `Cannot load nodes: ${e.message}; retrying`;
    } finally {
      window.setTimeout(refresh, POLL_MS);
    }
  }

  void refresh();
})();
