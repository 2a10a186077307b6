/*
 * app.js: the catalog page. Plain JavaScript, no framework, no build
 * step, no request to anything but the node that served the page (its
 * JSON API under /api, docs/http.md). Every piece of text from the
 * catalog goes into the page as text (textContent, never innerHTML), so
 * a product's description cannot become markup.
 *
 * Views, by location.hash:
 *   #/?q=QUERY[&all=1]   search, with facets
 *   #/product/ID         one product: summary, schema, interfaces,
 *                        quality, verdict, lineage up and down
 *   #/domains            every domain with how fresh this node's view is,
 *                        and the node's peers
 */
'use strict';

(function () {
  // ---- small helpers -------------------------------------------------

  function $(sel, root) { return (root || document).querySelector(sel); }

  // el(tag, attrs, ...children): an element; strings become text nodes.
  function el(tag, attrs) {
    const e = document.createElement(tag);
    const a = attrs || {};
    for (const k of Object.keys(a)) {
      const v = a[k];
      if (v === null || v === undefined || v === false) continue;
      if (k === 'class') e.className = v;
      else if (k === 'text') e.textContent = v;
      else if (k.slice(0, 2) === 'on') e.addEventListener(k.slice(2), v);
      else if (k === 'data') Object.assign(e.dataset, v);
      else e.setAttribute(k, v === true ? '' : String(v));
    }
    for (let i = 2; i < arguments.length; i++) append(e, arguments[i]);
    return e;
  }

  function append(parent, kid) {
    if (kid === null || kid === undefined || kid === false) return;
    if (Array.isArray(kid)) { kid.forEach(function (k) { append(parent, k); }); return; }
    parent.append(kid instanceof Node ? kid : document.createTextNode(String(kid)));
  }

  function api(path) {
    return fetch(path, { headers: { Accept: 'application/json' } }).then(function (res) {
      return res.json().catch(function () { return { ok: false, error: 'HTTP ' + res.status }; })
        .then(function (body) {
          if (!res.ok || body.ok === false) {
            const e = new Error(body.error || ('HTTP ' + res.status));
            e.status = res.status;
            e.code = body.code;
            throw e;
          }
          return body;
        });
    });
  }

  // Product ids are domain/name: the API takes them as two path segments.
  function idPath(id) { return id.split('/').map(encodeURIComponent).join('/'); }
  function productHash(id) { return '#/product/' + encodeURIComponent(id); }
  function searchHash(q, all) {
    return '#/?q=' + encodeURIComponent(q) + (all ? '&all=1' : '');
  }
  function productLink(id, text) {
    return el('a', { href: productHash(id), class: 'plink', data: { id: id } }, text || id);
  }

  function ago(s) {
    if (s === null || s === undefined || s < 0) return 'no signed head';
    if (s < 60) return s + ' s ago';
    if (s < 3600) return Math.floor(s / 60) + ' min ago';
    if (s < 86400) return Math.floor(s / 3600) + ' h ' + Math.floor((s % 3600) / 60) + ' min ago';
    return Math.floor(s / 86400) + ' d ' + Math.floor((s % 86400) / 3600) + ' h ago';
  }

  function duration(s) {
    if (s === null || s === undefined) return null;
    if (s < 60) return s + ' s';
    if (s < 3600) return Math.round(s / 60) + ' min';
    if (s < 86400) return Math.round(s / 360) / 10 + ' h';
    return Math.round(s / 8640) / 10 + ' d';
  }

  // How fresh a domain's head is: the node signs one every 300 s by
  // default, so two intervals is fresh and an hour is stale.
  function freshness(s) {
    if (s === null || s === undefined || s < 0) return 'none';
    if (s <= 600) return 'fresh';
    if (s <= 3600) return 'aging';
    return 'stale';
  }

  function date(ts) {
    if (!ts) return null;
    return new Date(ts * 1000).toISOString().replace('T', ' ').replace(/\.\d+Z$/, ' UTC');
  }

  // ---- badges --------------------------------------------------------

  const STATUS = { active: 'good', deprecated: 'warn', retired: 'bad', draft: 'info', proposed: 'info' };
  const CLASS = { public: 'good', internal: 'info', confidential: 'warn', restricted: 'bad' };
  const VERDICT = { accepted: 'good', warned: 'warn', quarantined: 'bad', rejected: 'bad' };

  function badge(text, kind, title) {
    return el('span', { class: 'badge ' + (kind || ''), title: title }, text);
  }

  function badges(p, withAccepted) {
    const out = [];
    if (p.status) out.push(badge(p.status, 'status ' + (STATUS[p.status] || ''), 'status'));
    if (p.expired) out.push(badge('expired', 'warn', 'its domain has not signed it again'));
    if (p.classification) {
      out.push(badge(p.classification, 'class ' + (CLASS[p.classification] || ''), 'classification'));
    } else {
      out.push(badge('unclassified', 'class', 'classification'));
    }
    if (p.verdict && (withAccepted || p.verdict !== 'accepted')) {
      out.push(badge(p.verdict, 'verdict ' + (VERDICT[p.verdict] || ''), 'governance verdict'));
    }
    const q = p.quality || (p.summary && p.summary.quality) || {};
    if (q.completeness !== null && q.completeness !== undefined) {
      out.push(badge('completeness ' + q.completeness + '%', 'quality', 'declared completeness'));
    }
    if (q.accuracy !== null && q.accuracy !== undefined) {
      out.push(badge('accuracy ' + q.accuracy + '%', 'quality', 'declared accuracy'));
    }
    if (q.freshness_s !== null && q.freshness_s !== undefined) {
      out.push(badge('fresh ≤ ' + duration(q.freshness_s), 'quality', 'declared freshness'));
    }
    if (p.kind === 'contract') out.push(badge('contract', 'kind', 'an ODCS data contract'));
    return out;
  }

  function flags(list) {
    if (!list || !list.length) return null;
    return el('span', { class: 'flag', title: 'flagged products upstream' },
      '⚠ upstream ' + list.map(function (f) { return f.id + ' ' + f.why; }).join(', '));
  }

  // ---- views -----------------------------------------------------------

  const views = ['search', 'product', 'domains'];
  function show(name) {
    views.forEach(function (v) { $('#view-' + v).hidden = v !== name; });
    document.querySelectorAll('header nav a').forEach(function (a) {
      a.classList.toggle('active', a.dataset.nav === (name === 'product' ? 'search' : name));
    });
  }

  function showError(box, e) {
    box.hidden = false;
    box.textContent = e.message + (e.status ? ' (HTTP ' + e.status + ')' : '');
  }

  // ---- search ------------------------------------------------------------

  let searchSeq = 0;
  let lastSearch = '#/';

  function quoteValue(v) {
    return /^[A-Za-z0-9._-]+$/.test(v) ? v : '"' + v.replace(/"/g, '') + '"';
  }

  function hasToken(q, tok) { return (' ' + q + ' ').indexOf(' ' + tok + ' ') >= 0; }

  function toggleToken(q, tok) {
    if (hasToken(q, tok)) return (' ' + q + ' ').replace(' ' + tok + ' ', ' ').trim();
    return (q.trim() + ' ' + tok).trim();
  }

  const FACETS = [['domain', 'Domain'], ['class', 'Classification'],
    ['status', 'Status'], ['interface', 'Interface']];

  function renderFacets(facets, q, all) {
    const box = $('#facets');
    box.replaceChildren();
    FACETS.forEach(function (f) {
      const counts = (facets && facets[f[0]]) || {};
      const names = Object.keys(counts).filter(function (n) { return n !== ''; });
      if (!names.length) return;
      names.sort(function (a, b) { return counts[b] - counts[a] || (a < b ? -1 : 1); });
      box.append(el('h3', null, f[1]));
      names.forEach(function (n) {
        const tok = f[0] + ':' + quoteValue(n);
        box.append(el('button', {
          type: 'button',
          class: 'facet' + (hasToken(q, tok) ? ' active' : ''),
          data: { filter: tok },
          title: (hasToken(q, tok) ? 'remove ' : 'add ') + tok,
          onclick: function () { location.hash = searchHash(toggleToken(q, tok), all); },
        }, el('span', { class: 'fname' }, n), el('span', { class: 'count' }, String(counts[n]))));
      });
    });
  }

  function resultItem(p) {
    const meta = [];
    if (p.owner) meta.push(el('span', null, 'owner ', p.owner));
    meta.push(el('span', null, 'domain ', p.domain));
    if (p.tags && p.tags.length) meta.push(el('span', null, 'tags ', p.tags.join(', ')));
    if (p.stale_s !== undefined) meta.push(el('span', { title: "age of the domain's newest signed head" }, 'seen ', ago(p.stale_s)));
    return el('li', { class: 'result', data: { id: p.id } },
      el('div', { class: 'r-head' },
        productLink(p.id, p.name),
        el('span', { class: 'r-id mono' }, p.id),
        el('span', { class: 'r-ver' }, 'v' + p.version)),
      el('div', { class: 'badges' }, badges(p, false), flags(p.upstream_flags)),
      p.description ? el('p', { class: 'r-desc' }, p.description) : null,
      el('div', { class: 'r-meta' }, meta));
  }

  function runSearch(q, all) {
    const seq = ++searchSeq;
    const box = $('#results'), err = $('#error'), sum = $('#summary');
    show('search');
    lastSearch = searchHash(q, all);
    $('#q').value = q;
    $('#all').checked = all;
    err.hidden = true;
    sum.textContent = 'Searching…';
    box.dataset.state = 'loading';
    const params = new URLSearchParams({ q: q, facets: '1', limit: '50' });
    if (all) params.set('all', '1');
    api('/api/search?' + params.toString()).then(function (r) {
      if (seq !== searchSeq) return;
      box.replaceChildren();
      r.products.forEach(function (p) { box.append(resultItem(p)); });
      sum.textContent = r.total === 0 ? 'No products match.'
        : (r.products.length < r.total ? 'The first ' + r.products.length + ' of ' : '') +
          r.total + (r.total === 1 ? ' product' : ' products') + (q ? ' match' + (r.total === 1 ? 'es' : '') : ' in the catalog');
      renderFacets(r.facets, q, all);
      box.dataset.query = q;
      box.dataset.state = 'ready';
    }).catch(function (e) {
      if (seq !== searchSeq) return;
      box.replaceChildren();
      $('#facets').replaceChildren();
      sum.textContent = '';
      showError(err, e);
      box.dataset.query = q;
      box.dataset.state = 'error';
    });
  }

  $('#search-form').addEventListener('submit', function (ev) {
    ev.preventDefault();
    const target = searchHash($('#q').value.trim(), $('#all').checked);
    if (location.hash === target) route(); else location.hash = target;
  });
  $('#all').addEventListener('change', function () {
    location.hash = searchHash($('#q').value.trim(), $('#all').checked);
  });

  // ---- one product ---------------------------------------------------------

  function panel(title) {
    const p = el('section', { class: 'panel' }, el('h2', null, title));
    for (let i = 1; i < arguments.length; i++) append(p, arguments[i]);
    return p;
  }

  function facts(pairs) {
    const dl = el('dl', { class: 'facts' });
    pairs.forEach(function (kv) {
      if (kv[1] === null || kv[1] === undefined || kv[1] === '') return;
      dl.append(el('dt', null, kv[0]), el('dd', null, kv[1]));
    });
    return dl;
  }

  function table(head, rows) {
    return el('table', { class: 'grid' },
      el('thead', null, el('tr', null, head.map(function (h) { return el('th', null, h); }))),
      el('tbody', null, rows.map(function (r) {
        return el('tr', null, r.map(function (c) { return el('td', null, c); }));
      })));
  }

  function text(v) {
    if (v === null || v === undefined) return '';
    if (typeof v === 'object') return JSON.stringify(v);
    return String(v);
  }

  function schemaPanel(p) {
    const d = p.descriptor, s = p.summary || {};
    if (d && d.schemas && d.schemas.length) {
      return panel('Schema', d.schemas.map(function (sc) {
        const fields = sc.fields || [];
        return [el('h3', null, sc.name || '(unnamed)', sc.format ? el('span', { class: 'muted' }, ' · ', sc.format) : null),
          fields.length ? table(['property', 'type', 'classification'], fields.map(function (f) {
            return [el('code', null, text(f.name)), text(f.type), text(f.classification)];
          })) : el('p', { class: 'muted' }, 'no properties declared')];
      }));
    }
    if ((s.schemas && s.schemas.length) || (s.fields && s.fields.length)) {
      return panel('Schema',
        el('p', { class: 'muted' }, 'From the signed summary (this node does not hold the descriptor).'),
        facts([['schemas', (s.schemas || []).join(', ')], ['properties', (s.fields || []).join(', ')]]));
    }
    return panel('Schema', el('p', { class: 'muted' }, 'No schema declared.'));
  }

  function interfacesPanel(p) {
    const d = p.descriptor, s = p.summary || {};
    if (d && d.interfaces && d.interfaces.length) {
      return panel('Interfaces', table(['type', 'name', 'location', 'version', 'contract', ''],
        d.interfaces.map(function (i) {
          return [el('strong', null, text(i.type)), text(i.name), el('code', null, text(i.url)),
            text(i.version), i.contract ? productLink(p.domain + '/' + i.contract, i.contract) : '',
            i.deprecated ? badge('deprecated', 'warn') : ''];
        })));
    }
    if (s.ifaces && s.ifaces.length) {
      return panel('Interfaces', el('div', { class: 'badges' }, s.ifaces.map(function (i) { return badge(i, 'info'); })));
    }
    return panel('Interfaces', el('p', { class: 'muted' }, 'No interfaces declared.'));
  }

  function qualityPanel(p) {
    const q = (p.descriptor && p.descriptor.quality) || (p.summary && p.summary.quality) || {};
    const pairs = [];
    if (q.completeness !== null && q.completeness !== undefined) pairs.push(['completeness', q.completeness + ' %']);
    if (q.accuracy !== null && q.accuracy !== undefined) pairs.push(['accuracy', q.accuracy + ' %']);
    if (q.freshness_s !== null && q.freshness_s !== undefined) pairs.push(['freshness', 'at most ' + duration(q.freshness_s) + ' old']);
    if (q.checks) pairs.push(['quality rules', String(q.checks)]);
    return panel('Quality', pairs.length ? facts(pairs) : el('p', { class: 'muted' }, 'No quality declared.'));
  }

  function verdictPanel(w, p) {
    if (w.status === 'rejected') {
      return panel('Governance', el('p', { class: 'error' }, 'Cannot judge: ' + w.reason.message));
    }
    const v = w.value.why;
    const rules = (v.rules || []).map(function (r) {
      const kind = r.outcome === 'pass' ? 'good' : r.outcome === 'warn' ? 'warn' : 'bad';
      return [el('code', null, r.rule), badge(r.outcome, kind), r.reason || ''];
    });
    return panel('Governance',
      el('p', null, badge(v.verdict, 'verdict ' + (VERDICT[v.verdict] || '')),
        ' ', v.version ? 'under policy v' + v.version + (v.local ? ' with local rules' : '') : 'no policy held: everything is accepted'),
      rules.length ? table(['rule', 'outcome', 'reason'], rules) : null);
  }

  function lineageList(nodes, dir) {
    const mine = nodes.filter(function (n) { return n.dir === dir; });
    if (!mine.length) return el('p', { class: 'muted' }, dir === 'up' ? 'Takes no input from other products.' : 'No product takes input from it.');
    return el('ul', { class: 'lineage-' + dir }, mine.map(function (n) {
      return el('li', { data: { id: n.id, flag: n.flag || '' } },
        productLink(n.id),
        n.status ? badge(n.status, STATUS[n.status] || '') : null,
        n.verdict && n.verdict !== 'accepted' ? badge(n.verdict, VERDICT[n.verdict] || '') : null,
        n.flag ? el('span', { class: 'flag ' + n.flag }, '⚠ ' + n.flag) : null,
        el('span', { class: 'depth' }, 'depth ' + n.depth + (n.via && n.depth > 1 ? ' via ' + n.via : '')));
    }));
  }

  function lineagePanel(l) {
    if (l.status === 'rejected') {
      return panel('Lineage', el('p', { class: 'error' }, l.reason.message));
    }
    const g = l.value.lineage;
    return panel('Lineage',
      el('div', { class: 'cols lineage' },
        el('div', null, el('h3', null, 'Upstream: what it takes input from'), lineageList(g.nodes, 'up')),
        el('div', null, el('h3', null, 'Downstream: what takes input from it'), lineageList(g.nodes, 'down'))),
      g.unresolved && g.unresolved.length
        ? el('p', { class: 'muted' }, 'Inputs that name no product held: ', g.unresolved.join(', ')) : null);
  }

  function renderProduct(view, id, g, w, l) {
    const p = g.product, s = p.summary || {}, d = p.descriptor;
    const dep = p.deprecation;
    view.replaceChildren();
    append(view, [
      el('a', { class: 'back', href: lastSearch }, '← back to search'),
      el('h1', { class: 'p-title' }, p.name),
      el('div', { class: 'p-sub mono' }, p.id, '  ·  v', p.version, '  ·  ', p.kind),
      el('div', { class: 'badges' }, badges(p, true)),
      dep ? el('div', { class: 'notice warn' }, 'Deprecated: ', dep.reason || 'no reason given',
        dep.sunset ? ' · sunset ' + dep.sunset : '',
        dep.replaced_by ? [' · replaced by ', productLink(dep.replaced_by)] : '') : null,
      p.upstream_flags && p.upstream_flags.length
        ? el('div', { class: 'notice bad' }, 'Upstream products to be wary of: ',
          p.upstream_flags.map(function (f, i) {
            return [i ? ', ' : '', productLink(f.id), ' (' + f.why + ', depth ' + f.depth + ')'];
          })) : null,
      panel('About',
        p.description ? el('p', { class: 'r-desc' }, p.description) : el('p', { class: 'muted' }, 'No description.'),
        facts([
          ['owner', p.owner || '—'],
          ['domain', el('a', { href: searchHash('domain:' + p.domain, false) }, p.domain)],
          ['tags', p.tags && p.tags.length ? p.tags.map(function (t) {
            return el('a', { class: 'tag', href: searchHash('tag:' + quoteValue(t), false) }, t);
          }) : null],
          ['formats', (s.formats || []).join(', ')],
          ['contracts', (s.contracts || []).length ? s.contracts.map(function (c, i) {
            return [i ? ', ' : '', productLink(c)];
          }) : null],
          ['usage', d && d.usage], ['limitations', d && d.limitations],
          ['version', p.version + ' (seq ' + p.seq + ')'],
          ['signed', date(p.issued)],
          ['hash', el('code', null, p.hash)],
        ])),
      el('div', { class: 'cols' }, qualityPanel(p), verdictPanel(w, p)),
      lineagePanel(l),
      schemaPanel(p),
      interfacesPanel(p),
      d && d.source ? el('details', { class: 'panel' }, el('summary', null, 'Descriptor as published'),
        el('pre', { class: 'src' }, JSON.stringify(d.source, null, 2))) : null]);
    view.dataset.ready = id;
  }

  function showProduct(id) {
    const view = $('#view-product');
    show('product');
    delete view.dataset.ready;
    view.replaceChildren(el('p', { class: 'muted' }, 'Loading ', id, '…'));
    const base = '/api/products/' + idPath(id);
    Promise.allSettled([api(base), api(base + '/why'), api(base + '/lineage?depth=5')]).then(function (rs) {
      if (rs[0].status === 'rejected') {
        view.replaceChildren(el('a', { class: 'back', href: lastSearch }, '← back to search'),
          el('h1', { class: 'p-title' }, id));
        const box = el('div', { class: 'error' });
        showError(box, rs[0].reason);
        view.append(box);
        if (rs[1].status === 'fulfilled') view.append(verdictPanel(rs[1], null));
        view.dataset.ready = id;
        return;
      }
      renderProduct(view, id, rs[0].value, rs[1], rs[2]);
      document.title = rs[0].value.product.name + ' · weft catalog';
    });
  }

  // ---- domains -------------------------------------------------------------

  function showDomains() {
    const view = $('#view-domains');
    show('domains');
    delete view.dataset.ready;
    view.replaceChildren(el('p', { class: 'muted' }, 'Loading…'));
    Promise.all([api('/api/domains'), api('/api/peers')]).then(function (rs) {
      const doms = rs[0].domains, peers = rs[1].peers;
      doms.sort(function (a, b) { return a.domain < b.domain ? -1 : 1; });
      view.replaceChildren(
        el('h1', { class: 'p-title' }, 'Domains'),
        el('p', { class: 'muted' }, 'Every domain this node holds a verified replica of. Freshness is the age of ' +
          "the domain's newest signed head here: a domain whose node is down or cut off stops refreshing it."),
        panel('Domains', table(['domain', 'key', 'seq', 'products', 'freshness', ''],
          doms.map(function (d) {
            const f = freshness(d.stale_s);
            return [el('a', { href: searchHash('domain:' + d.domain, false), class: 'dlink', data: { domain: d.domain } }, d.domain),
              el('code', null, d.fingerprint || ''), String(d.seq), String(d.products),
              el('span', { class: 'stale-s ' + f, data: { stale: String(d.stale_s) } }, ago(d.stale_s)),
              [d.self === 'yes' ? badge('this node', 'info') : null,
                d.behind ? badge('behind', 'warn', 'its head names a seq not held yet') : null,
                d.equivocation ? badge('equivocation', 'bad', 'it signed two summaries with one seq') : null]];
          }))),
        panel('Peers', peers.length ? table(['peer', 'direction', 'domain', 'key', 'state', 'last seen', 'round trip'],
          peers.map(function (p) {
            return [p.url ? el('code', null, p.url) : '(inbound)', p.direction, p.domain || '', el('code', null, p.fingerprint || ''),
              badge(p.state, p.state === 'up' || p.state === 'in' ? 'good' : p.state === 'down' ? 'bad' : 'warn'),
              p.last_seen ? ago(Math.max(0, Math.floor(Date.now() / 1000) - p.last_seen)) : 'never',
              p.rtt_us ? (p.rtt_us / 1000).toFixed(1) + ' ms' : ''];
          })) : el('p', { class: 'muted' }, 'This node has no peers.')));
      view.dataset.ready = '1';
    }).catch(function (e) {
      const box = el('div', { class: 'error' });
      showError(box, e);
      view.replaceChildren(box);
    });
  }

  // ---- routing -------------------------------------------------------------

  function route() {
    const h = location.hash || '#/';
    if (h.indexOf('#/product/') === 0) {
      let id;
      try { id = decodeURIComponent(h.slice(10)); } catch (e) { id = h.slice(10); }
      showProduct(id);
    } else if (h.indexOf('#/domains') === 0) {
      showDomains();
    } else {
      const i = h.indexOf('?');
      const qs = new URLSearchParams(i >= 0 ? h.slice(i + 1) : '');
      runSearch(qs.get('q') || '', qs.get('all') === '1');
    }
  }

  window.addEventListener('hashchange', route);

  api('/api/status').then(function (st) {
    $('#node').textContent = 'node ' + st.domain + ' · ' + st.catalog + ' products held';
    $('#footer').textContent = 'weftd ' + st.version + ' · domain ' + st.domain + ' · key ' + st.fingerprint +
      ' · catalog digest ' + st.catalog_digest.slice(0, 16) + '…';
  }).catch(function () { /* the header stays empty */ });

  route();
})();
