// OpenCV in the browser (opencv.js, the same OpenCV version as the Python runtime's cv2), so image
// resizing, contours and warps give the pixels recog_edge computes.
let ready = null;

/** The initialised `cv` module; loads node_modules/@techstark/opencv-js once. */
export function openCv() {
  ready ??= new Promise((resolve, reject) => {
    const script = document.createElement("script");
    script.src = new URL("../node_modules/@techstark/opencv-js/dist/opencv.js", import.meta.url).href;
    script.onerror = () => reject(new Error(`${script.src}: could not be loaded (run \`npm ci\` in export/web)`));
    script.onload = async () => {
      let cv = window.cv;
      if (typeof cv.then === "function") cv = await cv;
      else if (!cv.Mat) await new Promise((done) => (cv.onRuntimeInitialized = done));
      resolve(cv);
    };
    document.head.appendChild(script);
  });
  return ready;
}

/** An RGB image {data: Uint8Array (H*W*3), width, height} as a cv.Mat (CV_8UC3); the caller deletes it. */
export function rgbMat(cv, image) {
  const mat = new cv.Mat(image.height, image.width, cv.CV_8UC3);
  mat.data.set(image.data);
  return mat;
}

/** A cv.Mat (CV_8UC3) as an RGB image {data, width, height} (copied). */
export function matRgb(mat) {
  return { data: new Uint8Array(mat.data), width: mat.cols, height: mat.rows };
}
