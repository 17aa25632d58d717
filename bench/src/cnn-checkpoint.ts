// Writes checkpoints of pytorch/examples' MNIST CNN for scripts/cnn_checkpoint_check.py, which loads them into PyTorch
// with strict=True and compares outputs. Both layouts: main.py's Net (conv1.weight, …) and the same layers in a
// Sequential (0.weight, 2.weight, 7.weight, 10.weight), each trained 2 Adadelta steps from its seeded init.
// Usage (bundle with esbuild first): node cnn-checkpoint.mjs <dir>
// Writes <dir>/net.safetensors, <dir>/sequential.safetensors and <dir>/io.safetensors (the input batch and tsgrad's
// log-probabilities of both models in eval mode).
import { mkdirSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Generator, Tensor, maxPool2d, noGrad, tensor } from "@tsgrad/tensor";
import {
  Conv2d, Dropout, Flatten, Linear, MaxPool2d, Module, ReLU, Sequential, nllLoss, saveSafetensors, type StateDict,
} from "@tsgrad/nn";
import { Adadelta } from "@tsgrad/optim";

/** pytorch/examples mnist/main.py's Net. */
class Net extends Module<[Tensor], Tensor> {
  conv1: Conv2d;
  conv2: Conv2d;
  dropout1: Dropout;
  dropout2: Dropout;
  fc1: Linear;
  fc2: Linear;

  constructor(g: Generator) {
    super();
    this.conv1 = new Conv2d(1, 32, 3, { stride: 1, generator: g });
    this.conv2 = new Conv2d(32, 64, 3, { stride: 1, generator: g });
    this.dropout1 = new Dropout(0.25, { generator: g });
    this.dropout2 = new Dropout(0.5, { generator: g });
    this.fc1 = new Linear(9216, 128, { generator: g });
    this.fc2 = new Linear(128, 10, { generator: g });
  }

  forward(x: Tensor): Tensor {
    let y = this.conv1.forward(x).relu();
    y = this.conv2.forward(y).relu();
    y = maxPool2d(y, { kernelSize: 2 });
    y = this.dropout1.forward(y).flatten(1);
    y = this.fc1.forward(y).relu();
    y = this.dropout2.forward(y);
    return this.fc2.forward(y).logSoftmax(1);
  }
}

/** The Net's layers in a Sequential; PyTorch's twin ends with nn.LogSoftmax(dim=1), applied here after it. */
function sequential(g: Generator): Sequential {
  return new Sequential(
    new Conv2d(1, 32, 3, { generator: g }), new ReLU(), new Conv2d(32, 64, 3, { generator: g }), new ReLU(),
    new MaxPool2d(2), new Dropout(0.25, { generator: g }), new Flatten(), new Linear(9216, 128, { generator: g }),
    new ReLU(), new Dropout(0.5, { generator: g }), new Linear(128, 10, { generator: g }),
  );
}

const dir = process.argv[2];
if (dir === undefined) {
  console.error("usage: node cnn-checkpoint.mjs <dir>");
  process.exit(2);
}
mkdirSync(dir, { recursive: true });

const data = new Generator(7);
const batch = (n: number): Tensor =>
  tensor(Float32Array.from({ length: n * 784 }, () => (data.nextFloat() - 0.1307) / 0.3081), { shape: [n, 1, 28, 28] });

/** Two Adadelta steps in training mode (dropout on), so the checkpoint is not just the initial weights. */
function train(forward: (x: Tensor) => Tensor, model: Module<[Tensor], Tensor>): void {
  const opt = new Adadelta(model.parameters(), { lr: 1.0 });
  for (let step = 0; step < 2; step++) {
    opt.zeroGrad();
    nllLoss(forward(batch(8)), Int32Array.from({ length: 8 }, (_, i) => (i * 3 + step) % 10)).backward();
    opt.step();
  }
  model.eval();
}

/** Writes `bytes` to `path` atomically (a temporary file renamed over it). */
function writeAtomic(path: string, bytes: Uint8Array): void {
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, bytes);
  renameSync(tmp, path);
}

const net = new Net(new Generator(1));
train((x) => net.forward(x), net);
const seq = sequential(new Generator(2));
train((x) => seq.forward(x).logSoftmax(1), seq);

const input = batch(4);
const [netOut, seqOut] = noGrad(() => [net.forward(input), seq.forward(input).logSoftmax(1)]);
writeAtomic(join(dir, "net.safetensors"), saveSafetensors(net.stateDict(), { writer: "tsgrad bench/src/cnn-checkpoint.ts" }));
writeAtomic(join(dir, "sequential.safetensors"), saveSafetensors(seq.stateDict()));
const io: StateDict = { input, netOutput: netOut!, sequentialOutput: seqOut! };
writeAtomic(join(dir, "io.safetensors"), saveSafetensors(io));
console.log(`wrote ${Object.keys(net.stateDict()).length} + ${Object.keys(seq.stateDict()).length} tensors to ${dir}`);
