// The composer's page: asks the JSON API (/api/compose...), shows the answer, keeps the asks in the
// URL's fragment so that a permalink gives the same tune again. Text goes in with textContent; the
// sheet music is server-made SVG, parsed as SVG (no script runs: the page's CSP forbids it anyway).
"use strict";
const $ = (id) => document.getElementById(id);
const TONICS = ["C", "C#", "Db", "D", "Eb", "E", "F", "F#", "Gb", "G", "Ab", "A", "Bb", "B"];
let models = {};
let state = { model: "", steps: [] }; // the permalink: the model and every ask, edits included
let tune = null; // the last answer: {id, abc, svg, timemap, qpm}
let frame = 0;

function say(text) { $("status").textContent = text; }
function fail(text) { $("error").textContent = text; say(""); }

async function call(method, url, body, raw) {
  const init = { method, headers: {} };
  if (raw) { init.body = raw; init.headers["Content-Type"] = "application/octet-stream"; }
  else if (body !== undefined) { init.body = JSON.stringify(body); init.headers["Content-Type"] = "application/json"; }
  const res = await fetch(url, init);
  let data = null;
  try { data = await res.json(); } catch (e) { data = null; }
  if (!res.ok) {
    let msg = (data && data.error) || `${res.status} ${res.statusText}`;
    if (res.status === 503 || res.status === 429) msg += ` (try again in ${res.headers.get("Retry-After") || "a few"} s)`;
    if (data && data.detail && Array.isArray(data.detail)) msg += ": " + data.detail.map((d) => d.msg || d).join("; ");
    throw new Error(msg);
  }
  return data;
}

function options(select, values, any) {
  select.replaceChildren();
  if (any) { const o = document.createElement("option"); o.value = ""; o.textContent = "any"; select.append(o); }
  for (const v of values) { const o = document.createElement("option"); o.value = v; o.textContent = v; select.append(o); }
}

function showControls() {
  const m = models[$("model").value];
  if (!m) return;
  options($("key"), m.keys.length ? m.keys : TONICS, true);
  options($("mode"), m.modes, true);
  options($("meter"), m.meters, true);
  options($("type"), m.types, true);
  const has = { key: true, mode: m.modes.length > 0, meter: m.meters.length > 0, bars: m.bars, type: m.types.length > 0 };
  for (const label of document.querySelectorAll("[data-control]")) label.hidden = !has[label.dataset.control];
  $("fill-tools").hidden = !m.fills_in;
  $("vary-tools").hidden = !m.fills_in;
  $("about").textContent = `${m.family}, ${m.encoding}; keys by ${m.key_by}` + (m.fills_in ? "; fills in bars" : "");
}

function controls() {
  const ask = { model: $("model").value, temperature: Number($("temperature").value),
                top_p: Number($("top_p").value), seed: Number($("seed").value) };
  for (const name of ["key", "mode", "meter", "type"]) {
    const label = document.querySelector(`[data-control=${name}]`);
    if (!label.hidden && $(name).value) ask[name] = $(name).value;
  }
  if (!document.querySelector("[data-control=bars]").hidden && $("bars").value) ask.bars = Number($("bars").value);
  return ask;
}

function sampling() {
  // what an ask about the tune so far carries: the model and how to sample, a fresh seed per step
  return { model: $("model").value, temperature: Number($("temperature").value), top_p: Number($("top_p").value),
           seed: Number($("seed").value) + state.steps.length };
}

function show(answer) {
  tune = answer;
  $("error").textContent = "";
  const svg = new DOMParser().parseFromString(answer.svg, "image/svg+xml").documentElement;
  $("sheet").replaceChildren(document.importNode(svg, true));
  $("player").src = `/api/compose/media/${answer.id}.wav`;
  $("abc").value = answer.abc;
  for (const ext of ["abc", "mid", "musicxml", "wav", "svg"]) $(`dl-${ext}`).href = `/api/compose/media/${answer.id}.${ext}?download=1`;
  const link = location.pathname + "#t=" + encode(state);
  history.replaceState(null, "", link);
  $("permalink").href = link;
  $("result").hidden = false;
  say(`${answer.notes} notes, ${answer.bars} bars` + (answer.seconds ? ` in ${answer.seconds.toFixed(2)} s` : ""));
}

function encode(obj) {
  const bytes = new TextEncoder().encode(JSON.stringify(obj));
  let s = "";
  for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function decode(text) {
  const s = atob(text.replace(/-/g, "+").replace(/_/g, "/"));
  return JSON.parse(new TextDecoder().decode(Uint8Array.from(s, (c) => c.charCodeAt(0))));
}

async function step(ask) {
  // one step of the tune's history: an edit (its ABC) or an ask of the model (on the tune so far)
  if (ask.action === "edit") return call("POST", "/api/compose/render", { abc: ask.abc });
  const body = Object.assign({}, ask);
  if (ask.action !== "generate" && tune) body.abc = tune.abc;
  return call("POST", "/api/compose", body);
}

async function run(ask, fresh) {
  $("error").textContent = "";
  say("working...");
  for (const b of document.querySelectorAll("button")) b.disabled = true;
  try {
    const answer = await step(ask);
    state = fresh ? { model: $("model").value, steps: [ask] } : { model: state.model, steps: [...state.steps, ask] };
    show(answer);
  } catch (e) {
    fail(e.message);
  } finally {
    for (const b of document.querySelectorAll("button")) b.disabled = false;
  }
}

function follow() {
  // the playing notes, highlighted: quarter notes from the start = seconds x qpm / 60
  cancelAnimationFrame(frame);
  if (!tune || $("player").paused) return;
  const q = ($("player").currentTime * tune.qpm) / 60;
  for (const el of document.querySelectorAll("#sheet .playing")) el.classList.remove("playing");
  for (const [start, end, id] of tune.timemap) {
    if (start <= q && q < end) { const el = document.getElementById(id); if (el) el.classList.add("playing"); }
  }
  frame = requestAnimationFrame(follow);
}

async function upload() {
  const file = $("upload").files[0];
  if (!file) return;
  try {
    const data = await call("POST", `/api/compose/import?name=${encodeURIComponent(file.name)}`, undefined, file);
    $("primer").value = data.abc;
    say(`${file.name} read: continue it with Generate`);
  } catch (e) { fail(e.message); }
}

async function replay(saved) {
  // a permalink: the model, then every step in order
  $("model").value = saved.model;
  showControls();
  const asked = saved.steps.find((s) => s.action === "generate") || {};
  for (const name of ["key", "mode", "meter", "type", "bars", "temperature", "top_p", "seed"]) {
    if (asked[name] !== undefined) $(name).value = String(asked[name]);
  }
  if (asked.abc) $("primer").value = asked.abc;
  say("rebuilding the tune...");
  try {
    for (const ask of saved.steps) {
      tune = await step(ask);
      state = { model: saved.model, steps: [...state.steps, ask] };
    }
    show(tune);
  } catch (e) { fail("this permalink could not be rebuilt: " + e.message); }
}

async function start() {
  try {
    const list = await call("GET", "/api/compose/models");
    for (const m of list) if (!m.error) models[m.name] = m;
  } catch (e) { fail(e.message); return; }
  options($("model"), Object.keys(models), false);
  options($("to"), TONICS, false);
  showControls();
  $("model").addEventListener("change", showControls);
  $("ask").addEventListener("submit", (ev) => {
    ev.preventDefault();
    const ask = Object.assign(controls(), { action: "generate" });
    if ($("primer").value.trim()) ask.abc = $("primer").value;
    run(ask, true);
  });
  $("fill").addEventListener("click", () => run(Object.assign(sampling(), { action: "fill", first: Number($("first").value), last: Number($("last").value) })));
  $("continue").addEventListener("click", () => {
    const ask = Object.assign(sampling(), { action: "continue" });
    if ($("from_bar").value) ask.from_bar = Number($("from_bar").value);
    if (!document.querySelector("[data-control=bars]").hidden && $("bars").value) ask.bars = Number($("bars").value);
    run(ask);
  });
  $("vary").addEventListener("click", () => run(Object.assign(sampling(), { action: "vary", keep: Number($("keep").value) })));
  $("transpose").addEventListener("click", () => run({ model: $("model").value, action: "transpose", to: $("to").value }));
  $("apply").addEventListener("click", () => run({ action: "edit", abc: $("abc").value }));
  $("upload").addEventListener("change", upload);
  $("player").addEventListener("play", follow);
  $("player").addEventListener("ended", () => { for (const el of document.querySelectorAll("#sheet .playing")) el.classList.remove("playing"); });
  const m = location.hash.match(/^#t=([A-Za-z0-9_-]+)$/);
  if (m) {
    try { await replay(decode(m[1])); } catch (e) { fail("this permalink is damaged"); }
  }
}

start();
