/* streamtally dashboard: plain browser JavaScript, no build step. Talks to the read API under ./api/. */
/* global document, window, history, location, URLSearchParams, uPlot */
'use strict';

(function main() {
  const REFRESH_MS = 5000;
  /** Group lists change slowly; rediscovering them every refresh would double the top() Queries. */
  const GROUPS_REFRESH_MS = 30000;
  const ROLLING_SPANS = [1, 5, 15, 60];
  const SERIES_WINDOWS = 60;
  const VALUE_LINES = [
    // sum (revenue, bytes) dwarfs the per-event values: it gets a scale and an axis of its own, on the right.
    ['sum', 'sum', '#059669', 'sum'],
    ['mean', 'mean', '#4f46e5'],
    ['p50', 'p50', '#0891b2'],
    ['p95', 'p95', '#d97706'],
    ['p99', 'p99', '#dc2626'],
    ['max', 'max', '#6b7280'],
    ['min', 'min', '#16a34a'],
  ];
  const EXTRA_FIELDS = ['sum', 'mean', 'min', 'max', 'distinct', 'p50', 'p90', 'p95', 'p99'];
  const ALL_GROUPS = '';

  const intFormat = new Intl.NumberFormat('en-US');
  const numFormat = new Intl.NumberFormat('en-US', { maximumFractionDigits: 2 });
  const timeFormat = new Intl.DateTimeFormat('en-GB', { hour: '2-digit', minute: '2-digit', second: '2-digit' });

  const state = {
    metrics: [],
    metric: null,
    window: null,
    /** Selected dimension values (array), or null while no group is known. */
    group: null,
    /** key -> values, every group seen for the metric. */
    groups: new Map(),
    groupsAtMs: 0,
    countChart: null,
    valuesChart: null,
    valueFields: [],
    timer: 0,
    generation: 0,
    /** /api/metrics windowFlush: the window flush schedule, or null when every batch writes every window. */
    windowFlush: null,
  };

  const $ = (id) => document.getElementById(id);

  // Every request of the page goes through window.streamtally.request, so another script (sign-in adds a
  // token, for instance) can wrap it: `const next = streamtally.request; streamtally.request = (u, i) => ...`.
  window.streamtally = window.streamtally || {};
  if (!window.streamtally.request)
    window.streamtally.request = (url, init) =>
      window.streamtallyAuth ? window.streamtallyAuth.fetch(url, init) : window.fetch(url, init);

  async function api(route, params) {
    const query = new URLSearchParams();
    for (const [k, v] of Object.entries(params || {})) if (v !== undefined && v !== null) query.set(k, String(v));
    const res = await window.streamtally.request('api/' + route + '?' + query.toString(), { cache: 'no-store' });
    // Sign-in (auth.js) wraps the request: on 401 it shows the sign-in prompt, and nothing renders here.
    if (res.status === 401) throw new Error('sign-in required');
    const body = await res.json();
    if (!res.ok) throw new Error(body.message || 'HTTP ' + res.status);
    return body;
  }

  function escapeDim(value) {
    return value.replace(/%/g, '%25').replace(/#/g, '%23').replace(/\|/g, '%7C');
  }
  const dimsParam = (values) => values.map(escapeDim).join('|');
  const groupKey = (values) => JSON.stringify(values);
  const groupName = (values) => (values.length === 0 ? 'all events' : values.join(' · '));

  function formatValue(field, value) {
    if (value === undefined || value === null) return '–';
    return field === 'count' || field === 'distinct' ? intFormat.format(value) : numFormat.format(value);
  }

  function el(tag, attrs, text) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function option(value, label) {
    const o = el('option', { value }, label);
    return o;
  }

  // ---- URL state: #metric=..&window=..&group=.. so a view can be shared and survives a reload.
  function readHash() {
    const p = new URLSearchParams(location.hash.slice(1));
    return { metric: p.get('metric'), window: p.get('window'), group: p.get('group') };
  }
  function writeHash() {
    const p = new URLSearchParams();
    if (state.metric) p.set('metric', state.metric.name);
    if (state.window) p.set('window', state.window.label);
    if (state.group && state.group.length > 0) p.set('group', JSON.stringify(state.group));
    history.replaceState(null, '', '#' + p.toString());
  }

  // ---- Layout built per metric.
  function buildRollingTiles() {
    const root = $('rolling');
    root.replaceChildren();
    const extras = EXTRA_FIELDS.filter((f) => state.metric.aggregates.includes(f));
    for (const span of ROLLING_SPANS) {
      const tile = el('div', { class: 'tile', id: 'rolling-' + span });
      tile.append(el('h3', {}, 'Last ' + (span === 60 ? 'hour' : span + ' min')));
      const big = el('div', { class: 'big' });
      big.append(el('span', { id: 'rolling-' + span + '-count' }, '–'), el('span', { class: 'unit' }, 'events'));
      tile.append(big);
      if (extras.length > 0) {
        const dl = el('dl');
        for (const f of extras) dl.append(el('dt', {}, f), el('dd', { id: 'rolling-' + span + '-' + f }, '–'));
        tile.append(dl);
      }
      root.append(tile);
    }
  }

  /** A line with one value (a single bucket) draws nothing: show its points whenever it has at most two. */
  function fewValues(u, seriesIdx) {
    const data = u.data[seriesIdx] || [];
    let n = 0;
    for (let i = 0; i < data.length && n < 3; i++) if (data[i] !== null && data[i] !== undefined) n++;
    return n <= 2;
  }

  /**
   * What a chart drew, for tests and tooling (a canvas has no DOM to look at): on the chart's container,
   * data-draws counts the draws and data-drawn lists [series label, value, x, y] for every value drawn,
   * x and y in canvas pixels where uPlot put its point (or its bar's top), so a test can read the canvas there.
   */
  function recordDrawn(u) {
    const drawn = [];
    const xs = u.data[0] || [];
    for (let s = 1; s < u.series.length; s++) {
      const ys = u.data[s] || [];
      for (let i = 0; i < xs.length; i++) {
        if (ys[i] === null || ys[i] === undefined) continue;
        const x = Math.round(u.valToPos(xs[i], 'x', true));
        drawn.push([u.series[s].label, ys[i], x, Math.round(u.valToPos(ys[i], u.series[s].scale, true))]);
      }
    }
    const box = u.root.parentElement;
    box.setAttribute('data-drawn', JSON.stringify(drawn));
    box.setAttribute('data-draws', String(Number(box.getAttribute('data-draws') || 0) + 1));
  }

  function chartOptions(title, series, width, bars) {
    const fromZero = (u, min, max) => [0, max > 0 ? max * 1.1 : 1];
    const hasSum = series.some(([, , scale]) => scale === 'sum');
    const axes = [
      { stroke: '#6b7485', grid: { stroke: '#eef0f3' } },
      { stroke: '#6b7485', grid: { stroke: '#eef0f3' }, size: 60 },
    ];
    if (hasSum) axes.push({ scale: 'sum', side: 1, stroke: '#059669', grid: { show: false }, size: 70 });
    return {
      width,
      height: 240,
      legend: { show: true },
      hooks: { draw: [recordDrawn] },
      cursor: { drag: { x: false, y: false } },
      // Counts, distinct counts, sums and latencies all read best from zero up.
      scales: { x: { time: true }, y: { range: fromZero }, sum: { range: fromZero } },
      axes,
      series: [{}].concat(
        series.map(([label, color, scale]) => ({
          label,
          scale: scale || 'y',
          stroke: color,
          width: 2,
          fill: bars ? color + '55' : undefined,
          paths: bars && uPlot.paths && uPlot.paths.bars ? uPlot.paths.bars({ size: [0.7, 60] }) : undefined,
          points: bars ? { show: false } : { show: fewValues, size: 8, fill: color },
        })),
      ),
    };
  }

  function buildCharts() {
    if (state.countChart) state.countChart.destroy();
    if (state.valuesChart) state.valuesChart.destroy();
    state.valuesChart = null;
    const countEl = $('count-chart');
    countEl.replaceChildren();
    state.countChart = new uPlot(
      chartOptions('count', [['events', '#4f46e5']], countEl.clientWidth || 800, true),
      [[], []],
      countEl,
    );

    const m = state.metric;
    state.valueFields = m.aggregates.includes('distinct')
      ? [['distinct', 'distinct', '#0891b2']]
      : VALUE_LINES.filter(([f]) => m.aggregates.includes(f));
    const card = $('values-card');
    card.hidden = state.valueFields.length === 0;
    if (!card.hidden) {
      const what = m.aggregates.includes('distinct') ? 'Distinct ' + (m.distinctField || 'values') : m.value || 'Value';
      $('values-title').textContent = what + ' per window';
      const valuesEl = $('values-chart');
      valuesEl.replaceChildren();
      const lines = state.valueFields.map(([, label, color, scale]) => [label, color, scale]);
      state.valuesChart = new uPlot(
        chartOptions('values', lines, valuesEl.clientWidth || 800, false),
        [[]].concat(lines.map(() => [])),
        valuesEl,
      );
    }
  }

  function fillSelectors() {
    const metricSel = $('metric');
    metricSel.replaceChildren(...state.metrics.map((m) => option(m.name, m.name)));
    metricSel.value = state.metric.name;
    const windowSel = $('window');
    windowSel.replaceChildren(...state.metric.windows.map((w) => option(w.label, w.label)));
    windowSel.value = state.window.label;
    fillGroupSelector();
  }

  function fillGroupSelector() {
    const hasDims = state.metric.dimensions.length > 0;
    $('group-label').hidden = !hasDims;
    $('group-label').firstChild.textContent = state.metric.dimensions.join(' · ') + ' ';
    if (!hasDims) return;
    const sel = $('group');
    const entries = [...state.groups.values()];
    sel.replaceChildren(...entries.map((values) => option(groupKey(values), groupName(values))));
    if (entries.length === 0) sel.append(option('', 'no groups yet'));
    sel.value = state.group ? groupKey(state.group) : '';
  }

  function selectMetric(name, preferredWindow, preferredGroup) {
    state.metric = state.metrics.find((m) => m.name === name) || state.metrics[0];
    state.window = state.metric.windows.find((w) => w.label === preferredWindow) || state.metric.windows[0];
    state.groups = new Map();
    state.groupsAtMs = 0;
    state.group = state.metric.dimensions.length === 0 ? [] : preferredGroup || null;
    if (state.group && state.group.length > 0) state.groups.set(groupKey(state.group), state.group);
    $('count-window').textContent = state.window.label + ' window';
    renderWindowAge();
    fillSelectors();
    fillRollupSelector();
    buildRollingTiles();
    buildCharts();
    writeHash();
  }

  /** 72 -> "72 s", 300 -> "5 min", 312 -> "5 min 12 s". */
  function formatSeconds(s) {
    if (s < 120) return s + ' s';
    const min = Math.floor(s / 60);
    return min + ' min' + (s % 60 === 0 ? '' : ' ' + (s % 60) + ' s');
  }

  /**
   * In window flush mode a window larger than the flush interval is written once, after it has closed (at the
   * latest at the end of the 900 s tumbling window): say how far behind it can be, and that the current
   * window stays empty; one no larger than the interval is written while open too, as fresh as the interval.
   */
  function renderWindowAge() {
    const note = $('window-age');
    const every = state.window.writtenEverySeconds;
    const age = state.window.maxAgeSeconds;
    note.hidden = !every || !age;
    note.setAttribute('data-written-every-s', note.hidden ? '' : String(every));
    note.setAttribute('data-max-age-s', note.hidden ? '' : String(age));
    if (note.hidden) return;
    note.textContent = state.window.writtenWhileOpen
      ? state.window.label +
        ' windows are written every ' +
        formatSeconds(every) +
        ', the current one included (window flush mode): counts are up to ' +
        formatSeconds(age) +
        ' behind.'
      : state.window.label +
        ' windows are written once they close, every ' +
        formatSeconds(every) +
        ' (window flush mode): counts are up to ' +
        formatSeconds(age) +
        ' behind, and the current window fills in when it is written.';
  }

  function fillRollupSelector() {
    const sel = $('rollup-dimension');
    const keep = sel.value;
    sel.replaceChildren(option(ALL_GROUPS, 'total only'), ...state.metric.dimensions.map((d) => option(d, d)));
    sel.value = state.metric.dimensions.includes(keep) ? keep : state.metric.dimensions[0] || ALL_GROUPS;
  }

  /** The columns a roll-up shows: every aggregate the metric stores, in a fixed order. */
  function totalsFields() {
    return ['count'].concat(EXTRA_FIELDS.filter((f) => state.metric.aggregates.includes(f)));
  }

  /**
   * Totals over all groups and the roll-up to one dimension, for the last complete window (its numbers no
   * longer move) with the current window's count beside it.
   */
  function renderTotals(previous, current) {
    const fields = totalsFields();
    const table = $('totals');
    table.setAttribute('data-window-start-ms', String(previous.windowStartMs));
    table.setAttribute('data-dimension', previous.dimension || '');
    const head = el('tr');
    head.append(el('th', {}, previous.dimension || ''), el('th', {}, 'now (partial)'));
    for (const f of fields) head.append(el('th', {}, f));
    table.tHead.replaceChildren(head);
    const currentCount = new Map(current.entries.map((e) => [e.dimensionValues[0], e.count]));
    const row = (name, entry, nowCount, cls) => {
      const tr = el('tr', cls ? { class: cls } : {});
      tr.setAttribute('data-name', name);
      tr.append(el('td', {}, name), el('td', { 'data-field': 'now' }, formatValue('count', nowCount)));
      for (const f of fields) tr.append(el('td', { 'data-field': f }, formatValue(f, entry ? entry[f] : undefined)));
      return tr;
    };
    const rows = [row('all groups', previous.total, current.total.count, 'total')];
    const seen = new Set();
    for (const e of previous.entries) {
      seen.add(e.dimensionValues[0]);
      rows.push(row(e.dimensionValues[0], e, currentCount.get(e.dimensionValues[0]) || 0));
    }
    for (const e of current.entries)
      if (!seen.has(e.dimensionValues[0])) rows.push(row(e.dimensionValues[0], null, e.count));
    table.tBodies[0].replaceChildren(...rows);
    $('totals-when').textContent =
      'last complete ' + state.window.label + ' window from ' + timeFormat.format(new Date(previous.windowStartMs));
    const empty = $('totals-empty');
    empty.hidden = previous.total.count > 0 || current.total.count > 0;
    empty.className = 'empty why';
    empty.textContent = emptyReason();
  }

  /** Why a metric shows nothing: said in words, not left as an empty table. */
  function emptyReason() {
    const m = state.metric;
    if (m.live === false)
      return (
        'No data: the ' +
        m.source +
        ' source of ' +
        m.name +
        ' is not emulated here (' +
        (m.liveReason || 'no stream feeds it') +
        ').'
      );
    return (
      'No data yet: nothing has been counted for ' +
      m.name +
      ' in the current or the last complete ' +
      state.window.label +
      ' window. Push events (npm run produce) or wait for the next batch.'
    );
  }

  // ---- Data.
  async function refreshGroups(now) {
    if (state.metric.dimensions.length === 0 || now - state.groupsAtMs < GROUPS_REFRESH_MS) return;
    // The coarsest window's current and previous buckets hold every recently active group.
    const coarsest = state.metric.windows[state.metric.windows.length - 1];
    const current = now - (now % coarsest.sizeMs);
    const [a, b] = await Promise.all([
      api('top', { metric: state.metric.name, window: coarsest.label, start: current, limit: 50 }),
      api('top', { metric: state.metric.name, window: coarsest.label, start: current - coarsest.sizeMs, limit: 50 }),
    ]);
    for (const entry of a.entries.concat(b.entries))
      state.groups.set(groupKey(entry.dimensionValues), entry.dimensionValues);
    if (!state.group && a.entries.concat(b.entries).length > 0)
      state.group = (a.entries[0] || b.entries[0]).dimensionValues;
    state.groupsAtMs = now;
    fillGroupSelector();
    writeHash();
  }

  function renderRolling(span, result) {
    // The span the numbers cover, for tests and tooling: [data-from-ms, data-to-ms] in epoch ms.
    const tile = $('rolling-' + span);
    tile.setAttribute('data-from-ms', result ? String(result.fromMs) : '');
    tile.setAttribute('data-to-ms', result ? String(result.toMs) : '');
    $('rolling-' + span + '-count').textContent = formatValue('count', result ? result.count : undefined);
    for (const f of EXTRA_FIELDS) {
      const cell = $('rolling-' + span + '-' + f);
      if (cell) cell.textContent = formatValue(f, result ? result[f] : undefined);
    }
  }

  function renderSeries(result) {
    const size = result.windowSizeMs;
    const first = result.fromMs - (result.fromMs % size);
    const byStart = new Map(result.points.map((p) => [p.windowStartMs, p]));
    const xs = [];
    const counts = [];
    const values = state.valueFields.map(() => []);
    for (let t = first; t < result.toMs; t += size) {
      const p = byStart.get(t);
      xs.push(t / 1000);
      counts.push(p ? p.count : 0);
      state.valueFields.forEach(([field], i) => values[i].push(p && p[field] !== undefined ? p[field] : null));
    }
    state.countChart.setData([xs, counts]);
    const empty = $('count-empty');
    empty.hidden = counts.some((c) => c > 0);
    if (!empty.hidden)
      empty.textContent =
        state.metric.dimensions.length > 0 && state.group
          ? 'The group ' +
            groupName(state.group) +
            ' matches nothing in the last ' +
            SERIES_WINDOWS +
            ' ' +
            state.window.label +
            ' windows. Pick another group (Totals shows which have data).'
          : emptyReason();
    if (state.valuesChart) state.valuesChart.setData([xs].concat(values));
  }

  function renderTop(result, id) {
    id = id || 'top';
    const tbody = $(id).tBodies[0];
    tbody.replaceChildren();
    // Which window the rows count, for tests and tooling.
    $(id).setAttribute('data-window', state.window.label);
    $(id).setAttribute('data-window-start-ms', String(result.windowStartMs));
    $(id + '-empty').hidden = result.entries.length > 0;
    $('top-dimension').textContent =
      state.metric.dimensions.length > 0 ? state.metric.dimensions.join(' · ') : 'groups';
    const when = state.window.label + ' window from ' + timeFormat.format(new Date(result.windowStartMs));
    if (id === 'top') $('top-when').textContent = when;
    else $('top-prev-when').textContent = 'from ' + timeFormat.format(new Date(result.windowStartMs));
    const max = result.entries.length > 0 ? result.entries[0].count : 1;
    result.entries.forEach((entry, i) => {
      const row = el('tr');
      if (state.group && groupKey(state.group) === groupKey(entry.dimensionValues)) row.className = 'selected';
      const bar = el('div', { class: 'barline' });
      bar.style.width = Math.max(2, (100 * entry.count) / max) + '%';
      const barCell = el('td', { class: 'barcell' });
      barCell.append(bar);
      row.append(
        el('td', { class: 'rank' }, String(i + 1)),
        el('td', { class: 'name' }, groupName(entry.dimensionValues)),
        barCell,
        el('td', { class: 'num' }, intFormat.format(entry.count)),
      );
      row.addEventListener('click', () => {
        state.groups.set(groupKey(entry.dimensionValues), entry.dimensionValues);
        state.group = entry.dimensionValues;
        fillGroupSelector();
        writeHash();
        refreshSoon();
      });
      tbody.append(row);
    });
  }

  function renderStats(forMetric, forAll) {
    const set = (id, n) => {
      $(id).textContent = intFormat.format(n);
      $(id).classList.toggle('nonzero', n > 0);
    };
    set('stats-rejected', forMetric.rejected);
    set('stats-late', forMetric.late);
    set('stats-all', forAll.rejected + forAll.late);
    const reasons = Object.entries(forMetric.byReason)
      .filter(([, n]) => n > 0)
      .sort((a, b) => b[1] - a[1]);
    const label = (name) => (name === 'folded' ? 'over group cap (counted as __other__)' : name.replace(/_/g, ' '));
    $('stats-reasons').replaceChildren(
      ...reasons.map(([name, n]) => el('li', {}, label(name) + ' ' + intFormat.format(n))),
    );
  }

  async function refresh() {
    const generation = ++state.generation;
    const m = state.metric;
    try {
      const now = Date.now();
      await refreshGroups(now);
      const base = { metric: m.name };
      const group = state.group;
      const withGroup = group ? Object.assign({ dims: dimsParam(group) }, base) : null;
      const currentStart = now - (now % state.window.sizeMs);
      const previousStart = currentStart - state.window.sizeMs;
      const rollupDimension = $('rollup-dimension').value || undefined;
      // One read per window (/api/window: Top and the roll-up from the same items), the current and the last
      // complete one: a refresh reads each window's items twice, not four times.
      const windowOf = (start) =>
        api(
          'window',
          Object.assign({ window: state.window.label, start, limit: 10, dimension: rollupDimension }, base),
        );
      const [series, current, previous, stats, statsAll, ...rolling] = await Promise.all([
        withGroup
          ? api(
              'series',
              Object.assign(
                { window: state.window.label, from: now - SERIES_WINDOWS * state.window.sizeMs, to: now },
                withGroup,
              ),
            )
          : null,
        windowOf(currentStart),
        windowOf(previousStart),
        api('stats', base),
        api('stats', { metric: '__all__' }),
        ...ROLLING_SPANS.map((span) =>
          withGroup ? api('rolling', Object.assign({ minutes: span }, withGroup)) : null,
        ),
      ]);
      if (generation !== state.generation) return; // a newer refresh (after a selection change) owns the page
      const [top, topPrevious, totalsCurrent, totalsPrevious] = [
        current.top,
        previous.top,
        current.rollup,
        previous.rollup,
      ];
      ROLLING_SPANS.forEach((span, i) => renderRolling(span, rolling[i]));
      if (series) renderSeries(series);
      else {
        // No group known yet: the metric has nothing in its recent windows.
        $('count-empty').hidden = false;
        $('count-empty').textContent = emptyReason();
      }
      renderTop(top, 'top');
      renderTop(topPrevious, 'top-prev');
      renderTotals(totalsPrevious, totalsCurrent);
      if (top.entries.length === 0 && topPrevious.entries.length === 0) {
        $('top-empty').textContent = emptyReason();
        $('top-empty').className = 'empty why';
      } else {
        $('top-empty').textContent =
          state.window.maxAgeSeconds && !state.window.writtenWhileOpen
            ? 'Not written yet: window flush mode writes a window once it has closed.'
            : 'Nothing counted in this window yet (it has just begun).';
        $('top-empty').className = 'empty';
      }
      renderStats(stats, statsAll);
      $('error').hidden = true;
      $('live').className = 'live ok';
      $('updated').textContent = 'updated ' + timeFormat.format(new Date());
    } catch (err) {
      if (generation !== state.generation) return;
      $('error').hidden = false;
      $('error').textContent = 'Could not read the counters: ' + err.message;
      $('live').className = 'live stale';
    }
  }

  function refreshSoon() {
    window.clearTimeout(state.timer);
    refresh().finally(() => {
      window.clearTimeout(state.timer);
      state.timer = window.setTimeout(refreshSoon, REFRESH_MS);
    });
  }

  function parseGroup(text) {
    try {
      const values = JSON.parse(text);
      return Array.isArray(values) && values.every((v) => typeof v === 'string') ? values : null;
    } catch {
      return null;
    }
  }

  async function start() {
    try {
      const { metrics, windowFlush } = await api('metrics');
      if (metrics.length === 0) throw new Error('no metrics are configured');
      state.windowFlush = windowFlush || null;
      state.metrics = metrics.filter((m) => m.kind !== 'state'); // levels.js shows "state" metrics
    } catch (err) {
      $('error').hidden = false;
      $('error').textContent = 'Could not load the metric definitions: ' + err.message;
      return;
    }
    const wanted = readHash();
    selectMetric(wanted.metric, wanted.window, wanted.group ? parseGroup(wanted.group) : null);

    $('metric').addEventListener('change', (e) => {
      selectMetric(e.target.value, null, null);
      refreshSoon();
    });
    $('window').addEventListener('change', (e) => {
      state.window = state.metric.windows.find((w) => w.label === e.target.value) || state.metric.windows[0];
      $('count-window').textContent = state.window.label + ' window';
      renderWindowAge();
      writeHash();
      refreshSoon();
    });
    $('rollup-dimension').addEventListener('change', () => refreshSoon());
    $('group').addEventListener('change', (e) => {
      state.group = parseGroup(e.target.value);
      writeHash();
      refreshSoon();
    });
    window.addEventListener('resize', () => {
      for (const [chart, id] of [
        [state.countChart, 'count-chart'],
        [state.valuesChart, 'values-chart'],
      ]) {
        if (chart) chart.setSize({ width: $(id).clientWidth, height: 240 });
      }
    });
    refreshSoon();
  }

  start();
})();
