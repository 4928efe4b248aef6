// The page: load the models named in the query (or models/<name>/) and wire up both panels.
import { setupOcr } from "./ocr-ui.js";
import { setupSpeech } from "./speech-ui.js";
import { $, modelUrls, showError } from "./ui.js";

window.addEventListener("error", (event) => showError(`Error: ${event.message}`));
window.addEventListener("unhandledrejection", (event) => showError(`Error: ${event.reason?.message || event.reason}`));

const urls = modelUrls();
$("model-urls").textContent = `speech ${urls.speech}, lines ${urls.lines}, detector ${urls.det}`;
// One after the other: both share one WebAssembly runtime and the machine's cores.
await setupSpeech(urls.speech, urls.head);
await setupOcr(urls);
document.body.dataset.state = "ready";
