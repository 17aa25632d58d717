// @tsgrad/data browser-safe entry: IDX parsing (raw or gzip), MNIST split checks, the embedded-data decoding, DataLoader.
export { parseIdx, toMnistSplit, checkMnistImages, checkMnistLabels, IdxError, MNIST_IMAGE_SIZE } from "./idx.js";
export type { IdxArray, ParseIdxOptions, MnistSplit, MnistSplitOptions } from "./idx.js";
export { decodeDigitJson, interleaveOrder, assembleEmbedded, EMBEDDED_TRAIN_COUNT, EMBEDDED_TEST_COUNT } from "./embedded.js";
export { DataLoader, TensorDataset } from "./batches.js";
export type { DataLoaderOptions, BatchesOptions, Batch, ImageDataset, Normalize } from "./batches.js";
