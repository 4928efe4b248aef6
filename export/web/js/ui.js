// What every part of the page shares: visible error messages (never a silent stop) and model URLs.
import { folderUrl } from "./onnx.js";

/** Show `message` in the page's alert area (and the console). */
export function showError(message) {
  console.error(message);
  const item = document.createElement("p");
  item.className = "error";
  item.textContent = message;
  document.getElementById("messages").appendChild(item);
}

/** Model folder URLs from the page's query (?speech=, ?lines=, ?det=; default models/<name>/) and ?head=. */
export function modelUrls() {
  const query = new URLSearchParams(location.search);
  const url = (name) => folderUrl(query.get(name) || `models/${name}/`);
  return { speech: url("speech"), lines: url("lines"), det: url("det"), head: query.get("head"), lineHead: query.get("line-head") };
}

export const $ = (id) => document.getElementById(id);
