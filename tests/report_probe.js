// Injected by tests/test_report_browser.py into a copy of a report: once BokehJS has drawn the page, read the
// live document (the map's renderers and their points), hover over a point with a synthetic pointer event,
// click the first legend entry, and read the text of the page as drawn (Bokeh draws inside shadow roots, which
// Chromium's --dump-dom does not serialize). The findings go, as JSON, into a pre element with id n2d-probe.
(async () => {
  const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
  const drawnText = (node) => {
    const parts = [];
    const walk = (n) => {
      if (n.nodeName === "STYLE" || n.nodeName === "SCRIPT") return;
      if (n.nodeType === Node.TEXT_NODE) parts.push(n.textContent);
      if (n.shadowRoot) walk(n.shadowRoot);
      for (const child of n.childNodes) walk(child);
    };
    walk(node);
    return parts.join(" ").replace(/\s+/g, " ");
  };
  const found = {};
  try {
    while (!(window.Bokeh && Bokeh.index && Bokeh.index.roots.length)) await sleep(50);
    const root = Bokeh.index.roots[0];
    await root.ready;
    while (!root.has_finished()) await sleep(50);
    const views = [...Bokeh.index.query(() => true)];
    const map = views.find((v) => v.model.type === "Figure" && v.model.title.text.startsWith("Clusters"));
    const glyphs = views.filter((v) => v.model.type === "GlyphRenderer" && v.parent === map);
    found.renderers = glyphs.length;
    found.points = glyphs.reduce((n, v) => n + v.model.data_source.get_length(), 0);
    found.finished = glyphs.every((v) => v.has_finished());
    found.webgl = glyphs.every((v) => v.glyph.glglyph != null);
    found.backend = document.documentElement.getAttribute("data-n2d-map-backend");  // the page's own choice
    const gl = document.createElement("canvas").getContext("webgl");
    const info = gl && gl.getExtension("WEBGL_debug_renderer_info");
    found.gl_renderer = info ? String(gl.getParameter(info.UNMASKED_RENDERER_WEBGL)) : null;

    const data = glyphs[0].model.data_source.data;
    const box = map.canvas_view.events_el.getBoundingClientRect();
    const at = {
      clientX: box.left + map.frame.x_scale.compute(data.x[0]), clientY: box.top + map.frame.y_scale.compute(data.y[0]),
      bubbles: true, composed: true, pointerType: "mouse", isPrimary: true,
    };
    map.canvas_view.events_el.dispatchEvent(new PointerEvent("pointerover", at));
    map.canvas_view.events_el.dispatchEvent(new PointerEvent("pointermove", at));
    await sleep(500);
    const hover = views.find((v) => v.model.type === "HoverTool" && v.parent === map);
    found.hovered_row = data.row[0];
    found.tooltip = [...hover._ttviews.values()].map((t) => drawnText(t.el)).join(" ").trim();

    const legend = views.find((v) => v.model.type === "Legend" && v.parent === map);
    found.legend_entries = legend.entries.length;
    legend.entries[0].el.dispatchEvent(new PointerEvent("pointerdown", { bubbles: true }));
    await sleep(100);
    found.visible_after_click = glyphs.map((v) => v.model.visible);

    found.text = drawnText(document.body);
  } catch (error) {
    found.error = `${error}\n${error.stack}`;
  }
  const out = document.createElement("pre");
  out.id = "n2d-probe";
  out.textContent = JSON.stringify(found);
  document.body.appendChild(out);
})();
