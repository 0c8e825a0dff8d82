// The community managers' inbox. All HTML comes from the server, rendered by Jinja2 with
// autoescaping; the only text this script adds itself goes in through textContent.
(() => {
  "use strict";
  const csrf = document.querySelector('meta[name="csrf-token"]').content;
  const queueEl = document.getElementById("queue");
  const convEl = document.getElementById("conversation");
  const statusSel = document.getElementById("status-filter");
  const toastEl = document.getElementById("toast");
  const liveEl = document.getElementById("live");
  const state = {
    who: localStorage.getItem("inbox-who") || "all",
    status: localStorage.getItem("inbox-status") || "active",
    channel: localStorage.getItem("inbox-channel") || "",
    reason: localStorage.getItem("inbox-reason") || "",
    notify: localStorage.getItem("inbox-notify") === "1",
    newest: null,
    current: parseInt(queueEl.dataset.selected, 10) || null,
    sender: null,
    canned: [],
    mode: "reply",
    canHandle: false,
  };
  const DONE = {
    claim: "Du hast das Gespräch übernommen.",
    notes: "Notiz gespeichert.",
    transfer: "Gespräch weitergegeben.",
    snooze: "Gespräch zurückgestellt.",
    reopen: "Gespräch wieder geöffnet.",
    resolve: "Erledigt – Paula übernimmt und bittet um eine Bewertung.",
  };

  let toastTimer = null;
  function toast(message, isError) {
    toastEl.textContent = message;
    toastEl.className = "toast" + (isError ? " error" : "");
    toastEl.hidden = false;
    clearTimeout(toastTimer);
    toastTimer = setTimeout(() => { toastEl.hidden = true; }, isError ? 6000 : 2500);
  }

  async function api(method, url, body) {
    const options = { method, headers: { Accept: "application/json" }, credentials: "same-origin" };
    if (method !== "GET") {
      options.headers["X-CSRF-Token"] = csrf;
      options.headers["Content-Type"] = "application/json";
      options.body = JSON.stringify(body || {});
    }
    const response = await fetch(url, options);
    if (response.status === 401) {
      window.location.href = "/login";
      throw new Error("Bitte melde dich an.");
    }
    let data = {};
    try { data = await response.json(); } catch (e) { data = {}; }
    if (!response.ok) throw new Error(data.error || "Das hat nicht geklappt.");
    return data;
  }

  // --- queue ---------------------------------------------------------------------------
  let queueTimer = null;
  function scheduleQueue() { clearTimeout(queueTimer); queueTimer = setTimeout(loadQueue, 120); }
  async function loadQueue() {
    const url = "/inbox/api/queue?who=" + encodeURIComponent(state.who) + "&status=" +
      encodeURIComponent(state.status) + "&channel=" + encodeURIComponent(state.channel) +
      "&reason=" + encodeURIComponent(state.reason) + "&selected=" + (state.current || "");
    try {
      const data = await api("GET", url);
      queueEl.innerHTML = data.html;
      const waiting = data.waiting || 0;
      document.title = (waiting ? "(" + waiting + ") " : "") + "Inbox";
      if (state.newest !== null && (data.newest || 0) > state.newest) announce(waiting);
      state.newest = data.newest || 0;
      for (const [key, value] of Object.entries(data.counts || {})) {
        const span = document.querySelector('[data-count="' + key + '"]');
        if (span) span.textContent = String(value);
      }
    } catch (e) { /* the next update retries */ }
  }
  // Opt-in: a short tone and a browser notification when a new handoff starts waiting.
  function announce(waiting) {
    if (!state.notify) return;
    try {
      const audio = new (window.AudioContext || window.webkitAudioContext)();
      const tone = audio.createOscillator();
      const gain = audio.createGain();
      tone.frequency.value = 880;
      gain.gain.value = 0.08;
      tone.connect(gain).connect(audio.destination);
      tone.start();
      tone.stop(audio.currentTime + 0.25);
    } catch (e) { /* no audio: the title counter still shows it */ }
    if ("Notification" in window && Notification.permission === "granted") {
      new Notification("Neue Übergabe", { body: waiting + " Gespräch(e) warten auf dich.", tag: "inbox" });
    }
  }
  const notifyBox = document.getElementById("notify-toggle");
  notifyBox.checked = state.notify;
  notifyBox.addEventListener("change", () => {
    state.notify = notifyBox.checked;
    localStorage.setItem("inbox-notify", state.notify ? "1" : "0");
    if (state.notify && "Notification" in window && Notification.permission === "default") {
      Notification.requestPermission();
    }
  });
  for (const [id, key] of [["channel-filter", "channel"], ["reason-filter", "reason"]]) {
    const select = document.getElementById(id);
    select.value = state[key];
    select.addEventListener("change", () => {
      state[key] = select.value;
      localStorage.setItem("inbox-" + key, state[key]);
      loadQueue();
    });
  }
  function showFilters() {
    for (const tab of document.querySelectorAll("#who-tabs [data-who]")) {
      tab.classList.toggle("active", tab.dataset.who === state.who);
      tab.setAttribute("aria-selected", tab.dataset.who === state.who ? "true" : "false");
    }
    statusSel.value = state.status;
  }
  document.getElementById("who-tabs").addEventListener("click", (event) => {
    const tab = event.target.closest("[data-who]");
    if (!tab) return;
    state.who = tab.dataset.who;
    localStorage.setItem("inbox-who", state.who);
    showFilters();
    loadQueue();
  });
  statusSel.addEventListener("change", () => {
    state.status = statusSel.value;
    localStorage.setItem("inbox-status", state.status);
    loadQueue();
  });
  queueEl.addEventListener("click", (event) => {
    const link = event.target.closest("a.queue-item");
    if (!link) return;
    event.preventDefault();
    openConversation(parseInt(link.dataset.handoff, 10), true);
  });

  // --- conversation ----------------------------------------------------------------------
  function composer() { return document.getElementById("composer"); }
  function textarea() { return document.getElementById("composer-text"); }
  function transcript() { return document.getElementById("transcript"); }

  function scrollToEnd(force) {
    const list = transcript();
    if (!list) return;
    const nearEnd = list.scrollHeight - list.scrollTop - list.clientHeight < 120;
    if (force || nearEnd) list.scrollTop = list.scrollHeight;
  }

  async function openConversation(id, push) {
    if (!id) return;
    let data;
    try {
      data = await api("GET", "/inbox/api/conversations/" + id);
    } catch (e) {
      toast(e.message, true);
      return;
    }
    // Read the draft only now: the agent may have typed while the view was loading.
    const same = data.handoff_id === state.current && textarea();
    const draft = same ? textarea().value : "";
    const keepFocus = same && document.activeElement === textarea();
    const caret = same ? textarea().selectionStart : 0;
    state.current = data.handoff_id;
    state.sender = data.sender_id;
    convEl.innerHTML = data.html;
    const section = convEl.querySelector(".conv");
    const canHandle = section && section.dataset.canHandle === "true";
    // A new conversation, or one just claimed (could not answer before): reply mode.
    if (!same || (canHandle && !state.canHandle)) state.mode = canHandle ? "reply" : "note";
    if (!canHandle) state.mode = "note";
    state.canHandle = canHandle;
    setMode(state.mode);
    if (textarea()) {
      textarea().value = draft;
      if (keepFocus) { textarea().focus(); textarea().setSelectionRange(caret, caret); }
    }
    scrollToEnd(true);
    for (const item of queueEl.querySelectorAll(".queue-item")) {
      item.classList.toggle("selected", parseInt(item.dataset.handoff, 10) === state.current);
    }
    if (push) history.pushState({ id: state.current }, "", "/inbox/c/" + state.current);
    document.body.classList.add("show-conv");  // phones: one pane at a time
  }
  // Phones: "Zurück" shows the queue again (the conversation stays selected on wide screens).
  convEl.addEventListener("click", (event) => {
    if (!event.target.closest("[data-back]")) return;
    event.preventDefault();
    document.body.classList.remove("show-conv");
    if (window.location.pathname !== "/inbox") history.pushState({}, "", "/inbox");
  });
  let convTimer = null;
  function scheduleConversation() {
    clearTimeout(convTimer);
    convTimer = setTimeout(() => openConversation(state.current, false), 150);
  }
  window.addEventListener("popstate", () => {
    const match = window.location.pathname.match(/^\/inbox\/c\/(\d+)$/);
    if (match) openConversation(parseInt(match[1], 10), false);
    else document.body.classList.remove("show-conv");
  });

  function setMode(mode) {
    const form = composer();
    if (!form) return;
    const section = convEl.querySelector(".conv");
    if (mode === "reply" && section && section.dataset.canHandle !== "true") mode = "note";
    state.mode = mode;
    form.classList.toggle("mode-reply", mode === "reply");
    form.classList.toggle("mode-note", mode === "note");
    textarea().placeholder = mode === "reply"
      ? "Antwort an den Kunden … (/ für Textbausteine)"
      : "Interne Notiz – der Kunde sieht sie nie";
    document.getElementById("composer-send").textContent = mode === "reply" ? "Senden" : "Notiz speichern";
  }

  async function post(action, body) {
    let ok = true;
    try {
      await api("POST", "/inbox/api/conversations/" + state.current + "/" + action, body);
      if (DONE[action]) toast(DONE[action]);
    } catch (e) {
      ok = false;
      toast(e.message, true);
    }
    return ok;
  }
  async function act(action, body) {
    if (!state.current) return false;
    if (action === "resolve" &&
        !window.confirm("Gespräch an Paula zurückgeben und den Kunden um eine Bewertung bitten?")) {
      return false;
    }
    const ok = await post(action, body);
    await openConversation(state.current, false);
    scheduleQueue();
    return ok;
  }

  convEl.addEventListener("click", (event) => {
    const button = event.target.closest("button[data-action]");
    if (button) { act(button.dataset.action); return; }
    const tab = event.target.closest(".composer-tabs [data-mode]");
    if (tab && !tab.disabled) { setMode(tab.dataset.mode); textarea().focus(); return; }
    const link = event.target.closest("a[data-handoff]");
    if (link) { event.preventDefault(); openConversation(parseInt(link.dataset.handoff, 10), true); return; }
    const option = event.target.closest(".canned-option");
    if (option) { insertCanned(parseInt(option.dataset.index, 10)); }
  });
  // Transfer and snooze: chosen, then an explicit button and a confirmation (optional reason).
  convEl.addEventListener("submit", (event) => {
    const form = event.target.closest("form[data-confirm-action]");
    if (!form) return;
    event.preventDefault();
    event.stopImmediatePropagation();
    const select = form.querySelector("select");
    if (!select.value) { select.focus(); return; }
    const choice = select.options[select.selectedIndex].textContent.trim();
    const reason = form.querySelector("input[name=reason]").value.trim();
    const action = form.dataset.confirmAction;
    const question = (action === "transfer" ? "Gespräch weitergeben: " : "Gespräch zurückstellen: ") +
      choice + (reason ? "\nGrund: " + reason : "") + "\n\nFortfahren?";
    if (!window.confirm(question)) return;
    const body = action === "transfer" ? { agent_id: select.value } : { option: select.value };
    if (reason) body.reason = reason;
    act(action, body);
  }, true);
  convEl.addEventListener("submit", async (event) => {
    if (event.target.id !== "composer") return;
    event.preventDefault();
    await send();
  });

  let sending = false;
  async function send() {
    const area = textarea();
    const text = area.value.trim();
    if (!text || sending) return;
    sending = true;
    const action = state.mode === "reply" ? "reply" : "notes";
    area.value = "";
    let ok;
    try { ok = await post(action, { text }); } finally { sending = false; }
    if (!ok && action === "notes" && textarea()) textarea().value = text;
    await openConversation(state.current, false);
    scheduleQueue();
    if (textarea()) textarea().focus();
  }

  // --- canned responses: type /shortcut in the composer ----------------------------------
  let matches = [];
  let active = 0;
  async function loadCanned() {
    try { state.canned = (await api("GET", "/inbox/api/canned")).items || []; } catch (e) { /* later */ }
  }
  function slashToken() {
    const area = textarea();
    const before = area.value.slice(0, area.selectionStart);
    const match = before.match(/(^|\s)\/([\w-]*)$/);
    return match ? { start: before.length - match[2].length - 1, query: match[2].toLowerCase() } : null;
  }
  function popup() { return document.getElementById("canned-popup"); }
  function closePopup() { matches = []; if (popup()) popup().hidden = true; }
  function renderPopup() {
    const box = popup();
    box.replaceChildren();
    matches.forEach((canned, index) => {
      const row = document.createElement("div");
      row.className = "canned-option" + (index === active ? " active" : "");
      row.dataset.index = String(index);
      row.setAttribute("role", "option");
      const shortcut = document.createElement("span");
      shortcut.className = "sc";
      shortcut.textContent = "/" + canned.shortcut;
      const text = document.createElement("span");
      text.className = "tx";
      text.textContent = canned.text.length > 90 ? canned.text.slice(0, 90) + " …" : canned.text;
      row.append(shortcut, text);
      box.appendChild(row);
    });
    box.hidden = matches.length === 0;
  }
  function updatePopup() {
    const token = state.mode === "reply" || state.mode === "note" ? slashToken() : null;
    if (!token) { closePopup(); return; }
    matches = state.canned.filter((c) => c.shortcut.includes(token.query) ||
      c.text.toLowerCase().includes(token.query)).slice(0, 8);
    matches.sort((a, b) => Number(!a.shortcut.startsWith(token.query)) - Number(!b.shortcut.startsWith(token.query)));
    active = 0;
    renderPopup();
  }
  function insertCanned(index) {
    const canned = matches[index];
    const token = slashToken();
    if (!canned || !token) return;
    const area = textarea();
    const after = area.value.slice(area.selectionStart);
    area.value = area.value.slice(0, token.start) + canned.text + after;
    const caret = token.start + canned.text.length;
    area.setSelectionRange(caret, caret);
    closePopup();
    area.focus();
  }
  convEl.addEventListener("input", (event) => { if (event.target.id === "composer-text") updatePopup(); });
  convEl.addEventListener("keydown", (event) => {
    if (event.target.id !== "composer-text") return;
    if (matches.length) {
      if (event.key === "ArrowDown" || event.key === "ArrowUp") {
        event.preventDefault();
        active = (active + (event.key === "ArrowDown" ? 1 : matches.length - 1)) % matches.length;
        renderPopup();
        return;
      }
      if (event.key === "Enter" || event.key === "Tab") { event.preventDefault(); insertCanned(active); return; }
      if (event.key === "Escape") { event.preventDefault(); closePopup(); return; }
    }
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      send();
    } else if (event.key === "Escape") {
      event.target.blur();
    }
  });

  // --- keyboard shortcuts ----------------------------------------------------------------
  function moveInQueue(step) {
    const items = Array.from(queueEl.querySelectorAll(".queue-item"));
    if (!items.length) return;
    let index = items.findIndex((item) => parseInt(item.dataset.handoff, 10) === state.current);
    index = index < 0 ? 0 : Math.min(items.length - 1, Math.max(0, index + step));
    openConversation(parseInt(items[index].dataset.handoff, 10), true);
  }
  document.addEventListener("keydown", (event) => {
    if (event.altKey && (event.key === "e" || event.key === "E" || event.code === "KeyE")) {
      if (convEl.querySelector('button[data-action="resolve"]')) { event.preventDefault(); act("resolve"); }
      return;
    }
    const target = event.target;
    if (target.closest && target.closest("input, textarea, select") || event.ctrlKey || event.metaKey || event.altKey) return;
    if (event.key === "j") moveInQueue(1);
    else if (event.key === "k") moveInQueue(-1);
    else if (event.key === "c" && convEl.querySelector('button[data-action="claim"]')) act("claim");
    else if ((event.key === "r" || event.key === "n") && textarea()) {
      event.preventDefault();
      setMode(event.key === "r" ? "reply" : "note");
      textarea().focus();
    } else if (event.key === "/" && textarea()) {
      event.preventDefault();
      textarea().focus();
      textarea().value += "/";
      updatePopup();
    } else return;
  });

  // --- live updates (Server-Sent Events) -------------------------------------------------
  function appendItem(key, html) {
    const list = transcript();
    if (!list || list.querySelector('[data-key="' + CSS.escape(key) + '"]')) return;
    list.insertAdjacentHTML("beforeend", html);  // server-rendered, autoescaped
    scrollToEnd(false);
  }
  let stream = null;
  let lost = false;
  function connect() {
    stream = new EventSource("/inbox/events");
    stream.addEventListener("hello", () => {
      liveEl.classList.add("on");
      liveEl.title = "Live verbunden";
      if (lost) { loadQueue(); if (state.current) openConversation(state.current, false); }
      lost = false;
    });
    stream.addEventListener("queue", scheduleQueue);
    stream.addEventListener("reload", () => { loadQueue(); if (state.current) scheduleConversation(); });
    stream.addEventListener("canned", loadCanned);
    stream.addEventListener("conversation", (event) => {
      const data = JSON.parse(event.data);
      if (data.handoff_id === state.current) scheduleConversation();
    });
    stream.addEventListener("message", (event) => {
      const data = JSON.parse(event.data);
      if (state.sender && data.sender_id === state.sender) appendItem(data.key, data.html);
    });
    stream.addEventListener("logout", () => { stream.close(); window.location.href = "/login"; });
    stream.onerror = () => {
      liveEl.classList.remove("on");
      liveEl.title = "Verbindung unterbrochen – verbinde neu …";
      lost = true;
      if (stream.readyState === EventSource.CLOSED) setTimeout(connect, 3000);
    };
  }

  showFilters();
  loadQueue();
  loadCanned();
  if (state.current) openConversation(state.current, false);
  connect();
})();
