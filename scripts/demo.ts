// A 30-second tour of @tsgrad/tensor: fit a tiny two-layer network to XOR-like data and print the loss falling.
import { manualSeed, noGrad, randn, tensor, type Tensor } from "@tsgrad/tensor";

manualSeed(0);
const x = tensor([[0, 0], [0, 1], [1, 0], [1, 1]]);
const y = tensor([[0], [1], [1], [0]]);
const w1 = randn([2, 8], { requiresGrad: true });
const b1 = randn([8], { requiresGrad: true });
const w2 = randn([8, 1], { requiresGrad: true });
const params: Tensor[] = [w1, b1, w2];

for (let step = 0; step <= 500; step++) {
  const pred = x.matmul(w1).add(b1).tanh().matmul(w2).sigmoid();
  const loss = pred.sub(y).pow(2).mean();
  for (const p of params) p.grad = null;
  loss.backward();
  noGrad(() => {
    for (const p of params) {
      const d = p.data;
      const g = p.grad!.data;
      for (let i = 0; i < d.length; i++) d[i] = d[i]! - 1.0 * g[i]!;
    }
  });
  if (step % 100 === 0) console.log(`step ${String(step).padStart(3)}  loss ${loss.item().toFixed(5)}`);
}
