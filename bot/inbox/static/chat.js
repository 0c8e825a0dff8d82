// The customer web chat. Who this browser is comes from an HttpOnly cookie the server set
// with the page; every text is put in as text (textContent), never parsed as HTML.
(() => {
  "use strict";
  const log = document.getElementById("log");
  const form = document.getElementById("form");
  const input = document.getElementById("text");
  const typing = document.getElementById("typing");
  const LINK = /\bhttps?:\/\/[^\s<>"']+/g;
  let waiting = 0;

  function showNewest() {
    const last = log.lastElementChild;
    log.scrollTop = log.scrollHeight;
    if (last) last.scrollIntoView({block: "end"});
  }

  // Text with its http(s) links as safe <a> elements; everything else stays text.
  function appendText(parent, text) {
    let at = 0;
    for (const match of text.matchAll(LINK)) {
      let url = match[0].replace(/[.,;:!?)\]]+$/, "");
      if (match.index > at) parent.appendChild(document.createTextNode(text.slice(at, match.index)));
      let parsed = null;
      try { parsed = new URL(url); } catch (e) { parsed = null; }
      if (parsed && (parsed.protocol === "https:" || parsed.protocol === "http:")) {
        const a = document.createElement("a");
        a.href = parsed.href;
        a.textContent = url;
        a.target = "_blank";
        a.rel = "noopener noreferrer";
        parent.appendChild(a);
      } else {
        parent.appendChild(document.createTextNode(url));
      }
      at = match.index + url.length;
    }
    if (at < text.length) parent.appendChild(document.createTextNode(text.slice(at)));
  }

  function add(cls, text, author) {
    const div = document.createElement("div");
    div.className = "msg " + cls;
    if (author) {
      const name = document.createElement("span");
      name.className = "author";
      name.textContent = author;
      div.appendChild(name);
    }
    appendText(div, text);
    log.appendChild(div);
    showNewest();
    return div;
  }

  function addImage(url) {
    let parsed = null;
    try { parsed = new URL(url); } catch (e) { return; }
    if (parsed.protocol !== "https:" && parsed.protocol !== "http:") return;
    const div = document.createElement("div");
    div.className = "msg bot";
    const img = document.createElement("img");
    img.src = parsed.href;
    img.alt = "Bild";
    img.addEventListener("load", showNewest);
    div.appendChild(img);
    log.appendChild(div);
    showNewest();
  }

  function clearButtons() {
    for (const row of log.querySelectorAll(".buttons")) row.remove();
  }

  function addButtons(buttons) {
    clearButtons();
    const row = document.createElement("div");
    row.className = "buttons";
    for (const b of buttons) {
      const el = document.createElement("button");
      el.type = "button";
      el.textContent = String(b.title || "");
      el.addEventListener("click", () => { row.remove(); send(String(b.payload || ""), el.textContent); });
      row.appendChild(el);
    }
    log.appendChild(row);
    showNewest();
  }

  function show(m) {
    const team = m.from === "team" || m.team;
    if (m.text) add(team ? "bot team" : "bot", String(m.text), m.agent ? String(m.agent) : "");
    if (m.image) addImage(String(m.image));
    if (Array.isArray(m.buttons) && m.buttons.length) addButtons(m.buttons);
  }

  function setTyping(on) {
    waiting += on ? 1 : -1;
    typing.hidden = waiting <= 0;
    showNewest();
  }

  async function send(message, shown) {
    clearButtons();
    add("user", shown || message);
    setTyping(true);
    try {
      const response = await fetch("/chat/api/messages", {
        method: "POST",
        headers: {"Content-Type": "application/json"},
        body: JSON.stringify({message}),
      });
      const data = await response.json();
      if (!response.ok) { add("error", String(data.error || "Fehler beim Senden.")); return; }
      for (const m of data.messages || []) show(m);
    } catch (e) {
      add("error", "Keine Verbindung. Bitte versuch es gleich nochmal.");
    } finally {
      setTyping(false);
    }
  }

  // The live stream opens before the history is read, so nothing sent in between is lost;
  // what arrives meanwhile is shown after the history unless the history already has it.
  let historyShown = false;
  const early = [];

  async function loadHistory() {
    const teamTexts = new Set();
    try {
      const response = await fetch("/chat/api/history", {cache: "no-store"});
      const data = await response.json();
      for (const m of data.messages || []) {
        if (m.from === "user") add("user", String(m.text || ""));
        else show(m);
        if (m.from === "team") teamTexts.add(String(m.text || ""));
      }
      if (data.error) add("error", String(data.error));
    } catch (e) {
      // No history is not an error for the customer: the chat still works.
    }
    historyShown = true;
    for (const m of early.splice(0)) {
      if (!teamTexts.has(String(m.text || ""))) show(m);
    }
    document.body.dataset.ready = "1";
  }

  // Messages from the team (replies, rating question, waiting notice) arrive here: the REST
  // channel only answers requests, so the inbox pushes them over Server-Sent Events.
  function listen() {
    if (!window.EventSource) return;
    const stream = new EventSource("/chat/api/events");
    stream.addEventListener("message", (event) => {
      let m;
      try { m = JSON.parse(event.data); } catch (e) { return; }
      m = {...m, from: "team"};
      if (historyShown) show(m); else early.push(m);
    });
  }

  window.addEventListener("resize", showNewest);
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    const text = input.value.trim();
    if (!text) return;
    input.value = "";
    send(text);
  });
  listen();
  loadHistory();
})();
