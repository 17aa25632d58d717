// @tsgrad/data public entry: IDX parsing, MNIST / Fashion-MNIST loading (folder, cache, download, embedded), DataLoader.
export { parseIdx, toMnistSplit, checkMnistImages, checkMnistLabels, IdxError, MNIST_IMAGE_SIZE } from "./idx";
export type { IdxArray, ParseIdxOptions, MnistSplit, MnistSplitOptions } from "./idx";
export {
  loadMnist, loadEmbeddedMnist, defaultCacheDir, downloadGunzipped, DEFAULT_MIRRORS, MNIST_FILES, MNIST_TRAIN_COUNT,
  MNIST_TEST_COUNT,
} from "./mnist-node";
export type {
  LoadMnistOptions, MnistData, MnistSource, MnistProgress, MnistDatasetName, DownloadOptions,
} from "./mnist-node";
export { decodeDigitJson, interleaveOrder, assembleEmbedded, EMBEDDED_TRAIN_COUNT, EMBEDDED_TEST_COUNT } from "./embedded";
export { DataLoader, TensorDataset } from "./batches";
export type { DataLoaderOptions, BatchesOptions, Batch, ImageDataset, Normalize } from "./batches";
