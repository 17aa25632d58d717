// @tsgrad/data/node, the Node-only entry: MNIST / Fashion-MNIST from a folder, the cache, a download or the embedded default.
export {
  loadMnist, loadEmbeddedMnist, defaultCacheDir, downloadGunzipped, DEFAULT_MIRRORS, MNIST_FILES, MNIST_TRAIN_COUNT,
  MNIST_TEST_COUNT,
} from "./mnist-node.js";
export type {
  LoadMnistOptions, MnistData, MnistSource, MnistProgress, MnistDatasetName, DownloadOptions,
} from "./mnist-node.js";
