// tunelab results page (admin): asks for the token, keeps it for this tab only (sessionStorage),
// and sends it in the X-Admin-Token header; the token never goes into a URL or the page.
// Tables come as text from /api/tests/ID/report and are written with textContent only.
"use strict";
(function () {
  const root = document.getElementById("results");
  const testId = root.dataset.test;
  const $ = (id) => document.getElementById(id);
  const tokenKey = "tunelab-admin-token";

  function fail(message) { $("error").textContent = message; }

  async function call(path, method = "GET") {
    const token = sessionStorage.getItem(tokenKey) || "";
    const res = await fetch(path, { method, headers: { "X-Admin-Token": token }, cache: "no-store" });
    if (!res.ok) {
      const data = await res.json().catch(() => ({ error: res.statusText }));
      if (res.status === 401 || res.status === 403) sessionStorage.removeItem(tokenKey);
      throw new Error(data.error || res.statusText);
    }
    return res;
  }

  function table(t) {
    const box = document.createElement("section");
    const title = document.createElement("h2");
    title.textContent = t.title;
    box.append(title);
    if (t.note) { const p = document.createElement("p"); p.textContent = t.note; box.append(p); }
    const el = document.createElement("table");
    const head = document.createElement("tr");
    for (const h of t.header) { const th = document.createElement("th"); th.textContent = h; head.append(th); }
    el.append(head);
    for (const row of t.rows) {
      const tr = document.createElement("tr");
      for (const cell of row) { const td = document.createElement("td"); td.textContent = cell; tr.append(td); }
      el.append(tr);
    }
    box.append(el);
    return box;
  }

  async function download(fmt) {
    try {
      const blob = await (await call(`/api/tests/${testId}/export.${fmt}`)).blob();
      const a = document.createElement("a");
      a.href = URL.createObjectURL(blob); a.download = `${testId}.${fmt}`; a.click();
    } catch (err) { fail(err.message); }
  }

  async function show() {
    try {
      const report = await (await call(`/api/tests/${testId}/report`)).json();
      const t = report.test;
      $("summary").textContent = `${t.name}: ${t.listeners} listeners, ${t.finished} finished, ${t.responses} answers.`;
      $("tables").replaceChildren(...report.tables.map(table));
      const chart = await (await call(`/api/tests/${testId}/chart.png`)).blob();
      $("chart").src = URL.createObjectURL(chart);
      $("login").hidden = true; $("report").hidden = false; fail("");
    } catch (err) { fail(err.message); $("login").hidden = false; }
  }

  $("login").addEventListener("submit", (event) => {
    event.preventDefault();
    sessionStorage.setItem(tokenKey, $("token").value);
    $("token").value = "";
    show();
  });
  $("csv").addEventListener("click", () => download("csv"));
  $("json").addEventListener("click", () => download("json"));
  $("close").addEventListener("click", async () => {
    if (!window.confirm("Close this test? It will accept no more listeners or answers.")) return;
    try { await call(`/api/tests/${testId}/close`, "POST"); show(); } catch (err) { fail(err.message); }
  });
  if (sessionStorage.getItem(tokenKey)) show();
})();
