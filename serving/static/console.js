// Oryx serving console: one form per endpoint, requests relative to the page so the context path is honoured.
"use strict";

// field kinds: id = one path segment; ids = one segment per line; idvals = same, lines may be "item=value"
const Q = { howMany: "number", offset: "number", considerKnownItems: "checkbox", rescorerParams: "lines", exclude: "lines", include: "lines" };
const ENDPOINTS = [
  { path: "recommend", segs: [["userID", "id"]], query: ["howMany", "offset", "considerKnownItems", "rescorerParams", "exclude", "include"] },
  { path: "recommendToMany", segs: [["userIDs", "ids"]], query: ["howMany", "offset", "considerKnownItems", "rescorerParams", "exclude", "include"] },
  { path: "recommendToAnonymous", segs: [["itemIDs", "idvals"]], query: ["howMany", "offset", "rescorerParams", "exclude", "include"] },
  { path: "recommendWithContext", segs: [["userID", "id"], ["itemIDs", "idvals"]], query: ["howMany", "offset", "considerKnownItems", "rescorerParams", "exclude", "include"], trailingSlash: true },
  { path: "similarity", segs: [["itemIDs", "ids"]], query: ["howMany", "offset", "rescorerParams", "exclude", "include"] },
  { path: "similarityToItem", segs: [["toItemID", "id"], ["itemIDs", "ids"]], query: ["exclude", "include"] },
  { path: "estimate", segs: [["userID", "id"], ["itemIDs", "ids"]], query: [] },
  { path: "estimateForAnonymous", segs: [["toItemID", "id"], ["itemIDs", "idvals"]], query: [] },
  { path: "because", segs: [["userID", "id"], ["itemID", "id"]], query: ["howMany", "offset"] },
  { path: "mostSurprising", segs: [["userID", "id"]], query: ["howMany", "offset"] },
  { path: "mostPopularItems", segs: [], query: ["howMany", "offset", "rescorerParams", "exclude", "include"] },
  { path: "mostActiveUsers", segs: [], query: ["howMany", "offset", "rescorerParams"] },
  { path: "popularRepresentativeItems", segs: [], query: [] },
  { path: "item/allIDs", segs: [], query: [] },
  { path: "user/allIDs", segs: [], query: [] },
  { path: "knownItems", segs: [["userID", "id"]], query: [] },
  { path: "ready", segs: [], query: [] },
  { path: "pref", method: "POST", segs: [["userID", "id"], ["itemID", "id"]], query: [], body: "strength" },
  { path: "pref", method: "DELETE", segs: [["userID", "id"], ["itemID", "id"]], query: [] },
  { path: "ingest", method: "POST", segs: [], query: [], body: "lines" },
  { path: "ingest", method: "POST", segs: [], query: [], file: "ingestedFile" },
];

// the directory of this page (the context path), whether it was loaded as ".../" or ".../index.html"
const BASE = location.pathname.replace(/index\.html$/, "").replace(/\/?$/, "/");

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  Object.entries(attrs || {}).forEach(([k, v]) => node.setAttribute(k, v));
  children.forEach(c => node.append(c));
  return node;
}

function lines(text) {
  return text.split(/\r?\n/).map(s => s.trim()).filter(s => s.length > 0);
}

// one path segment; in "item=value" fields a trailing "=number" stays a separator, any other "=" is encoded
function segment(text, kind) {
  const m = kind === "idvals" ? /^(.*)=\s*([-+0-9.eE]+)$/.exec(text) : null;
  return m ? `${encodeURIComponent(m[1])}=${encodeURIComponent(m[2])}` : encodeURIComponent(text);
}

function field(form, id, label, kind) {
  const name = `${form.id}-${id}`;
  let input;
  if (kind === "checkbox") input = el("input", { type: "checkbox", name: id, id: name });
  else if (kind === "number") input = el("input", { type: "number", name: id, id: name, min: "0" });
  else if (kind === "id") input = el("input", { type: "text", name: id, id: name, required: "" });
  else if (kind === "file") input = el("input", { type: "file", name: id, id: name, required: "" });
  else input = el("textarea", { name: id, id: name, placeholder: "one per line" });
  form.append(el("label", { for: name }, `${label} `, input));
}

function buildForm(spec, index) {
  const method = spec.method || "GET";
  const form = el("form", { id: `f${index}-${spec.path.replace("/", "-")}-${method.toLowerCase()}`, "data-path": spec.path });
  const what = spec.file ? " (file upload)" : spec.body === "lines" ? " (text)" : "";
  form.append(el("h2", {}, `${method} /${spec.path}${spec.segs.map(s => `/{${s[0]}}`).join("")}${what}`));
  spec.segs.forEach(([name, kind]) => field(form, name, kind === "id" ? name : `${name} (one per line${kind === "idvals" ? ", item=value allowed" : ""})`, kind));
  spec.query.forEach(q => field(form, q, Q[q] === "lines" ? `${q} (one per line)` : q, Q[q]));
  if (spec.body === "strength") field(form, "strength", "strength (empty = 1)", "number");
  if (spec.body === "lines") field(form, "lines", "lines: user,item[,strength[,timestamp]]", "lines");
  if (spec.file) field(form, spec.file, "file (plain, .gz or .zip)", "file");
  form.append(el("button", { type: "submit" }, method === "GET" ? "Get" : method === "DELETE" ? "Delete" : "Send"));
  form.addEventListener("submit", event => { event.preventDefault(); submit(spec, form); });
  return form;
}

function requestOf(spec, form) {
  const data = new FormData(form);
  let path = spec.path;
  spec.segs.forEach(([name, kind]) => {
    const value = data.get(name) || "";
    const parts = kind === "id" ? [value] : lines(value);
    parts.forEach(p => { path += "/" + segment(p, kind); });
    if (spec.trailingSlash && kind !== "id" && parts.length === 0) path += "/";
  });
  const query = new URLSearchParams();
  spec.query.forEach(q => {
    if (Q[q] === "checkbox") { if (data.get(q)) query.append(q, "true"); }
    else if (Q[q] === "lines") lines(data.get(q) || "").forEach(v => query.append(q, v));
    else if ((data.get(q) || "") !== "") query.append(q, data.get(q));
  });
  const url = BASE + path + (query.toString() ? "?" + query : "");
  const init = { method: spec.method || "GET", headers: { Accept: document.getElementById("accept").value } };
  if (spec.body === "strength") { init.body = data.get("strength") || ""; init.headers["Content-Type"] = "text/plain"; }
  if (spec.body === "lines") { init.body = data.get("lines") || ""; init.headers["Content-Type"] = "text/plain"; }
  if (spec.file) { const upload = new FormData(); upload.append(spec.file, data.get(spec.file)); init.body = upload; }
  return [url, init];
}

async function submit(spec, form) {
  const [url, init] = requestOf(spec, form);
  const result = document.getElementById("result");
  document.getElementById("request").textContent = `${init.method} ${url}`;
  result.className = "pending";
  result.textContent = "…";
  try {
    const response = await fetch(url, init);
    const text = await response.text();
    if (response.ok) {
      result.className = "ok";
      result.textContent = text === "" ? `[HTTP Status ${response.status} ${response.statusText || "OK"}]` : text;
    } else {
      result.className = "error";
      result.textContent = `[HTTP Status ${response.status} ${response.statusText}] ${text}`;
    }
  } catch (err) {
    result.className = "error";
    result.textContent = `[request failed: ${err}]`;
  }
}

document.addEventListener("DOMContentLoaded", () => {
  const forms = document.getElementById("forms");
  ENDPOINTS.forEach((spec, i) => forms.append(buildForm(spec, i)));
});
