// @tsgrad/data public entry: IDX parsing, MNIST / Fashion-MNIST loading (folder, cache, download, embedded), DataLoader.
export { parseIdx, toMnistSplit, checkMnistImages, checkMnistLabels, IdxError, MNIST_IMAGE_SIZE } from "./idx.js";
export type { IdxArray, ParseIdxOptions, MnistSplit, MnistSplitOptions } from "./idx.js";
export {
  loadMnist, loadEmbeddedMnist, defaultCacheDir, downloadGunzipped, DEFAULT_MIRRORS, MNIST_FILES, MNIST_TRAIN_COUNT,
  MNIST_TEST_COUNT,
} from "./mnist-node.js";
export type {
  LoadMnistOptions, MnistData, MnistSource, MnistProgress, MnistDatasetName, DownloadOptions,
} from "./mnist-node.js";
export { decodeDigitJson, interleaveOrder, assembleEmbedded, EMBEDDED_TRAIN_COUNT, EMBEDDED_TEST_COUNT } from "./embedded.js";
export { DataLoader, TensorDataset } from "./batches.js";
export type { DataLoaderOptions, BatchesOptions, Batch, ImageDataset, Normalize } from "./batches.js";
