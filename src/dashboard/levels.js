/* streamtally dashboard: levels of `state` metrics (items in each group now, e.g. orders per status).
 * Kept apart from app.js (which charts events per window): it reads GET api/levels for every metric of
 * kind "state" and draws one card per metric, a row per group with its count, bar, sum and mean. */
/* global document, window, URLSearchParams */
'use strict';

(function levels() {
  const REFRESH_MS = 3000;
  const intFormat = new Intl.NumberFormat('en-US');
  const numFormat = new Intl.NumberFormat('en-US', { maximumFractionDigits: 2 });
  const section = document.getElementById('levels');
  if (!section) return;

  async function api(route, params) {
    // Through the sign-in hook (auth.js) when it is there, like app.js: the token rides along, a 401 prompts.
    const send = window.streamtallyAuth ? window.streamtallyAuth.fetch : fetch;
    const res = await send('api/' + route + '?' + new URLSearchParams(params || {}).toString(), { cache: 'no-store' });
    const body = await res.json();
    if (!res.ok) throw new Error(body.message || 'HTTP ' + res.status);
    return body;
  }

  function el(tag, attrs, text) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function card(metric) {
    const article = el('article', { class: 'card', 'data-level-metric': metric.name });
    const title = el('h2', {}, metric.name + ' ');
    title.append(el('small', {}, 'now, by ' + (metric.dimensions.join(' · ') || 'all')));
    const total = el('p', { class: 'level-total' });
    const table = el('table', { class: 'top' });
    table.append(el('tbody'));
    article.append(title, total, table);
    return article;
  }

  function render(article, metric, result) {
    const rows = result.levels;
    const max = rows.reduce((m, r) => Math.max(m, r.count), 1);
    article.querySelector('.level-total').textContent =
      intFormat.format(result.total) + ' item' + (result.total === 1 ? '' : 's') + ' in all';
    const body = article.querySelector('tbody');
    body.replaceChildren(
      ...rows.map((r) => {
        const tr = el('tr', { 'data-level-group': r.dimensionValues.join('|'), 'data-level-count': String(r.count) });
        const bar = el('div', { class: 'barline' });
        bar.style.width = Math.max(2, Math.round((100 * Math.max(0, r.count)) / max)) + '%';
        const barCell = el('td', { class: 'barcell' });
        barCell.append(bar);
        tr.append(el('td', { class: 'name' }, r.dimensionValues.join(' · ') || 'all'), barCell);
        tr.append(el('td', { class: 'num level-count' }, intFormat.format(r.count)));
        if (metric.aggregates.includes('sum') && r.sum !== undefined)
          tr.append(el('td', { class: 'num', title: 'sum of ' + metric.value }, 'Σ ' + numFormat.format(r.sum)));
        if (metric.aggregates.includes('mean') && r.mean !== undefined)
          tr.append(el('td', { class: 'num', title: 'mean ' + metric.value }, 'x̄ ' + numFormat.format(r.mean)));
        return tr;
      }),
    );
    if (rows.length === 0) {
      const tr = el('tr');
      tr.append(el('td', { class: 'empty' }, 'No items yet.'));
      body.append(tr);
    }
    article.setAttribute('data-level-updated', String(result.nowMs));
  }

  async function start() {
    let metrics;
    try {
      metrics = (await api('metrics')).metrics.filter((m) => m.kind === 'state');
    } catch {
      setTimeout(start, REFRESH_MS);
      return;
    }
    if (metrics.length === 0) return;
    section.hidden = false;
    section.style.marginBottom = '16px';
    const cards = metrics.map((m) => {
      const c = card(m);
      section.append(c);
      return c;
    });
    const refresh = async () => {
      await Promise.all(
        metrics.map(async (m, i) => {
          try {
            render(cards[i], m, await api('levels', { metric: m.name }));
            cards[i].removeAttribute('data-level-error');
          } catch (err) {
            cards[i].setAttribute('data-level-error', String(err && err.message));
          }
        }),
      );
      setTimeout(refresh, REFRESH_MS);
    };
    void refresh();
  }

  void start();
})();
