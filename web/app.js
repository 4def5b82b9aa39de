// BookImg web page: no framework, no build step. Reads config.json (API + WebSocket URLs), creates a
// job (POST /jobs), uploads the photo with the presigned POST, then follows the job live over the
// WebSocket (subscribe with the job's token), falling back to polling GET /jobs/{id} if the socket
// goes away. The job id and token live in the URL fragment (#job=..&token=..), never sent to a server
// by the browser, so a reload picks the job up again.
"use strict";

// The job's steps after the upload come from config.json (models/stages.py, the one list of the stages);
// showSteps fills these in. `created` is the page's own upload step, `failed` can follow any step.
const STATUS_RANK = { created: 0 };
const STATUS_TEXT = {
  created: "Uploading your photo…",
  failed: "Something went wrong.",
  expired: "This job expired: its photo never arrived.",
};
// A job ends completed, or badly: failed, or expired when its photo never arrived (the sweeper says so).
const ENDED_BADLY = ["failed", "expired"];
let FIRST_STEP = null;

const $ = (selector) => document.querySelector(selector);
const state = { config: null, file: null, job: null, socket: null, status: null, result: null, poll: null };

async function loadConfig() {
  const response = await fetch("config.json", { cache: "no-store" });
  if (!response.ok) throw new Error(`config.json: HTTP ${response.status}`);
  state.config = await response.json();
  showSteps(state.config.steps || []);
  if (state.config.max_upload_bytes) {
    $("#size-limit").textContent = ` · up to ${formatBytes(state.config.max_upload_bytes)}`;
  }
}

function showSteps(steps) {
  const list = $("#stages");
  steps.forEach((step, index) => {
    STATUS_RANK[step.status] = index + 1;
    STATUS_TEXT[step.status] = step.text;
    const item = document.createElement("li");
    item.dataset.stage = step.status;
    const name = document.createElement("span");
    name.className = "stage-name";
    name.textContent = step.label;
    const time = document.createElement("time");
    time.className = "stage-time";
    item.append(name, time);
    list.append(item);
  });
  STATUS_RANK.failed = steps.length + 1;
  STATUS_RANK.expired = steps.length + 1;
  FIRST_STEP = steps.length ? steps[0].status : null;
}

function formatBytes(bytes) {
  return bytes >= 1e6 ? `${(bytes / 1e6).toFixed(bytes >= 1e7 ? 0 : 1)} MB` : `${Math.round(bytes / 1e3)} kB`;
}

function apiUrl(path) {
  return state.config.api_url.replace(/\/$/, "") + path;
}

// --- choosing a photo --------------------------------------------------------------------------

function choose(file) {
  hideError();
  if (!file) return;
  if (!file.type.startsWith("image/")) return showError(`${file.name} is not an image.`);
  if (state.config && state.config.max_upload_bytes && file.size > state.config.max_upload_bytes) {
    return showError(`${file.name} is ${formatBytes(file.size)}; the limit is ${formatBytes(state.config.max_upload_bytes)}.`);
  }
  state.file = file;
  const preview = $("#preview-image");
  if (preview.src) URL.revokeObjectURL(preview.src);
  preview.src = URL.createObjectURL(file);
  $("#preview-caption").textContent = `${file.name} · ${formatBytes(file.size)}`;
  $("#preview").hidden = false;
  $("#submit").disabled = false;
}

function setUpChooser() {
  const input = $("#photo");
  const zone = $("#drop-zone");
  input.addEventListener("change", () => choose(input.files[0]));
  for (const type of ["dragenter", "dragover"]) {
    zone.addEventListener(type, (event) => {
      event.preventDefault();
      zone.classList.add("dragging");
    });
  }
  for (const type of ["dragleave", "drop"]) {
    zone.addEventListener(type, () => zone.classList.remove("dragging"));
  }
  zone.addEventListener("drop", (event) => {
    event.preventDefault();
    choose(event.dataTransfer.files[0]);
  });
}

// --- creating the job and uploading --------------------------------------------------------------

async function submit(event) {
  event.preventDefault();
  if (!state.file) return;
  $("#submit").disabled = true;
  resetProgress();
  showProgress("created");
  try {
    const response = await fetch(apiUrl("/jobs"), {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ filename: state.file.name, content_type: state.file.type }),
    });
    const body = await response.json().catch(() => ({}));
    if (!response.ok) throw new Error(body.message || `could not create the job (HTTP ${response.status})`);
    follow({ job_id: body.job_id, token: body.token });
    await upload(body.upload, state.file);
    markStage("upload", new Date().toISOString());
  } catch (error) {
    fail(`Upload failed: ${error.message}`);
    $("#submit").disabled = false;
  }
}

async function upload(presigned, file) {
  const form = new FormData();
  for (const [name, value] of Object.entries(presigned.fields)) form.append(name, value);
  form.append("file", file); // S3 requires the file to be the last field
  const response = await fetch(presigned.url, { method: "POST", body: form });
  if (!response.ok) {
    const text = await response.text().catch(() => "");
    const reason = (text.match(/<Message>([^<]*)<\/Message>/) || [])[1];
    throw new Error(reason || `storage answered HTTP ${response.status}`);
  }
}

// --- following the job ---------------------------------------------------------------------------

function follow(job) {
  state.job = job;
  state.status = null;
  state.result = null;
  history.replaceState(null, "", `#job=${encodeURIComponent(job.job_id)}&token=${encodeURIComponent(job.token)}`);
  subscribe();
}

function subscribe() {
  const job = state.job;
  if (!state.config.websocket_url) return startPolling();
  let socket;
  try {
    socket = new WebSocket(state.config.websocket_url);
  } catch (error) {
    return startPolling();
  }
  state.socket = socket;
  socket.addEventListener("open", () => {
    socket.send(JSON.stringify({ action: "subscribe", job_id: job.job_id, token: job.token }));
  });
  socket.addEventListener("message", (event) => {
    let message;
    try {
      message = JSON.parse(event.data);
    } catch (error) {
      return;
    }
    if (!message || message.job_id !== state.job.job_id) return;
    if (message.type === "progress") onProgress(message);
    if (message.type === "result") onResult(message);
    if (message.type === "error" && message.code === "forbidden") {
      state.socket = null; // the server closes it: no fallback to polling with the same token
      fail("This link does not open a job (wrong or expired token).");
    }
  });
  socket.addEventListener("close", () => {
    if (state.socket === socket && !state.result) startPolling();
  });
}

function startPolling() {
  if (state.poll) return;
  const tick = async () => {
    try {
      const job = await fetchJob();
      if (!job || applyJob(job)) return stopPolling();
    } catch (error) {
      // transient: try again on the next tick
    }
    state.poll = setTimeout(tick, 2000);
  };
  state.poll = setTimeout(tick, 500);
}

function stopPolling() {
  clearTimeout(state.poll);
  state.poll = null;
}

async function fetchJob() {
  const response = await fetch(apiUrl(`/jobs/${encodeURIComponent(state.job.job_id)}`), {
    headers: { "X-Job-Token": state.job.token },
    cache: "no-store",
  });
  if (response.status === 401 || response.status === 403 || response.status === 404) {
    fail("This link does not open a job (wrong or expired token).");
    return null;
  }
  if (!response.ok) throw new Error(`HTTP ${response.status}`);
  return response.json();
}

// A job as GET /jobs/{id} returns it; true once it has ended.
function applyJob(job) {
  onProgress(job);
  if (job.status !== "completed" && !ENDED_BADLY.includes(job.status)) return false;
  onResult({ ...(job.result || {}), status: job.status, error: job.error, cost: job.cost, stage_times: job.stage_times });
  return true;
}

function onProgress(message) {
  const rank = STATUS_RANK[message.status];
  if (rank === undefined) return;
  if (state.status && STATUS_RANK[state.status] > rank) return; // a late, older push
  state.status = message.status;
  for (const [stage, time] of Object.entries(message.stage_times || {})) markStage(stage, time);
  if (rank > STATUS_RANK.created) markStage("upload", (message.stage_times || {})[FIRST_STEP]);
  showProgress(message.status);
  if (ENDED_BADLY.includes(message.status)) fail(message.error || STATUS_TEXT[message.status]);
}

function onResult(message) {
  if (state.result) return;
  if (message.truncated) {
    // too big for one push: read it through the API
    fetchJob().then((job) => job && applyJob({ ...job, result: job.result || {} }));
    return;
  }
  state.result = message;
  onProgress({ status: message.status, stage_times: message.stage_times || {}, error: message.error });
  if (state.socket) state.socket.close();
  if (message.status !== "completed") return;
  renderBooks(message.books || [], message.unidentified || [], message.cost);
  BookReview.show(message, {
    photoUrl: state.file ? $("#preview-image").src : null,
    apiUrl,
    job: () => ({ id: state.job.job_id, token: state.job.token }),
    onReviewed(reviewed) {
      // the job as reviewed: the list and every export follow it
      state.result = { ...state.result, books: reviewed.books || [], unidentified: reviewed.unidentified || [] };
      renderBooks(state.result.books, state.result.unidentified, state.result.cost, { quiet: true });
    },
  });
}

// --- rendering -----------------------------------------------------------------------------------

function resetProgress() {
  $("#results-section").hidden = true;
  for (const item of document.querySelectorAll("#stages li")) {
    item.className = "";
    item.querySelector("time").textContent = "";
    item.removeAttribute("aria-current");
  }
  hideError();
}

function markStage(stage, time) {
  const item = document.querySelector(`#stages li[data-stage="${stage}"]`);
  if (!item || item.classList.contains("done")) return;
  item.classList.add("done");
  if (time) {
    const at = new Date(time);
    const stamp = item.querySelector("time");
    stamp.dateTime = at.toISOString();
    stamp.textContent = at.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", second: "2-digit" });
  }
}

function showProgress(status) {
  $("#progress-section").hidden = false;
  $("#stages").dataset.status = status;
  $("#status").textContent = STATUS_TEXT[status] || status;
  const rank = STATUS_RANK[status];
  document.querySelectorAll("#stages li").forEach((item, index) => {
    const active = status !== "completed" && !ENDED_BADLY.includes(status) && index === rank + 1;
    item.classList.toggle("active", active);
    if (active) item.setAttribute("aria-current", "step");
    else item.removeAttribute("aria-current");
    if (ENDED_BADLY.includes(status) && index === rank) item.classList.add("failed");
  });
}

function renderBooks(books, unidentified, cost, { quiet = false } = {}) {
  const body = $("#books tbody");
  body.replaceChildren();
  for (const book of books) {
    const row = document.createElement("tr");
    const cover = document.createElement("td");
    cover.className = "cover";
    if (book.cover_url && /^https?:\/\//.test(book.cover_url)) {
      const image = document.createElement("img");
      image.src = book.cover_url;
      image.alt = "";
      image.loading = "lazy";
      image.referrerPolicy = "no-referrer";
      cover.append(image);
    } else {
      const placeholder = document.createElement("span");
      placeholder.className = "no-cover";
      placeholder.setAttribute("aria-hidden", "true");
      placeholder.textContent = (book.title || "?").trim().charAt(0).toUpperCase();
      cover.append(placeholder);
    }
    row.append(cover);
    row.append(cell(book.title, "title", "Title"));
    row.append(cell(book.author || "—", "author", "Author"));
    row.append(cell(book.isbn || "—", "isbn", "ISBN"));
    const confidence = cell(`${Math.round((book.confidence || 0) * 100)}%`, "confidence", "Confidence");
    confidence.dataset.level = book.confidence >= 0.8 ? "high" : book.confidence >= 0.5 ? "medium" : "low";
    row.append(confidence);
    body.append(row);
  }
  const count = books.length;
  let summary = count === 1 ? "1 book found." : `${count} books found.`;
  if (unidentified.length) summary += ` ${unidentified.length} spine(s) could not be identified.`;
  $("#results-summary").textContent = summary;
  $("#cost").textContent = cost && cost.usd ? `Cost of this job: $${cost.usd.toFixed(4)}` : "";
  updateExportLink();
  $("#results-section").hidden = false;
  $("#status").textContent = `Done. ${summary}`;
  if (quiet) return; // a review re-renders the list in place: focus stays where the user is
  $("#results-heading").focus({ preventScroll: true });
  $("#results-section").scrollIntoView({ behavior: "smooth", block: "start" });
}

function cell(text, className, label) {
  const td = document.createElement("td");
  td.className = className;
  td.dataset.label = label;
  td.textContent = text;
  return td;
}

function fail(message) {
  const error = $("#error");
  error.textContent = message;
  error.hidden = false;
  $("#status").textContent = STATUS_TEXT.failed;
  $("#progress-section").hidden = false;
  $("#submit").disabled = !state.file;
}

function hideError() {
  $("#error").hidden = true;
  $("#error").textContent = "";
}

// --- export --------------------------------------------------------------------------------------

function csvCell(value) {
  let text = value === null || value === undefined ? "" : String(value);
  if (/^[=+\-@\t\r]/.test(text)) text = `'${text}`; // never a formula in a spreadsheet
  return /[",\n\r]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

// A file another book tool imports, written by the API (GET /jobs/{id}/export), so the page, the CLI and
// scripts get the same file; the token rides in the query string as it may for GET /jobs/{id}.
function updateExportLink() {
  if (!state.job) return;
  const format = $("#export-format").value;
  const query = new URLSearchParams({ format, token: state.job.token });
  const link = $("#export-download");
  link.href = apiUrl(`/jobs/${encodeURIComponent(state.job.job_id)}/export?${query}`);
  link.download = `bookimg-${state.job.job_id}-${format}.csv`;
}

function exportBooks(format) {
  if (!state.result) return;
  const books = state.result.books || [];
  let content;
  let type;
  if (format === "csv") {
    const rows = [["title", "author", "isbn", "tag", "confidence", "cover_url", "review"]];
    for (const b of books) {
      rows.push([b.title, b.author, b.isbn, b.tag, b.confidence.toFixed(3), b.cover_url, b.review]);
    }
    content = rows.map((row) => row.map(csvCell).join(",")).join("\r\n") + "\r\n";
    type = "text/csv";
  } else {
    content = JSON.stringify({ job_id: state.job.job_id, books }, null, 2);
    type = "application/json";
  }
  const link = document.createElement("a");
  link.href = URL.createObjectURL(new Blob([content], { type }));
  link.download = `bookimg-${state.job.job_id}.${format}`;
  document.body.append(link);
  link.click();
  setTimeout(() => {
    URL.revokeObjectURL(link.href);
    link.remove();
  }, 0);
}

// --- start ---------------------------------------------------------------------------------------

function resumeFromFragment() {
  const params = new URLSearchParams(location.hash.slice(1));
  const jobId = params.get("job");
  const token = params.get("token");
  if (!jobId || !token) return;
  $("#progress-section").hidden = false;
  $("#status").textContent = "Looking up your job…";
  follow({ job_id: jobId, token });
  // the socket says nothing to a token that does not open the job: ask the API, which says why
  fetchJob().then((job) => job && applyJob(job)).catch(() => {});
}

function reset() {
  stopPolling();
  if (state.socket) state.socket.close();
  Object.assign(state, { job: null, socket: null, status: null, result: null });
  history.replaceState(null, "", location.pathname);
  $("#progress-section").hidden = true;
  $("#results-section").hidden = true;
  $("#submit").disabled = !state.file;
  $("#photo").focus();
}

document.addEventListener("DOMContentLoaded", async () => {
  $("#results-heading").tabIndex = -1;
  setUpChooser();
  $("#upload-form").addEventListener("submit", submit);
  $("#export-csv").addEventListener("click", () => exportBooks("csv"));
  $("#export-json").addEventListener("click", () => exportBooks("json"));
  $("#export-format").addEventListener("change", updateExportLink);
  $("#again").addEventListener("click", reset);
  try {
    await loadConfig();
  } catch (error) {
    fail(`The page could not load its settings (${error.message}).`);
    return;
  }
  resumeFromFragment();
});
