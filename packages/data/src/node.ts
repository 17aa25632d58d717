// @tsgrad/data/node, the Node-only entry: MNIST / Fashion-MNIST from a folder, the cache, a download or the embedded
// default, and the atomic file writer.
export {
  loadMnist, loadEmbeddedMnist, defaultCacheDir, DEFAULT_MIRRORS, MNIST_FILES, MNIST_TRAIN_COUNT, MNIST_TEST_COUNT,
} from "./mnist-node.js";
export type { LoadMnistOptions, MnistData, MnistSource, MnistProgress, MnistDatasetName } from "./mnist-node.js";
export { downloadGunzipped } from "./download.js";
export type { DownloadOptions } from "./download.js";
export { writeFileAtomic, describeFsError } from "./atomic.js";
