// Evaluated by benchmarks/report_time.py in a report that Chromium is showing (over its DevTools pipe, in real
// time): once BokehJS has drawn the page, time what a user's gestures cost on the map. Each figure is the
// milliseconds of one synchronous redraw or event dispatch on the page's thread: a zoom (the view's ranges
// halved about their centre, then every renderer redrawn), a pan (shifted by a tenth of the span, redrawn), and
// a hover (from the pointer moving onto a point to its tooltip being shown, to a frame). Also the milliseconds from the navigation's
// start to the map being drawn. The expression's value is the figures.
(async () => {
  const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
  const found = { zoom_ms: [], pan_ms: [], hover_ms: [] };
  try {
    while (!(window.Bokeh && Bokeh.index && Bokeh.index.roots.length)) await sleep(50);
    const root = Bokeh.index.roots[0];
    await root.ready;
    while (!root.has_finished()) await sleep(50);
    found.drawn_ms = performance.now();  // since the navigation started (the page's time origin)
    const views = [...Bokeh.index.query(() => true)];
    const map = views.find((v) => v.model.type === "Figure" && v.model.title.text.startsWith("Clusters"));
    const glyphs = views.filter((v) => v.model.type === "GlyphRenderer" && v.parent === map);
    found.points = glyphs.reduce((n, v) => n + v.model.data_source.get_length(), 0);
    found.webgl = glyphs.every((v) => v.glyph.glglyph != null);
    found.backend = document.documentElement.getAttribute("data-n2d-map-backend");
    const gl = document.createElement("canvas").getContext("webgl");
    const info = gl && gl.getExtension("WEBGL_debug_renderer_info");
    found.gl_renderer = info ? String(gl.getParameter(info.UNMASKED_RENDERER_WEBGL)) : null;
    const { x_range: xr, y_range: yr } = map.model;
    const redraw = (change) => {
      const t0 = performance.now();
      change();
      map.invalidate_painters();  // every renderer, not the cached layers
      map.repaint();
      return performance.now() - t0;
    };
    const full = [xr.start, xr.end, yr.start, yr.end];
    for (let i = 0; i < 5; i++) {
      const [x0, x1, y0, y1] = full;
      found.zoom_ms.push(redraw(() => {
        const dx = (x1 - x0) / 4, dy = (y1 - y0) / 4;
        xr.setv({ start: x0 + dx, end: x1 - dx }); yr.setv({ start: y0 + dy, end: y1 - dy });
      }));
      await sleep(100);
      found.pan_ms.push(redraw(() => {
        const shift = (xr.end - xr.start) / 10;
        xr.setv({ start: xr.start + shift, end: xr.end + shift });
      }));
      await sleep(100);
      redraw(() => { xr.setv({ start: x0, end: x1 }); yr.setv({ start: y0, end: y1 }); });
      await sleep(100);
    }
    const hit = map.canvas_view.events_el;
    const box = hit.getBoundingClientRect();
    const hover = views.find((v) => v.model.type === "HoverTool" && v.parent === map);
    for (let i = 0; i < 5; i++) {
      const data = glyphs[i % glyphs.length].model.data_source.data;
      const at = {
        clientX: box.left + map.frame.x_scale.compute(data.x[0]), clientY: box.top + map.frame.y_scale.compute(data.y[0]),
        bubbles: true, composed: true, pointerType: "mouse", isPrimary: true,
      };
      const shown = () => [...hover._ttviews.values()].some((t) => t.el.shadowRoot.textContent.includes(`row ${data.row[0]},`));
      const t0 = performance.now();
      hit.dispatchEvent(new PointerEvent("pointermove", at));
      while (!shown() && performance.now() - t0 < 5000) await new Promise((resolve) => requestAnimationFrame(resolve));
      found.hover_ms.push(shown() ? performance.now() - t0 : null);
      await sleep(300);
    }
  } catch (error) {
    found.error = `${error}\n${error.stack}`;
  }
  return found;
})();
