/* global document, window, uPlot */
// The Rounds page: polls /api/rounds every 2 s and redraws. DOM built with textContent only.
"use strict";
(function () {
  const POLL_MS = 2000;
  const $ = (id) => document.getElementById(id);
  const plots = {};
  let paused = false;
  let timer;

  const short = (hex) => (hex && hex.length > 14 ? `${hex.slice(0, 10)}…${hex.slice(-4)}` : hex || "—");
  const ms = (v) => (typeof v === "number" ? v.toFixed(0) : "—");

  function cell(row, text, opts) {
    const td = document.createElement("td");
    if (opts && opts.code) {
      const code = document.createElement("code");
      code.textContent = text;
      if (opts.title) code.title = opts.title;
      td.appendChild(code);
    } else td.textContent = text;
    if (opts && opts.className) td.className = opts.className;
    row.appendChild(td);
    return td;
  }

  function checkpointsText(r) {
    if (r.checkpoints.length === 0) return r.status === "failed" ? r.detail : "—";
    return r.checkpoints
      .map((c) => {
        const name = c.origin.split("/").pop();
        const q = c.signedWeight === null ? `${c.signers} sig` : `q=${c.signedWeight}/${c.totalWeight}`;
        return `${name} ${c.treeSize} ${short(c.rootHash)} ${q}`;
      })
      .join("\n");
  }

  function renderTable(rounds) {
    const body = $("rounds");
    const rows = rounds.map((r) => {
      const tr = document.createElement("tr");
      tr.dataset.round = String(r.round);
      tr.dataset.status = r.status;
      cell(tr, String(r.round));
      cell(tr, r.status, r.status === "failed" ? { className: "failed" } : undefined);
      cell(tr, checkpointsText(r)).style.whiteSpace = "pre-line";
      cell(tr, short(r.globalRoot), { code: true, title: r.globalRoot || "" });
      cell(tr, r.txHash ? `${short(r.txHash)} #${r.blockNumber}` : "—", {
        code: true,
        title: r.txHash || "",
      });
      cell(tr, r.gasUsed || "—");
      const seal = Object.values(r.sealToQuorumMs);
      const sealMax = seal.length > 0 ? Math.max(...seal) : null;
      cell(tr, `${ms(sealMax)} / ${ms(r.quorumToWitnessedMs)} / ${ms(r.witnessedToAnchoredMs)}`);
      return tr;
    });
    body.replaceChildren(...rows);
  }

  const WITNESS_ROUNDS = 10;

  function witnessRow(r, c, w) {
    const tr = document.createElement("tr");
    tr.dataset.key = `${r.round}/${c.origin}/${w.origin}`;
    cell(tr, String(r.round));
    cell(tr, c.origin);
    cell(tr, w.epoch === null ? w.origin : `${w.origin} (${w.epoch})`);
    cell(tr, w.cosigners.map((x) => x.node).join(", ") || "none");
    cell(tr, String(w.cosigners.length));
    cell(tr, w.signedWeight === null ? "—" : `${w.signedWeight} / ${w.totalWeight}, needs ${w.threshold}`);
    const q = w.unavailable !== null ? "unverifiable" : w.quorum ? "yes" : "no";
    cell(tr, q, { className: w.quorum === false || w.unavailable !== null ? "failed" : "" }).dataset.quorum =
      q;
    const notes = (w.unavailable !== null ? [w.unavailable] : []).concat(
      w.unverified.map((u) => `${u.keyName}: ${u.reason}`),
    );
    cell(tr, notes.join("\n") || "none").style.whiteSpace = "pre-line";
    return tr;
  }

  function renderWitnesses(rounds) {
    const rows = rounds
      .filter((r) => r.status === "anchored")
      .slice(0, WITNESS_ROUNDS)
      .flatMap((r) => r.checkpoints.flatMap((c) => (c.witnesses || []).map((w) => witnessRow(r, c, w))));
    $("witnesses").replaceChildren(...rows);
  }

  function renderLatest(snapshot) {
    const latest = snapshot.rounds.find((r) => r.status === "anchored");
    $("chain").textContent = snapshot.anchor
      ? `Chain ${snapshot.chainId}, GlobalProofAnchor ${snapshot.anchor}`
      : "No deployment record in this data dir yet.";
    $("latest-round").textContent = latest ? String(latest.round) : "none yet";
    $("empty-hint").hidden = latest !== undefined;
    $("latest-root").textContent = latest ? latest.globalRoot : "—";
    $("latest-tx").textContent = latest ? latest.txHash : "—";
    $("latest-block").textContent = latest ? String(latest.blockNumber) : "—";
    $("latest-gas").textContent = latest ? latest.gasUsed : "—";
    $("failed-count").textContent = String(snapshot.rounds.filter((r) => r.status === "failed").length);
  }

  function plot(id, title, series, data) {
    const el = $(id);
    const width = Math.max(320, el.clientWidth || 800);
    const key = series.map((s) => s.label).join("|");
    if (plots[id] && plots[id].key === key) {
      plots[id].plot.setData(data);
      return;
    }
    if (plots[id]) plots[id].plot.destroy();
    const colors = ["#0969da", "#8250df", "#1a7f37", "#bf3989", "#9a6700", "#cf222e"];
    const opts = {
      title,
      width,
      height: 240,
      scales: { x: { time: false } },
      axes: [{ label: "round", incrs: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000] }, { size: 80 }],
      series: [{ label: "round" }].concat(
        series.map((s, i) => ({
          label: s.label,
          stroke: colors[i % colors.length],
          width: 2,
          spanGaps: true,
        })),
      ),
    };
    plots[id] = { key, plot: new uPlot(opts, data, el) };
  }

  function renderPlots(rounds) {
    const done = rounds
      .filter((r) => r.status !== "failed")
      .slice()
      .reverse();
    const xs = done.map((r) => r.round);
    const feds = [...new Set(done.flatMap((r) => Object.keys(r.sealToQuorumMs)))].sort();
    const series = feds
      .map((f) => ({
        label: `seal→quorum ${f.split("/").pop()}`,
        values: done.map((r) => r.sealToQuorumMs[f] ?? null),
      }))
      .concat([
        { label: "quorum→witnessed", values: done.map((r) => r.quorumToWitnessedMs) },
        { label: "witnessed→anchored", values: done.map((r) => r.witnessedToAnchoredMs) },
      ]);
    plot("latency-plot", "ms per stage", series, [xs].concat(series.map((s) => s.values)));
    const gas = [{ label: "gas", values: done.map((r) => (r.gasUsed === null ? null : Number(r.gasUsed))) }];
    plot("gas-plot", "gas per anchor", gas, [xs, gas[0].values]);
  }

  async function refresh() {
    try {
      const res = await fetch("/api/rounds", { cache: "no-store" });
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
      const snapshot = await res.json();
      renderLatest(snapshot);
      renderTable(snapshot.rounds);
      renderWitnesses(snapshot.rounds);
      renderPlots(snapshot.rounds);
      // A stopped node-layout data dir stores no stage latencies: say so instead of a blank plot.
      $("latency-note").textContent = snapshot.latencies || "";
      $("latency-note").hidden = !snapshot.latencies;
      $("status").textContent = `Updated ${new Date().toLocaleTimeString()} (every ${POLL_MS / 1000} s)`;
    } catch (e) {
      $("status").textContent = `Cannot load rounds: ${e.message}; retrying`;
    } finally {
      if (!paused) timer = window.setTimeout(refresh, POLL_MS);
    }
  }

  $("pause").addEventListener("click", () => {
    paused = !paused;
    $("pause").setAttribute("aria-pressed", String(paused));
    $("pause").textContent = paused ? "Resume live updates" : "Pause live updates";
    window.clearTimeout(timer);
    if (!paused) void refresh();
  });

  void refresh();
})();
