/**
 * The dashboard page: static HTML, CSS and a small script that renders the `/events`
 * stream (a `snapshot` on connect, then `change`, `rounds` and `health`). No build step,
 * no external assets; names from the network are only ever set as text, never as HTML.
 * EventSource reconnects on its own and every reconnect starts with a fresh snapshot.
 */

export const DASHBOARD_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>gopherdiscovery</title>
<link rel="icon" href="/favicon.svg" type="image/svg+xml">
<link rel="stylesheet" href="/dashboard.css">
<script src="/dashboard.js" defer></script>
</head>
<body>
<header>
  <div class="brand">
    <h1>gopherdiscovery</h1>
    <p class="endpoints">survey <code id="survey-url">…</code> · pub/sub <code id="pubsub-url">…</code></p>
  </div>
  <div id="connection" class="connection connecting" data-state="connecting"><span class="dot"></span><span id="connection-text">connecting…</span></div>
</header>
<main>
  <section class="card" id="members-card">
    <h2>Members <span class="count" id="member-count">0</span></h2>
    <ul id="members" class="members" data-testid="members"></ul>
    <p id="members-empty" class="empty">No members yet. Start one with <code>gopherdiscovery client --name NAME</code>.</p>
  </section>
  <section class="card" id="rounds-card">
    <h2>Rounds</h2>
    <dl class="stats">
      <div><dt>round</dt><dd id="round-number">–</dd></div>
      <div><dt>duration</dt><dd id="round-duration">–</dd></div>
      <div><dt>answers</dt><dd id="round-answers">–</dd></div>
      <div><dt>period</dt><dd id="round-period">–</dd></div>
    </dl>
    <div id="round-bars" class="bars" aria-label="durations of recent rounds"></div>
    <p class="legend"><span>last 60 rounds, by duration</span><span><i class="key changed"></i>membership changed</span></p>
    <p class="hint" id="timing"></p>
  </section>
  <section class="card" id="actors-card">
    <h2>Actors <span id="health" class="badge">…</span></h2>
    <table class="actors">
      <thead><tr><th>actor</th><th>state</th><th>restarts</th><th>last exit</th></tr></thead>
      <tbody id="actors"></tbody>
    </table>
  </section>
  <section class="card wide" id="timeline-card">
    <h2>Timeline</h2>
    <ol id="timeline" class="timeline"></ol>
    <p id="timeline-empty" class="empty">Joins, leaves and actor restarts will appear here.</p>
  </section>
</main>
<footer>
  <a href="/members">/members</a> · <a href="/healthz">/healthz</a> · <a href="/metrics">/metrics</a> · <a href="/events">/events</a>
  <span id="started"></span>
</footer>
</body>
</html>
`;

/** A blue dot, as in the page's title. */
export const FAVICON_SVG = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 16"><circle cx="8" cy="8" r="6" fill="#4fb3ff"/></svg>
`;

export const DASHBOARD_CSS = `:root {
  --bg: #0f1419; --card: #171e26; --line: #263241; --text: #dce3ea; --muted: #8796a8;
  --accent: #4fb3ff; --ok: #3ecf8e; --warn: #f5b942; --bad: #ff6b6b;
  color-scheme: dark;
}
* { box-sizing: border-box; }
body { margin: 0; background: var(--bg); color: var(--text); font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; }
code { font-family: ui-monospace, "SFMono-Regular", Menlo, Consolas, monospace; font-size: 12.5px; }
header { display: flex; align-items: center; justify-content: space-between; gap: 16px; padding: 18px 28px; border-bottom: 1px solid var(--line); background: #121920; }
h1 { margin: 0; font-size: 20px; letter-spacing: .3px; }
h1::before { content: ""; display: inline-block; width: 10px; height: 10px; margin-right: 10px; border-radius: 50%; background: var(--accent); box-shadow: 0 0 10px var(--accent); vertical-align: 2px; }
.endpoints { margin: 4px 0 0; color: var(--muted); }
.endpoints code { color: var(--text); }
.connection { display: flex; align-items: center; gap: 8px; padding: 5px 12px; border-radius: 999px; border: 1px solid var(--line); color: var(--muted); white-space: nowrap; }
.connection .dot { width: 8px; height: 8px; border-radius: 50%; background: var(--warn); }
.connection.live .dot { background: var(--ok); box-shadow: 0 0 8px var(--ok); }
.connection.down .dot { background: var(--bad); }
main { display: grid; grid-template-columns: repeat(auto-fit, minmax(330px, 1fr)); gap: 18px; padding: 22px 28px; }
.card { background: var(--card); border: 1px solid var(--line); border-radius: 10px; padding: 16px 18px; min-width: 0; }
.card.wide { grid-column: 1 / -1; }
h2 { display: flex; align-items: center; gap: 10px; margin: 0 0 12px; font-size: 13px; font-weight: 600; text-transform: uppercase; letter-spacing: .8px; color: var(--muted); }
.count { padding: 1px 9px; border-radius: 999px; background: #21303f; color: var(--text); font-size: 13px; letter-spacing: 0; }
.members { list-style: none; margin: 0; padding: 0; display: flex; flex-direction: column; gap: 6px; max-height: 320px; overflow: auto; }
.members li { display: flex; justify-content: space-between; gap: 12px; padding: 7px 10px; border-radius: 6px; background: #1d2631; border-left: 3px solid var(--ok); }
.members li .name { font-family: ui-monospace, Menlo, Consolas, monospace; overflow-wrap: anywhere; }
.members li .since { color: var(--muted); font-size: 12px; white-space: nowrap; }
.members li.duplicate { border-left-color: var(--bad); }
.members li .dup { color: var(--bad); font-size: 12px; white-space: nowrap; }
.members li.fresh { animation: fresh 1.5s ease-out; }
@keyframes fresh { from { background: #1f4d3a; } to { background: #1d2631; } }
.empty { margin: 6px 0 0; color: var(--muted); }
.empty[hidden] { display: none; }
.stats { display: grid; grid-template-columns: repeat(4, 1fr); gap: 8px; margin: 0 0 14px; }
.stats div { background: #1d2631; border-radius: 6px; padding: 8px 10px; }
.stats dt { color: var(--muted); font-size: 11px; text-transform: uppercase; letter-spacing: .6px; }
.stats dd { margin: 2px 0 0; font-size: 17px; font-variant-numeric: tabular-nums; }
.bars { display: grid; grid-template-columns: repeat(60, 1fr); align-items: end; gap: 2px; height: 70px; padding: 4px; border-radius: 6px; background: #131a22; }
.bars span { min-height: 2px; border-radius: 2px 2px 0 0; background: var(--accent); opacity: .85; }
.bars span.slot { background: transparent; }
.bars span.changed { background: var(--ok); opacity: 1; }
.legend { display: flex; justify-content: space-between; margin: 6px 0 0; color: var(--muted); font-size: 11px; }
.legend .key { display: inline-block; width: 8px; height: 8px; margin-right: 5px; border-radius: 2px; vertical-align: -1px; }
.legend .key.changed { background: var(--ok); }
.hint { margin: 8px 0 0; color: var(--muted); font-size: 12px; }
.badge { padding: 1px 9px; border-radius: 999px; font-size: 12px; letter-spacing: 0; text-transform: none; background: #21303f; color: var(--text); }
.badge.ok { background: rgba(62,207,142,.15); color: var(--ok); }
.badge.bad { background: rgba(255,107,107,.15); color: var(--bad); }
.actors { width: 100%; border-collapse: collapse; }
.actors th { text-align: left; color: var(--muted); font-weight: 500; font-size: 12px; padding: 4px 6px; border-bottom: 1px solid var(--line); }
.actors td { padding: 7px 6px; border-bottom: 1px solid #1f2934; vertical-align: top; }
.actors td.exit { color: var(--muted); font-size: 12px; overflow-wrap: anywhere; }
.state { display: inline-block; padding: 1px 8px; border-radius: 4px; font-size: 12px; background: #21303f; }
.state.running { background: rgba(62,207,142,.15); color: var(--ok); }
.state.starting, .state.restarting { background: rgba(245,185,66,.15); color: var(--warn); }
.state.failed, .state.stopped { background: rgba(255,107,107,.15); color: var(--bad); }
.timeline { list-style: none; margin: 0; padding: 0; max-height: 300px; overflow: auto; }
.timeline li { display: flex; flex-wrap: wrap; align-items: baseline; gap: 8px; padding: 6px 2px; border-bottom: 1px solid #1f2934; }
.timeline time { color: var(--muted); font-variant-numeric: tabular-nums; font-size: 12px; min-width: 64px; }
.tag { padding: 0 7px; border-radius: 4px; font-family: ui-monospace, Menlo, Consolas, monospace; font-size: 12.5px; overflow-wrap: anywhere; }
.tag.join { background: rgba(62,207,142,.15); color: var(--ok); }
.tag.leave { background: rgba(255,107,107,.15); color: var(--bad); }
.tag.actor { background: rgba(245,185,66,.15); color: var(--warn); }
.timeline .detail { color: var(--muted); }
footer { padding: 4px 28px 24px; color: var(--muted); font-size: 12px; }
footer a { color: var(--accent); text-decoration: none; }
footer #started { float: right; }
`;

export const DASHBOARD_JS = `'use strict';
(function () {
  var $ = function (id) { return document.getElementById(id); };
  var state = { members: [], rounds: [], timing: null, lastChangeRound: -1 };

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text;
    return e;
  }
  function clock(ms) { return new Date(ms).toLocaleTimeString([], { hour12: false }); }
  // A no-break space keeps a number and its unit on one line.
  function duration(ms) {
    if (ms < 1) return ms.toFixed(2) + '\u00a0ms';
    if (ms < 1000) return (ms < 10 ? ms.toFixed(1) : Math.round(ms)) + '\u00a0ms';
    return (ms / 1000).toFixed(ms < 10000 ? 2 : 1) + '\u00a0s';
  }

  function setConnection(s, text) {
    var c = $('connection');
    c.className = 'connection ' + s;
    c.dataset.state = s;
    $('connection-text').textContent = text;
  }

  function renderMembers(members, fresh) {
    state.members = members;
    var ul = $('members');
    ul.replaceChildren();
    members.forEach(function (m) {
      var li = el('li', (fresh && fresh.indexOf(m.name) >= 0 ? 'fresh' : '') + (m.duplicates ? ' duplicate' : ''));
      li.dataset.name = m.name;
      li.appendChild(el('span', 'name', m.name));
      if (m.duplicates) {
        li.dataset.duplicates = String(m.duplicates);
        var dup = el('span', 'dup', 'answered ' + (m.duplicates + 1) + '× in the last round');
        dup.title = 'more than one member answers with this name (or one is connected twice)';
        li.appendChild(dup);
      }
      li.appendChild(el('span', 'since', m.since ? 'since ' + clock(m.since) : 'before start'));
      ul.appendChild(li);
    });
    $('member-count').textContent = String(members.length);
    $('members-empty').hidden = members.length > 0;
  }

  function timelineItem(t) {
    var li = el('li');
    li.appendChild(el('time', '', clock(t.at)));
    if (t.kind === 'change') {
      t.joined.forEach(function (n) { li.appendChild(el('span', 'tag join', '+ ' + n)); });
      t.left.forEach(function (n) { li.appendChild(el('span', 'tag leave', '− ' + n)); });
      li.appendChild(el('span', 'detail', t.members + (t.members === 1 ? ' member' : ' members') + ' · round ' + t.round));
    } else {
      li.appendChild(el('span', 'tag actor', t.actor + ' ' + t.event));
      li.appendChild(el('span', 'detail', t.detail));
    }
    return li;
  }
  function addTimeline(entries) {
    var ol = $('timeline');
    entries.forEach(function (t) { ol.insertBefore(timelineItem(t), ol.firstChild); });
    while (ol.children.length > 200) ol.removeChild(ol.lastChild);
    $('timeline-empty').hidden = ol.children.length > 0;
  }

  function renderRounds() {
    var rounds = state.rounds;
    var last = rounds[rounds.length - 1];
    if (last) {
      $('round-number').textContent = String(last.round);
      $('round-duration').textContent = duration(last.durationMs);
      $('round-answers').textContent = String(last.answers);
    }
    if (rounds.length > 1) {
      var span = rounds[rounds.length - 1].at - rounds[0].at;
      $('round-period').textContent = duration(span / (rounds.length - 1));
    }
    var max = Math.max.apply(null, rounds.map(function (r) { return r.durationMs; }).concat([state.timing ? state.timing.surveyTime : 1]));
    var bars = $('round-bars');
    bars.replaceChildren();
    // Empty slots first, so the newest round is always at the right edge.
    for (var i = rounds.length; i < 60; i++) bars.appendChild(el('span', 'slot'));
    rounds.forEach(function (r) {
      var b = el('span', r.changed ? 'changed' : '');
      b.style.height = Math.max(3, Math.round((r.durationMs / max) * 100)) + '%';
      b.title = 'round ' + r.round + ': ' + duration(r.durationMs) + ', ' + r.answers + ' answers';
      bars.appendChild(b);
    });
  }

  function renderHealth(h) {
    var badge = $('health');
    badge.textContent = h.healthy ? 'healthy' : 'degraded';
    badge.className = 'badge ' + (h.healthy ? 'ok' : 'bad');
    var tbody = $('actors');
    tbody.replaceChildren();
    h.actors.forEach(function (a) {
      var tr = el('tr');
      tr.dataset.actor = a.id;
      var name = el('td');
      name.appendChild(el('strong', '', a.id));
      tr.appendChild(name);
      var st = el('td');
      st.appendChild(el('span', 'state ' + a.state, a.state));
      tr.appendChild(st);
      tr.appendChild(el('td', 'restarts', String(a.restarts)));
      tr.appendChild(el('td', 'exit', a.lastExit ? a.lastExit.reason + (a.lastExit.error ? ': ' + a.lastExit.error : '') + ' at ' + clock(a.lastExit.at) : '–'));
      tbody.appendChild(tr);
    });
  }

  function markChanged(round) {
    state.rounds.forEach(function (r) { if (r.round === round) r.changed = true; });
  }

  function onSnapshot(s) {
    state.timing = s.server.timing;
    $('survey-url').textContent = s.server.surveyUrl;
    $('pubsub-url').textContent = s.server.pubsubUrl;
    $('timing').textContent = 'poll ' + duration(s.server.timing.pollTime) + ' · survey deadline ' + duration(s.server.timing.surveyTime) + ' · receive deadline ' + duration(s.server.timing.recvDeadline);
    $('started').textContent = 'server up since ' + new Date(s.server.startedAt).toLocaleString();
    renderMembers(s.members);
    $('timeline').replaceChildren();
    addTimeline(s.timeline);
    state.rounds = s.rounds;
    s.timeline.forEach(function (t) { if (t.kind === 'change') markChanged(t.round); });
    renderRounds();
    renderHealth(s.health);
  }

  function connect() {
    var es = new EventSource('/events');
    es.addEventListener('open', function () { setConnection('live', 'live'); });
    es.addEventListener('error', function () {
      setConnection(es.readyState === EventSource.CLOSED ? 'down' : 'connecting', es.readyState === EventSource.CLOSED ? 'disconnected' : 'reconnecting…');
    });
    es.addEventListener('snapshot', function (e) { onSnapshot(JSON.parse(e.data)); setConnection('live', 'live'); });
    es.addEventListener('change', function (e) {
      var d = JSON.parse(e.data);
      renderMembers(d.members, d.entry.joined);
      addTimeline([d.entry]);
      state.lastChangeRound = d.entry.round;
      markChanged(d.entry.round);
      renderRounds();
    });
    es.addEventListener('members', function (e) { renderMembers(JSON.parse(e.data).members); });
    es.addEventListener('rounds', function (e) {
      var d = JSON.parse(e.data);
      d.rounds.forEach(function (r) { if (r.round === state.lastChangeRound) r.changed = true; });
      state.rounds = state.rounds.concat(d.rounds).slice(-60);
      renderRounds();
    });
    es.addEventListener('health', function (e) {
      var d = JSON.parse(e.data);
      renderHealth(d);
      if (d.entry) addTimeline([d.entry]);
    });
  }
  connect();
})();
`;
