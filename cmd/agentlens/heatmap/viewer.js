(function () {
  'use strict';
  var D = JSON.parse(document.getElementById('data').textContent);
  var $ = function (id) { return document.getElementById(id); };
  var esc = function (s) {
    return String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
  };

  // The colour scale of the Go package (Diverging): RdBu's eleven stops from -1 to +1, linear in sRGB
  // between them, each channel rounded; the same arithmetic, so the same colours.
  var stops = D.stops.map(function (h) {
    return [parseInt(h.slice(1, 3), 16), parseInt(h.slice(3, 5), 16), parseInt(h.slice(5, 7), 16)];
  });
  function rgb(v, clip) {
    var x = Math.max(-1, Math.min(1, v / clip));
    var pos = (x + 1) * 5, i = Math.min(Math.floor(pos), 9), t = pos - i;
    var a = stops[i], b = stops[i + 1];
    return [0, 1, 2].map(function (k) { return Math.round(a[k] + t * (b[k] - a[k])); });
  }
  function hex(c) { return '#' + c.map(function (n) { return n.toString(16).padStart(2, '0'); }).join(''); }
  function colour(v, clip) { return (v === null || !(clip > 0)) ? '' : hex(rgb(v, clip)); }
  // Relative luminance (WCAG): white text on dark backgrounds, as the figures do.
  function ink(c) {
    var l = c.map(function (n) { var s = n / 255; return s <= 0.04045 ? s / 12.92 : Math.pow((s + 0.055) / 1.055, 2.4); });
    return 0.2126 * l[0] + 0.7152 * l[1] + 0.0722 * l[2] < 0.3 ? '#fff' : '';
  }
  function fmt(v) {
    if (v === null || v === undefined) return '–';
    var s = Math.abs(v) >= 1000 || (Math.abs(v) < 0.001 && v !== 0) ? v.toExponential(2) : v.toPrecision(3);
    return (v > 0 ? '+' : '') + s.replace('-', '−');
  }
  var special = /^<(?:\|([A-Za-z][A-Za-z0-9_]*)\||(bos|eos|pad|unk|mask|s|\/s|start_of_turn|end_of_turn|start_of_image|end_of_image))>$/;

  // Blocks: every segment, and a block for each run of tokens outside all segments.
  var blocks = [], segOf = new Array(D.tokens.length).fill(-1), segIndex = {};
  var next = 0;
  D.segments.forEach(function (s, k) {
    if (s.Start > next) blocks.push({ seg: -1, start: next, end: s.Start });
    blocks.push({ seg: k, start: s.Start, end: s.End });
    for (var t = s.Start; t < s.End; t++) segOf[t] = k;
    segIndex[s.ID] = k;
    next = Math.max(next, s.End);
  });
  if (next < D.tokens.length) blocks.push({ seg: -1, start: next, end: D.tokens.length });
  function kindColour(kind) { return D.kinds[kind] || '#bbbbbb'; }

  $('title').textContent = D.title;
  $('subtitle').textContent = D.subtitle;

  // The episode: one span per token, built as one string (fast on thousands of tokens).
  var html = [];
  blocks.forEach(function (b, n) {
    var s = b.seg >= 0 ? D.segments[b.seg] : null;
    html.push('<div class="seg" data-b="' + n + '"' + (s ? ' data-seg="' + b.seg + '" style="border-left-color:' + kindColour(s.Kind) + '"' : '') + '>');
    if (s) {
      html.push('<div class="seg-head" data-seg="' + b.seg + '"><b>' + esc(s.ID) + '</b> · ' + esc(s.Kind) + (s.Label ? ' · ' + esc(s.Label) : '') + '</div>');
    }
    html.push('<div class="toks">');
    for (var t = b.start; t < b.end; t++) {
      var txt = D.tokens[t], m = special.exec(txt), cls = 't', body;
      if (m) {
        cls += ' sp';
        body = esc('[' + (m[1] || m[2]) + ']');
      } else {
        body = esc(txt).replace(/\n/g, '<span class="nl">↵</span>\n');
      }
      if (t === D.target) cls += ' target';
      html.push('<span class="' + cls + '" data-i="' + t + '">' + body + '</span>');
    }
    html.push('</div></div>');
  });
  $('episode').innerHTML = html.join('');
  var spans = Array.prototype.slice.call($('episode').querySelectorAll('span.t'));
  var segBlocks = {};
  Array.prototype.forEach.call($('episode').querySelectorAll('.seg[data-seg]'), function (el) { segBlocks[el.dataset.seg] = el; });

  // Segment list.
  var rows = [];
  var tbody = $('segs').tBodies[0];
  tbody.innerHTML = D.segments.map(function (s, k) {
    return '<tr class="s" data-seg="' + k + '"><td><span class="sw" style="background:' + kindColour(s.Kind) + '"></span></td>' +
      '<td><span class="id">' + esc(s.ID) + '</span> <span class="lbl">' + esc(s.Label || '') + '</span></td><td class="val"></td></tr>';
  }).join('');
  rows = Array.prototype.slice.call(tbody.rows);

  // Kind legend.
  var kinds = [];
  D.segments.forEach(function (s) { if (kinds.indexOf(s.Kind) < 0) kinds.push(s.Kind); });
  $('kinds').innerHTML = kinds.map(function (k) {
    return '<span class="kind"><span class="sw" style="background:' + kindColour(k) + '"></span>' + esc(k) + '</span>';
  }).join('');
  $('bar').style.background = 'linear-gradient(to right,' + D.stops.join(',') + ')';

  // Colouring by a score set.
  var current = 0;
  var select = $('scores');
  select.innerHTML = D.scores.map(function (s, k) { return '<option value="' + k + '">' + esc(s.name) + '</option>'; }).join('');
  if (D.scores.length === 0) {
    select.disabled = true;
    $('legend').hidden = true;
  }
  function setScores(k) {
    if (k < 0 || k >= D.scores.length) return;
    current = k;
    select.value = String(k);
    var s = D.scores[k], clip = s.clip;
    for (var t = 0; t < spans.length; t++) {
      var v = s.values[t];
      if (v === null) {
        spans[t].style.background = '';
        spans[t].style.color = '';
      } else {
        var c = rgb(v, clip);
        spans[t].style.background = hex(c);
        spans[t].style.color = ink(c);
      }
    }
    var segMax = 0;
    D.segments.forEach(function (g) { var v = s.segments[g.ID]; if (v !== undefined && v !== null) segMax = Math.max(segMax, Math.abs(v)); });
    rows.forEach(function (r, i) {
      var v = s.segments[D.segments[i].ID], cell = r.cells[2];
      cell.textContent = v === undefined ? '' : fmt(v);
      cell.style.background = v === undefined || v === null ? '' : colour(v, segMax || 1);
      cell.style.color = v === undefined || v === null ? '' : ink(rgb(v, segMax || 1));
    });
    $('bar-lo').textContent = fmt(-clip);
    $('bar-hi').textContent = fmt(clip);
    $('bar-unit').textContent = s.unit || s.name;
    $('seg-score-head').textContent = s.name;
  }
  select.addEventListener('change', function () { setScores(parseInt(select.value, 10)); });

  // Hover: one tooltip for every token.
  var tip = $('tip');
  $('episode').addEventListener('mouseover', function (e) {
    var el = e.target.closest && e.target.closest('span.t');
    if (!el) { tip.hidden = true; return; }
    var t = +el.dataset.i, s = D.scores[current], k = segOf[t];
    tip.textContent = '#' + t + '  ' + JSON.stringify(D.tokens[t]) + (t === D.target ? '  (target)' : '') +
      (s ? '\n' + s.name + ': ' + fmt(s.values[t]) + (s.unit ? '  (' + s.unit + ')' : '') : '') +
      '\nsegment: ' + (k >= 0 ? D.segments[k].ID + ' (' + D.segments[k].Kind + ')' : 'none');
    tip.hidden = false;
  });
  $('episode').addEventListener('mousemove', function (e) {
    tip.style.left = Math.min(e.clientX + 14, window.innerWidth - 430) + 'px';
    tip.style.top = (e.clientY + 16) + 'px';
  });
  $('episode').addEventListener('mouseleave', function () { tip.hidden = true; });

  // Search over the whole text, across token boundaries; matching tokens are outlined.
  var full = D.tokens.join('').toLowerCase(), starts = [], pos = 0;
  D.tokens.forEach(function (s) { starts.push(pos); pos += s.length; });
  var hits = [], hitAt = -1;
  function tokenAt(c) { // the last token starting at or before character c
    var lo = 0, hi = starts.length - 1;
    while (lo < hi) { var mid = (lo + hi + 1) >> 1; if (starts[mid] <= c) lo = mid; else hi = mid - 1; }
    return lo;
  }
  function search(q) {
    hits.forEach(function (t) { spans[t].classList.remove('hit'); });
    hits = []; hitAt = -1;
    q = (q || '').toLowerCase();
    var n = 0;
    if (q.length > 0 && spans.length > 0) {
      for (var i = full.indexOf(q); i >= 0; i = full.indexOf(q, i + 1)) {
        n++;
        for (var t = tokenAt(i); t < spans.length && starts[t] < i + q.length; t++) {
          if (hits.length === 0 || hits[hits.length - 1] !== t) hits.push(t);
        }
      }
    }
    hits.forEach(function (t) { spans[t].classList.add('hit'); });
    $('hits').textContent = q ? n + (n === 1 ? ' match' : ' matches') : '';
    return n;
  }
  var timer = null;
  $('search').addEventListener('input', function () {
    clearTimeout(timer);
    timer = setTimeout(function () { search($('search').value); }, 120);
  });
  $('search').addEventListener('keydown', function (e) {
    if (e.key === 'Enter' && hits.length) {
      hitAt = (hitAt + 1) % hits.length;
      spans[hits[hitAt]].scrollIntoView({ block: 'center' });
    }
  });
  $('to-target').addEventListener('click', function () {
    if (D.target >= 0 && D.target < spans.length) spans[D.target].scrollIntoView({ block: 'center' });
  });
  $('to-target').hidden = !(D.target >= 0 && D.target < spans.length);

  // A segment's row and column of the matrix, and the graph.
  var mMax = 0;
  if (D.matrix) D.matrix.values.forEach(function (r) { r.forEach(function (v) { if (v !== null) mMax = Math.max(mMax, Math.abs(v)); }); });
  function bars(list, unit) {
    if (!list.length) return '<div class="none">none</div>';
    return list.map(function (e) {
      var k = segIndex[e.id], s = k !== undefined ? D.segments[k] : null;
      return '<div class="mrow" data-id="' + esc(e.id) + '" title="' + esc(e.id + (s && s.Label ? ' ' + s.Label : '') + ': ' + fmt(e.v) + ' ' + unit) + '">' +
        '<span class="mname">' + esc(e.id) + (s && s.Label ? ' <span class="lbl">' + esc(s.Label) + '</span>' : '') + '</span>' +
        '<span class="mbar" style="background:' + colour(e.v, mMax || 1) + ';width:' + Math.max(2, Math.round(70 * Math.abs(e.v) / (mMax || 1))) + 'px"></span>' +
        '<span class="mval">' + fmt(e.v) + '</span></div>';
    }).join('');
  }
  function graphSVG(sel) {
    var g = D.graph;
    if (!g || !g.nodes || !g.nodes.length) return '<div class="none">no segment graph in this file (agentlens attribute --method matrix draws one)</div>';
    var W = 300, n = g.nodes.length, base = 150, x = {};
    g.nodes.forEach(function (id, i) { x[id] = n === 1 ? W / 2 : 12 + i * (W - 24) / (n - 1); });
    var wMax = 0;
    (g.edges || []).forEach(function (e) { wMax = Math.max(wMax, Math.abs(e.weight || 0)); });
    var onPath = {};
    for (var i = 0; i + 1 < (g.path || []).length; i++) onPath[g.path[i] + '\u0000' + g.path[i + 1]] = true;
    var out = ['<svg viewBox="0 0 ' + W + ' 175" role="img" aria-label="segment graph">'];
    (g.edges || []).forEach(function (e) {
      if (x[e.from] === undefined || x[e.to] === undefined) return;
      var x1 = x[e.from], x2 = x[e.to], h = Math.min(140, 20 + Math.abs(x2 - x1) * 0.5);
      var mine = sel && (e.from === sel || e.to === sel), path = onPath[e.from + '\u0000' + e.to];
      out.push('<path d="M' + x1 + ',' + base + ' Q' + ((x1 + x2) / 2) + ',' + (base - h) + ' ' + x2 + ',' + base + '" fill="none" stroke="' +
        (path ? '#b2182b' : '#555') + '" stroke-opacity="' + (sel && !mine ? 0.15 : 0.8) + '" stroke-width="' +
        (0.5 + 3.5 * Math.abs(e.weight || 0) / (wMax || 1)).toFixed(2) + '"><title>' + esc(e.from + ' → ' + e.to + ': ' + fmt(e.weight)) + '</title></path>');
    });
    g.nodes.forEach(function (id) {
      var k = segIndex[id], kind = k !== undefined ? D.segments[k].Kind : (id === 'target' ? 'target' : '');
      out.push('<circle class="node" data-id="' + esc(id) + '" cx="' + x[id] + '" cy="' + base + '" r="' + (id === sel ? 7 : 5) +
        '" fill="' + kindColour(kind) + '" stroke="#000" stroke-width="' + (id === sel ? 2 : 0.5) + '"><title>' + esc(id) + '</title></circle>');
    });
    if (sel && x[sel] !== undefined) {
      out.push('<text x="' + Math.min(Math.max(x[sel], 40), W - 40) + '" y="172" text-anchor="middle" font-size="11">' + esc(sel) + '</text>');
    }
    out.push('</svg>');
    return out.join('');
  }
  var selected = null;
  function select_(id) {
    var k = segIndex[id];
    if (k === undefined) return false;
    if (selected !== null) {
      rows[selected].classList.remove('on');
      if (segBlocks[selected]) segBlocks[selected].classList.remove('on');
    }
    selected = k;
    rows[k].classList.add('on');
    var block = segBlocks[k];
    if (block) { block.classList.add('on'); block.scrollIntoView({ block: 'nearest' }); }
    rows[k].scrollIntoView({ block: 'nearest' });
    var s = D.segments[k];
    $('detail-empty').hidden = true;
    $('detail-body').hidden = false;
    $('detail-title').textContent = s.ID + ' (' + s.Kind + ')';
    $('detail-label').textContent = s.Label || '';
    var row = [], col = [], unit = D.matrix ? D.matrix.unit : '';
    if (D.matrix) {
      var si = D.matrix.sources.indexOf(id), di = D.matrix.dests.indexOf(id);
      if (si >= 0) D.matrix.dests.forEach(function (d, j) { var v = D.matrix.values[j][si]; if (v !== null) row.push({ id: d, v: v }); });
      if (di >= 0) D.matrix.sources.forEach(function (src, j) { var v = D.matrix.values[di][j]; if (v !== null) col.push({ id: src, v: v }); });
      $('row').innerHTML = bars(row, unit);
      $('col').innerHTML = bars(col, unit);
    } else {
      $('row').innerHTML = $('col').innerHTML = '<div class="none">no segment matrix in this file (agentlens attribute --method matrix)</div>';
    }
    $('graph').innerHTML = graphSVG(id);
    return true;
  }
  tbody.addEventListener('click', function (e) {
    var r = e.target.closest('tr.s');
    if (r) select_(D.segments[+r.dataset.seg].ID);
  });
  $('episode').addEventListener('click', function (e) {
    var h = e.target.closest('.seg-head');
    if (h) select_(D.segments[+h.dataset.seg].ID);
  });
  $('detail').addEventListener('click', function (e) {
    var el = e.target.closest('[data-id]');
    if (el) select_(el.dataset.id);
  });

  setScores(0);
  // For tests and scripts: the viewer's state and actions.
  window.agentlensViewer = {
    setScores: setScores, select: select_, search: search, colour: colour,
    current: function () { return current; }, tokens: spans.length, ready: true
  };
})();
