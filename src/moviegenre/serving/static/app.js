// moviegenre page: predict without a reload through the JSON API. The page works without this file.
// Every piece of user text goes through textContent, never innerHTML, so a plot can't inject markup.
"use strict";

(function () {
  const $ = (id) => document.getElementById(id);
  const form = $("predict-form");
  if (!form || !window.fetch) {
    return; // old browser: the plain form post still works
  }
  document.documentElement.classList.add("js"); // the styled poster picker replaces the native one
  const plotBox = $("plot");
  const explainBox = $("explain");
  const submit = $("predict-button");
  const posterBox = $("poster"); // absent when the model reads plots only
  const preview = $("poster-preview");
  const clearPoster = $("poster-clear");
  const MAX_POSTER_BYTES = 10 * 1024 * 1024;
  let posterData = null; // the chosen poster as a data: URL (what the API and the preview take)
  let lastExplanation = null;
  let lastPlot = "";
  let answered = 0; // answers rendered so far (data-answered on #result: tests wait on it)

  const percent = (p) => Math.max(0, Math.min(100, Math.round(p * 100)));
  const capitalise = (text) => text.charAt(0).toUpperCase() + text.slice(1);

  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function showError(message) {
    const box = $("error");
    // The API names the field ("poster: ..."); the page says it in words.
    box.textContent = capitalise(message.replace(/^poster: /, "The poster cannot be used: "));
    box.hidden = false;
  }

  function renderBars(data, withheld) {
    const bars = $("bars");
    bars.classList.toggle("prior", withheld);
    bars.replaceChildren();
    const chosen = new Set(data.genres);
    const order = Object.keys(data.scores).sort((a, b) => data.scores[b] - data.scores[a]);
    for (const genre of order) {
      const pct = percent(data.scores[genre]);
      const tpct = percent(data.thresholds[genre]);
      const row = el("li", "bar-row" + (chosen.has(genre) ? " chosen" : ""));
      row.append(el("span", "name", genre));
      const bar = el("span", "bar");
      bar.setAttribute("role", "img");
      bar.setAttribute("aria-label", `${genre}: ${pct}%, threshold ${tpct}%`);
      bar.append(el("span", "fill w-" + pct), el("span", "mark l-" + tpct));
      row.append(bar, el("span", "value", pct + "%"));
      bars.append(row);
    }
  }

  function renderHighlight(genre) {
    const target = $("explained");
    target.replaceChildren();
    const pairs = (lastExplanation && lastExplanation[genre]) || [];
    const peak = Math.max(1e-12, ...pairs.map((p) => Math.abs(p[1])));
    let pos = 0;
    for (const [word, weight] of pairs) {
      const at = lastPlot.indexOf(word, pos);
      if (at < 0) continue;
      if (at > pos) target.append(document.createTextNode(lastPlot.slice(pos, at)));
      // Five intensity steps relative to the strongest word; under a tenth of it stays plain.
      const level = Math.min(5, Math.round((Math.abs(weight) / peak) * 5));
      const span = el("span", level ? (weight > 0 ? "pos-" : "neg-") + level : "", word);
      span.title = `${word}: ${weight > 0 ? "+" : ""}${weight.toFixed(3)}`;
      target.append(span);
      pos = at + word.length;
    }
    if (pos < lastPlot.length) target.append(document.createTextNode(lastPlot.slice(pos)));
    target.hidden = false;
  }

  function renderExplanation(data, plot) {
    const section = $("explain-section");
    $("explain-static").replaceChildren();
    if (!data.explanation) {
      section.hidden = true;
      return;
    }
    const info = data.explanation_info || {};
    $("explain-truncated").hidden = !info.truncated;
    $("explained-words").textContent = String(info.explained_words || "");
    lastExplanation = data.explanation;
    lastPlot = plot;
    const select = $("explain-genre");
    select.replaceChildren();
    const order = Object.keys(data.scores).sort((a, b) => data.scores[b] - data.scores[a]);
    for (const genre of order) {
      if (!(genre in data.explanation)) continue;
      const option = el("option", "", genre + (data.genres.includes(genre) ? " ✓" : ""));
      option.value = genre;
      select.append(option);
    }
    $("explain-picker").hidden = false;
    section.hidden = false;
    if (select.options.length) renderHighlight(select.value);
  }

  function dropPoster(message) {
    posterBox.value = "";
    showPoster(null);
    if (message) showError(message);
  }

  function showPoster(file) {
    posterData = null;
    preview.hidden = true;
    preview.removeAttribute("src");
    clearPoster.hidden = !file;
    $("poster-name").textContent = file ? file.name : "No poster chosen";
    $("poster-choose").textContent = file ? "Choose another…" : "Choose an image…";
    if (!file) return;
    $("error").hidden = true;
    if (file.size > MAX_POSTER_BYTES) {
      dropPoster("The poster is over 10 MB; choose a smaller image.");
      return;
    }
    const reader = new FileReader();
    reader.onload = () => {
      const data = String(reader.result);
      // Shown only once the browser has drawn it: a file that is not an image never leaves a
      // broken-image icon behind, and is not sent.
      preview.onload = () => {
        posterData = data;
        preview.hidden = false;
      };
      preview.onerror = () =>
        dropPoster("That file is not a picture this page can read; choose a JPEG, PNG or WebP image.");
      preview.src = data; // a data: URL, which the page's CSP allows for images
    };
    reader.onerror = () => dropPoster("Could not read that file; choose another image.");
    reader.readAsDataURL(file);
  }

  // "French (fr, 98%)": the name as the browser knows it (the page's words are English);
  // "zxx" is the detector's "no language at all" (gibberish, numbers).
  function languageLabel(language) {
    const share = `${Math.round(language.confidence * 100)}%`;
    if (language.code === "zxx") return "none recognised";
    let name = language.code;
    try {
      name = new Intl.DisplayNames(["en"], { type: "language" }).of(language.code) || name;
    } catch (error) {
      // an unknown code: show the code itself
    }
    return name === language.code ? `${name} (${share})` : `${name} (${language.code}, ${share})`;
  }

  function render(data, plot) {
    const chips = $("genres");
    chips.replaceChildren(...data.genres.map((g) => el("li", "chip", g)));
    $("inputs-used").textContent = (data.inputs || ["plot"]).join(" + ");
    $("inputs").hidden = false;
    const language = data.language;
    $("language-code").textContent = language ? languageLabel(language) : "";
    $("language-code").dataset.language = language ? language.code : "";
    $("language").hidden = !language;
    $("truncated").hidden = !data.truncated;
    const warnings = data.warnings || [];
    $("warnings").replaceChildren(...warnings.map((w) => {
      const item = el("li", "warning", capitalise(w.message));
      item.dataset.code = w.code;
      return item;
    }));
    $("warnings").hidden = warnings.length === 0;
    // A plot without one known word gets no genre on purpose (the server's rule); its bars are
    // then only the model's prior, and the page says so instead of "no genre is above".
    const inputs = data.inputs || ["plot"];
    const withheld = data.genres.length === 0 && !inputs.includes("poster") &&
      warnings.some((w) => w.code === "unknown_words");
    $("none").hidden = data.genres.length > 0 || withheld;
    $("withheld").hidden = !withheld;
    $("bars-heading").textContent = withheld ? "What the model expects of any plot" : "All genres";
    $("legend-rule").textContent = withheld
      ? "(not applied: this plot cannot be read)"
      : "(a genre is chosen when its bar reaches the line)";
    $("threshold-note").hidden = !inputs.includes("poster");
    $("threshold-note-text").textContent = inputs.length === 1
      ? "With a poster alone, the thresholds are the poster model's."
      : "With a poster, each threshold blends the plot model's and the poster model's: the lines sit elsewhere than for a plot alone.";
    renderBars(data, withheld);
    $("result").hidden = false;
    renderExplanation(data, plot);
    answered += 1;
    $("result").dataset.answered = String(answered);
    // On a phone the answer is below the fold: bring it into view and move focus to it.
    $("result").scrollIntoView({ block: "start" });
    $("result-heading").focus({ preventScroll: true });
  }

  async function predict() {
    const plot = plotBox.value;
    const hasPlot = /\S/.test(plot);
    $("error").hidden = true;
    if (!hasPlot && !posterData) {
      showError(posterBox ? "Type a plot summary or choose a poster first." : "Type or paste a plot summary first.");
      return;
    }
    const body = {};
    if (hasPlot) {
      body.plot = plot;
      body.explain = explainBox.checked;
    }
    if (posterData) body.poster = posterData;
    submit.disabled = true;
    $("busy").hidden = false;
    try {
      const response = await fetch("/api/v1/predict", {
        method: "POST",
        headers: { "Content-Type": "application/json", Accept: "application/json" },
        body: JSON.stringify(body),
      });
      let data = null;
      try {
        data = await response.json();
      } catch (e) {
        data = null;
      }
      if (!response.ok) {
        showError((data && data.error && data.error.message) || `Request failed (${response.status}).`);
        return;
      }
      render(data, plot);
    } catch (e) {
      showError("Could not reach the server; check your connection and try again.");
    } finally {
      submit.disabled = false;
      $("busy").hidden = true;
    }
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    predict();
  });
  $("explain-genre").addEventListener("change", (event) => renderHighlight(event.target.value));
  if (posterBox) {
    posterBox.addEventListener("change", () => showPoster(posterBox.files[0] || null));
    clearPoster.addEventListener("click", () => dropPoster(null));
    if (posterBox.files && posterBox.files[0]) showPoster(posterBox.files[0]); // back button
  }
  for (const link of document.querySelectorAll("a.example")) {
    link.addEventListener("click", (event) => {
      event.preventDefault();
      plotBox.value = link.dataset.plot;
      predict();
    });
  }
})();
