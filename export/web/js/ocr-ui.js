// The image panel: an image dropped, pasted or chosen is read as a whole page (detector + line
// model) or, when marked as one text line (or without a detector), as a line; boxes drawn over it.
import { LineModel } from "./lines.js";
import { openCv } from "./opencv.js";
import { Detector, readPage } from "./pages.js";
import { $, showError } from "./ui.js";

/** A File -> {data: RGB Uint8Array, width, height, bitmap}; an Error naming it when it is no image. */
async function decodeImage(file) {
  if (file.type && !file.type.startsWith("image/")) {
    throw new Error(`${file.name}: not an image (${file.type}); drop a PNG, JPEG or other picture`);
  }
  let bitmap;
  try {
    // As decoded, without colour management, as Pillow reads files (recog_edge.image_file).
    bitmap = await createImageBitmap(file, { colorSpaceConversion: "none", premultiplyAlpha: "none" });
  } catch (err) {
    throw new Error(`${file.name || "the pasted data"}: not readable as an image (${err.message || err})`);
  }
  const canvas = new OffscreenCanvas(bitmap.width, bitmap.height);
  const context = canvas.getContext("2d", { willReadFrequently: true });
  context.fillStyle = "#fff"; // transparency on white, as recog_edge.image_file reads it
  context.fillRect(0, 0, bitmap.width, bitmap.height);
  context.drawImage(bitmap, 0, 0);
  const rgba = context.getImageData(0, 0, bitmap.width, bitmap.height).data;
  const data = new Uint8Array(bitmap.width * bitmap.height * 3);
  for (let i = 0, j = 0; i < rgba.length; i += 4, j += 3) [data[j], data[j + 1], data[j + 2]] = [rgba[i], rgba[i + 1], rgba[i + 2]];
  return { data, width: bitmap.width, height: bitmap.height, bitmap };
}

/** The image with each line's box (a polygon) or, for one line, its characters' x-positions. */
function draw(image, boxes, ticks) {
  const canvas = $("ocr-canvas");
  [canvas.width, canvas.height] = [image.width, image.height];
  const context = canvas.getContext("2d");
  context.drawImage(image.bitmap, 0, 0);
  context.lineWidth = Math.max(1, image.width / 600);
  context.strokeStyle = "rgba(220, 0, 0, 0.9)";
  for (const box of boxes) {
    context.beginPath();
    box.forEach(([x, y], i) => (i ? context.lineTo(x, y) : context.moveTo(x, y)));
    context.closePath();
    context.stroke();
  }
  context.strokeStyle = "rgba(0, 90, 220, 0.9)";
  for (const x of ticks) {
    context.beginPath();
    context.moveTo(x, image.height - image.height / 5);
    context.lineTo(x, image.height);
    context.stroke();
  }
}

/** Load the text models and wire up the drop zone; failures are shown, not thrown. */
export async function setupOcr(urls) {
  let cv, lines, detector = null;
  try {
    cv = await openCv();
    lines = await LineModel.load(cv, urls.lines, urls.lineHead);
  } catch (err) {
    $("ocr-status").textContent = "no text-line model";
    showError(`The text-line model could not be loaded: ${err.message}`);
    return;
  }
  try {
    detector = await Detector.load(cv, urls.det);
  } catch (err) {
    showError(`The text detector could not be loaded, so images are read as single lines: ${err.message}`);
  }
  $("ocr-status").textContent = `${urls.lines}: ${lines.head} head` + (detector ? `; detector ${urls.det}` : "; no detector");

  const read = async (file) => {
    $("ocr").dataset.state = "running";
    try {
      const image = await decodeImage(file);
      if ($("line-mode").checked || !detector) {
        const line = await lines.read(image);
        $("ocr-text").textContent = line.text;
        draw(image, [], line.x_positions);
      } else {
        const page = await readPage(cv, image, detector, lines);
        $("ocr-text").textContent = page.text;
        draw(image, page.lines.map((line) => line.box), []);
        $("ocr").dataset.lines = String(page.lines.length);
        $("ocr").dataset.confidences = JSON.stringify(page.lines.map((line) => Number(line.confidence.toFixed(4))));
      }
      $("ocr").dataset.state = "done";
    } catch (err) {
      showError(err.message);
      $("ocr").dataset.state = "failed";
    }
  };
  const drop = $("drop");
  drop.ondragover = (event) => {
    event.preventDefault();
    drop.classList.add("over");
  };
  drop.ondragleave = () => drop.classList.remove("over");
  drop.ondrop = (event) => {
    event.preventDefault();
    drop.classList.remove("over");
    const file = event.dataTransfer.files[0];
    if (file) read(file);
    else showError("Nothing to read was dropped: drop an image file");
  };
  document.addEventListener("paste", (event) => {
    const item = [...event.clipboardData.items].find((i) => i.kind === "file");
    if (item) read(item.getAsFile());
    else showError("The pasted data holds no image");
  });
  $("image-file").onchange = (event) => event.target.files[0] && read(event.target.files[0]);
  $("image-file").disabled = false;
  $("ocr").dataset.state = "ready";
}
