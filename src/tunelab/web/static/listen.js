// tunelab listening test: consent, then one step at a time against the JSON API.
// The listener id lives in localStorage, so a reload resumes at the next unanswered step.
// Text is written with textContent only; nothing the server sends is parsed as HTML.
"use strict";
(function () {
  const app = document.getElementById("app");
  const testId = app.dataset.test;
  const storeKey = "tunelab-listener-" + testId;
  const $ = (id) => document.getElementById(id);
  let test = null, listener = null, current = null, played = {}, need = 0;

  function show(section) {
    for (const id of ["consent", "step", "done"]) $(id).hidden = id !== section;
  }
  function fail(message) { $("error").textContent = message; }

  async function api(method, path, body) {
    const res = await fetch(path, {
      method, headers: body ? { "Content-Type": "application/json" } : {},
      body: body ? JSON.stringify(body) : undefined,
    });
    const data = await res.json().catch(() => ({ error: res.statusText }));
    if (!res.ok) { const err = new Error(data.error || res.statusText); err.status = res.status; throw err; }
    return data;
  }

  function player(label, url, seconds, slot) {
    const box = document.createElement("div");
    box.className = "player";
    const name = document.createElement("p");
    name.textContent = label;
    const audio = document.createElement("audio");
    audio.controls = true; audio.preload = "auto"; audio.src = url;
    played[slot] = 0;
    let last = 0;
    audio.addEventListener("timeupdate", () => {
      const step = audio.currentTime - last;
      if (!audio.seeking && step > 0 && step < 1.5) played[slot] += step;  // count heard time, not jumps
      last = audio.currentTime; update();
    });
    audio.addEventListener("seeked", () => { last = audio.currentTime; });
    audio.addEventListener("ended", () => { played[slot] = Math.max(played[slot], seconds); update(); });
    box.append(name, audio);
    return box;
  }

  function heard() { return Math.min(...Object.values(played)); }

  function update() {
    const form = $("answers");
    const ready = heard() >= need;
    for (const input of form.querySelectorAll("input")) input.disabled = !ready;
    const answered = current.kind === "rate"
      ? test.scales.every((s) => form.querySelector(`input[name="${s}"]:checked`))
      : !!form.querySelector('input[name="choice"]:checked');
    $("submit").disabled = !(ready && answered);
    $("hint").textContent = ready ? "" : `Listen for at least ${need.toFixed(0)} s to answer.`;
  }

  function scaleRow(name, points) {
    const row = document.createElement("fieldset");
    const legend = document.createElement("legend");
    legend.textContent = name.replace(/_/g, " ");
    row.append(legend);
    for (let v = 1; v <= points; v++) {
      const label = document.createElement("label");
      const input = document.createElement("input");
      input.type = "radio"; input.name = name; input.value = String(v); input.disabled = true;
      input.addEventListener("change", update);
      label.append(input, document.createTextNode(String(v)));
      row.append(label);
    }
    return row;
  }

  function render(progress) {
    if (progress.done) { localStorage.removeItem(storeKey); show("done"); return; }
    current = progress.step;
    show("step");
    $("counter").textContent = `Melody ${progress.next_position + 1} of ${progress.total}`;
    $("bar").style.width = `${(100 * progress.next_position) / progress.total}%`;
    const players = $("players"), form = $("answers");
    players.replaceChildren(); form.replaceChildren(); played = {};
    $("comment").value = "";
    if (current.kind === "rate") {
      players.append(player("Melody", current.audio, current.seconds, "x"));
      need = Math.min(test.min_play_s, 0.9 * current.seconds);
      for (const s of test.scales) form.append(scaleRow(s, test.points));
    } else {
      players.append(player("A", current.a.audio, current.a.seconds, "a"),
                     player("B", current.b.audio, current.b.seconds, "b"));
      need = Math.min(test.min_play_s, 0.9 * current.a.seconds, 0.9 * current.b.seconds);
      const row = document.createElement("fieldset");
      const legend = document.createElement("legend");
      legend.textContent = "Which do you prefer?";
      row.append(legend);
      const options = test.no_preference ? [["A", "A"], ["B", "B"], ["none", "no preference"]] : [["A", "A"], ["B", "B"]];
      for (const [v, text] of options) {
        const label = document.createElement("label");
        const input = document.createElement("input");
        input.type = "radio"; input.name = "choice"; input.value = v; input.disabled = true;
        input.addEventListener("change", update);
        label.append(input, document.createTextNode(text));
        row.append(label);
      }
      form.append(row);
    }
    listener.position = progress.next_position;
    update();
  }

  async function next() {
    render(await api("GET", `/api/listeners/${listener.id}`));
  }

  async function submit(event) {
    event.preventDefault();
    $("submit").disabled = true;
    const form = $("answers");
    const body = { listener_id: listener.id, position: listener.position, played_s: heard() };
    if (current.kind === "rate") {
      body.ratings = {};
      for (const s of test.scales) body.ratings[s] = Number(form.querySelector(`input[name="${s}"]:checked`).value);
    } else {
      body.choice = form.querySelector('input[name="choice"]:checked').value;
    }
    const comment = $("comment").value.trim();
    if (comment) body.comment = comment;
    try {
      await api("POST", "/api/responses", body);  // stored before we move on
      fail("");
      await next();
    } catch (err) {
      fail(`Not saved (${err.message}). Please try again.`);
      $("submit").disabled = false;
    }
  }

  async function start() {
    $("start").disabled = true;
    try {
      const expertise = $("expertise").value || null;
      const made = await api("POST", "/api/listeners", {
        test_id: testId, consent: true, expertise, screen: `${screen.width}x${screen.height}`,
      });
      listener = { id: made.listener_id };
      localStorage.setItem(storeKey, listener.id);
      await next();
    } catch (err) { fail(err.message); $("start").disabled = false; }
  }

  async function main() {
    try { test = await api("GET", `/api/tests/${testId}`); } catch (err) { fail(err.message); return; }
    $("agree").addEventListener("change", () => { $("start").disabled = !$("agree").checked; });
    $("start").addEventListener("click", start);
    $("submit").addEventListener("click", submit);
    const saved = localStorage.getItem(storeKey);
    if (saved) {
      listener = { id: saved };
      try { await next(); return; } catch (err) { localStorage.removeItem(storeKey); }
    }
    show("consent");
  }
  main();
})();
