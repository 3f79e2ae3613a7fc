namespace Aim.Server.Dashboard;

/// <summary>The dashboard's one stylesheet and one small script (no inline code, so the CSP forbids inline scripts).</summary>
internal static class DashboardAssets
{
    public const string Css = """
        :root { color-scheme: light; --fg:#1b1f24; --muted:#57606a; --line:#d0d7de; --accent:#0a58ca; --bad:#b42318; --good:#067647; }
        * { box-sizing: border-box; }
        body { margin:0; font:15px/1.45 system-ui, "DejaVu Sans", sans-serif; color:var(--fg); background:#f6f8fa; }
        header { display:flex; flex-wrap:wrap; align-items:center; gap:1rem; padding:.6rem 1.2rem; background:#fff; border-bottom:1px solid var(--line); }
        .brand { font-weight:700; font-size:1.15rem; }
        nav ul { display:flex; flex-wrap:wrap; gap:.9rem; list-style:none; margin:0; padding:0; }
        nav a { color:var(--accent); text-decoration:none; } nav a[aria-current=page] { font-weight:700; text-decoration:underline; }
        .signout { margin-left:auto; } .who { color:var(--muted); }
        main { padding:1rem 1.2rem 3rem; max-width:1200px; }
        h1 { font-size:1.4rem; margin:.3rem 0 1rem; } h2 { font-size:1.1rem; margin-top:1.6rem; }
        table { border-collapse:collapse; width:100%; background:#fff; margin:.5rem 0 1rem; }
        th, td { text-align:left; padding:.4rem .55rem; border-bottom:1px solid var(--line); vertical-align:top; }
        th { background:#eef1f4; font-weight:600; }
        form.inline { display:inline-block; margin:0 .3rem .3rem 0; }
        input, select, button, textarea { font:inherit; padding:.3rem .5rem; }
        button { cursor:pointer; border:1px solid var(--line); background:#fff; border-radius:4px; }
        button:focus-visible, a:focus-visible, input:focus-visible, select:focus-visible { outline:3px solid #ffbf47; outline-offset:1px; }
        .approve button { border-color:var(--good); color:var(--good); } .deny button, .danger button { border-color:var(--bad); color:var(--bad); }
        .error { color:var(--bad); background:#fef3f2; padding:.5rem .8rem; border:1px solid #fda29b; }
        .notice { color:var(--good); background:#ecfdf3; padding:.5rem .8rem; border:1px solid #abefc6; }
        .secret { font-family:"DejaVu Sans Mono", monospace; background:#fff8c5; padding:.5rem; word-break:break-all; }
        .ok { color:var(--good); font-weight:600; } .bad { color:var(--bad); font-weight:600; }
        pre { background:#fff; border:1px solid var(--line); padding:.7rem; overflow:auto; font-size:13px; }
        .filters { display:flex; flex-wrap:wrap; gap:.6rem; align-items:end; background:#fff; padding:.7rem; border:1px solid var(--line); }
        .filters label { display:flex; flex-direction:column; font-size:.85rem; color:var(--muted); }
        .skip { position:absolute; left:-999px; } .skip:focus { left:.5rem; top:.5rem; background:#fff; padding:.4rem; }
        .card { background:#fff; border:1px solid var(--line); padding:.8rem 1rem; margin-bottom:1rem; }
        .signin { max-width:420px; } .signin input { width:100%; }
        svg.chart { background:#fff; border:1px solid var(--line); }
        """;

    // Live updates: the server sends an event when pending approvals or the audit log change; the page swaps in
    // the fresh region (elements marked data-live) instead of reloading, so focus and typed reasons survive
    // unless the list itself changed.
    public const string Js = """
        (function () {
          if (!window.EventSource) return;
          var live = document.querySelectorAll('[data-live]');
          if (live.length === 0) return;
          var source = new EventSource('/dashboard/events');
          function refresh(kind) {
            live.forEach(function (region) {
              if (region.getAttribute('data-live') !== kind) return;
              fetch(window.location.href, { credentials: 'same-origin', headers: { 'X-Fragment': '1' } })
                .then(function (r) { return r.ok ? r.text() : null; })
                .then(function (html) {
                  if (html === null) return;
                  var doc = new DOMParser().parseFromString(html, 'text/html');
                  var fresh = doc.querySelector('[data-live="' + kind + '"]');
                  if (fresh && fresh.innerHTML !== region.innerHTML) region.innerHTML = fresh.innerHTML;
                });
            });
          }
          source.addEventListener('approvals', function () { refresh('approvals'); });
          source.addEventListener('audit', function () { refresh('audit'); });
          document.documentElement.setAttribute('data-live-connected', '1');
        })();
        """;
}
