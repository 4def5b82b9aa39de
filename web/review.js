// Review on the photo: every book found and every spine that could not be named is outlined where it
// stands; a click (or Enter) opens what was read there and why, and the user confirms the book, replaces it
// by one found in the catalog, or says it is not there. Each verdict is saved to the job
// (PATCH /jobs/{id}/books), which answers with the job as reviewed: the list, the outlines and every export
// follow it. app.js calls BookReview.show(result, options) once a job has its books.
"use strict";

const BookReview = (() => {
  const SVG = "http://www.w3.org/2000/svg";
  const $ = (selector) => document.querySelector(selector);
  let options = null; // { photoUrl, apiUrl(path), job: () => ({ id, token }), onReviewed(result) }
  let result = null;
  let selected = null; // a spine of the result: a book or an unidentified one

  function spines() {
    const outOfOrder = new Set(((result.audit || {}).out_of_order || []).map((item) => item.ref || item.title));
    return [
      ...(result.books || []).map((book) => ({
        kind: "book", item: book,
        state: outOfOrder.has(book.ref) || outOfOrder.has(book.title) ? "out-of-order" : "found",
      })),
      ...(result.unidentified || []).map((item) => ({ kind: "unidentified", item, state: "unread" })),
    ].filter((spine) => (spine.item.polygon || []).length >= 3 && spine.item.ref);
  }

  function label(spine) {
    if (spine.kind === "book") return `${spine.item.title}${spine.item.author ? `, ${spine.item.author}` : ""}`;
    return spine.item.text ? `Not identified: “${spine.item.text}”` : "A spine that could not be read";
  }

  function draw() {
    const overlay = $("#review-overlay");
    overlay.replaceChildren();
    for (const spine of spines()) {
      const shape = document.createElementNS(SVG, "polygon");
      shape.setAttribute("points", spine.item.polygon.map((p) => `${p.x},${p.y}`).join(" "));
      shape.setAttribute("class", `spine ${spine.state}${spine.item.review ? " reviewed" : ""}`);
      shape.setAttribute("tabindex", "0");
      shape.setAttribute("role", "button");
      shape.setAttribute("aria-label", label(spine));
      shape.dataset.ref = spine.item.ref;
      shape.dataset.state = spine.state;
      const title = document.createElementNS(SVG, "title");
      title.textContent = label(spine);
      shape.append(title);
      shape.addEventListener("click", () => select(spine));
      shape.addEventListener("keydown", (event) => {
        if (event.key === "Enter" || event.key === " ") {
          event.preventDefault();
          select(spine);
        }
      });
      if (selected && selected.item.ref === spine.item.ref) shape.classList.add("selected");
      overlay.append(shape);
    }
    const counts = spines().reduce((n, s) => ({ ...n, [s.state]: (n[s.state] || 0) + 1 }), {});
    $("#review-legend-found").textContent = counts.found || 0;
    $("#review-legend-unread").textContent = counts.unread || 0;
    $("#review-legend-out-of-order").textContent = counts["out-of-order"] || 0;
  }

  function fact(list, name, value) {
    if (value === null || value === undefined || value === "") return;
    const term = document.createElement("dt");
    term.textContent = name;
    const detail = document.createElement("dd");
    detail.textContent = value;
    list.append(term, detail);
  }

  function select(spine) {
    selected = spine;
    const panel = $("#review-panel");
    const item = spine.item;
    $("#review-title").textContent = spine.kind === "book" ? item.title : "Not identified";
    const facts = $("#review-facts");
    facts.replaceChildren();
    if (spine.kind === "book") {
      fact(facts, "Author", item.author);
      fact(facts, "ISBN", item.isbn);
      fact(facts, "Call number", item.tag);
      fact(facts, "Confidence", `${Math.round((item.confidence || 0) * 100)}%`);
      fact(facts, "Matched on", (item.signals || []).join(", ").replace(/_/g, " "));
      fact(facts, "Read on the spine", item.evidence || "(nothing)");
      fact(facts, "Review", { confirmed: "confirmed by you", replaced: "replaced by you", named: "named by you" }[item.review]);
    } else {
      fact(facts, "Read on the spine", item.text || "(nothing)");
      fact(facts, "Why no book", item.reason);
    }
    $("#review-confirm").hidden = spine.kind !== "book";
    $("#review-remove").textContent = spine.kind === "book" ? "Not this book" : "Not a book";
    $("#review-results").replaceChildren();
    $("#review-query").value = spine.kind === "book" ? "" : item.text || "";
    say("");
    panel.hidden = false;
    draw();
    $("#review-title").focus({ preventScroll: true });
  }

  function say(text, isError = false) {
    const status = $("#review-status");
    status.textContent = text;
    status.classList.toggle("error", isError);
  }

  async function save(review) {
    const [spine, index] = selected.item.ref.split("/");
    const job = options.job();
    say("Saving…");
    let response;
    try {
      response = await fetch(options.apiUrl(`/jobs/${encodeURIComponent(job.id)}/books`), {
        method: "PATCH",
        headers: { "Content-Type": "application/json", "X-Job-Token": job.token },
        body: JSON.stringify({ reviews: [{ spine, index: Number(index), ...review }] }),
      });
    } catch (error) {
      say(`Not saved: ${error.message}`, true);
      return;
    }
    const body = await response.json().catch(() => ({}));
    if (!response.ok) {
      say(`Not saved: ${body.message || `HTTP ${response.status}`}`, true);
      return;
    }
    result = body.result || result;
    const ref = selected.item.ref;
    options.onReviewed(result);
    draw();
    const again = spines().find((s) => s.item.ref === ref);
    if (again) select(again);
    else $("#review-panel").hidden = true;
    say("Saved.");
  }

  async function search(event) {
    event.preventDefault();
    const query = $("#review-query").value.trim();
    const list = $("#review-results");
    list.replaceChildren();
    if (query.length < 2) return say("Type at least two letters of the title or the author.", true);
    say("Searching…");
    const response = await fetch(options.apiUrl(`/catalog/books?q=${encodeURIComponent(query)}&limit=8`));
    const body = await response.json().catch(() => ({}));
    if (!response.ok) return say(body.message || `HTTP ${response.status}`, true);
    say(body.books.length ? "" : "No book of the catalog matches.");
    for (const book of body.books) {
      const entry = document.createElement("li");
      const choose = document.createElement("button");
      choose.type = "button";
      choose.className = "review-choice";
      choose.textContent = `${book.title}${book.author ? ` — ${book.author}` : ""}${book.tag ? ` (${book.tag})` : ""}`;
      choose.addEventListener("click", () => save({ action: "replace", book }));
      entry.append(choose);
      list.append(entry);
    }
  }

  function show(shown, settings) {
    options = settings;
    result = shown;
    selected = null;
    const section = $("#review");
    if (!options.photoUrl || !spines().length) {
      section.hidden = true;
      return;
    }
    $("#review-image").src = options.photoUrl;
    $("#review-panel").hidden = true;
    section.hidden = false;
    draw();
  }

  document.addEventListener("DOMContentLoaded", () => {
    $("#review-confirm").addEventListener("click", () => save({ action: "confirm" }));
    $("#review-remove").addEventListener("click", () => save({ action: "remove" }));
    $("#review-search").addEventListener("submit", search);
    $("#review-close").addEventListener("click", () => {
      $("#review-panel").hidden = true;
      selected = null;
      draw();
    });
  });

  return { show };
})();
